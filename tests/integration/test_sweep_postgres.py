"""Sweeps shared through a real PostgreSQL server (a throwaway one, see ``postgres.py``):
several ``anyshot sweep`` processes on one study, a worker killed mid-trial, and bad database
input. Without PostgreSQL these tests skip; in CI they must run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from anyshot.cli import app
from anyshot.config import load_config
from anyshot.sweep import load_sweep_result, run_sweep, write_best_config
from tests.integration.postgres import PASSWORD

SRC = Path(__file__).resolve().parents[2] / "src"
#: A closed-form method (nothing trained: a trial is a few fits and evaluations), two
#: validation folds and calibration, so trials are scored by held-out-fold gzsl_cal_h.
CONFIG = ["--config", "factorised-gaussian/synthetic", "--set", "device=cpu",
          "--set", "evaluation.validation.folds=2", "--set", "evaluation.calibration=true"]
SPACE = {"method.params.var_smoothing": {"type": "float", "low": 1e-4, "high": 1e-1,
                                         "log": True}}


pytestmark = pytest.mark.usefixtures("quiet_optuna")


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"space": SPACE}))
    return path


def _worker(args: list[str], **env: str) -> subprocess.Popen:
    """``anyshot sweep ARGS`` as a separate OS process, one thread, this checkout's source."""
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **env,
               "PYTHONPATH": os.pathsep.join([str(SRC), *filter(None, [
                   os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([sys.executable, "-m", "anyshot.cli", "sweep", *args],
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=url).get_trials()


def test_three_workers_share_one_study(postgres_db, tmp_path: Path, space_file: Path) -> None:
    server, db = postgres_db
    out = tmp_path / "out"
    common = [*CONFIG, "--set", "method.params.syn_num=200", "--space", str(space_file),
              "--trials", "2", "--study-name", "shared", "--out", str(out), "--threads", "1"]
    # Worker 0 keeps the URL off its command line and the password out of the URL (both from
    # the environment); the others have the password in the URL.
    workers = [_worker(common, ANYSHOT_SWEEP_STORAGE=server.url(db, password=None),
                       PGPASSWORD=PASSWORD)]
    workers += [_worker([*common, "--storage", server.url(db)]) for _ in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    for w, (stdout, stderr) in zip(workers, outputs):
        assert w.returncode == 0, stderr
        assert PASSWORD not in stdout + stderr
        assert "held-out-fold score over 2 folds" in stdout
    assert "anyshot:***@127.0.0.1" in outputs[1][0]

    url = server.url(db)
    trials = _trials(url, "shared")
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6  # 3 workers x 2, none lost
    assert len({t.number for t in trials}) == 6
    by_worker = Counter(t.user_attrs["worker"] for t in trials)
    assert sorted(by_worker.values()) == [2, 2, 2]  # each trial ran in exactly one worker
    assert {w.split(":")[1] for w in by_worker} == {str(w.pid) for w in workers}
    # Trial n samples from (seed, n): workers that started together proposed different values.
    assert len({t.params["method.params.var_smoothing"] for t in trials}) == 6
    for t in trials:
        assert t.user_attrs["score"] == "held_out"
        assert t.value == t.user_attrs["validation"]["gzsl_cal_h_held_out"]

    # Whichever worker wrote best_config.yaml last, it holds the whole study's best.
    result = load_sweep_result(url, "shared")
    assert result.n_trials == 6 and result.score == "held_out" and result.folds == 2
    assert result.best_value == max(t.value for t in trials)
    expected = write_best_config(result, tmp_path / "expected.yaml").read_text()
    written = (out / "best_config.yaml").read_text()
    assert written == expected
    # The study's address as every worker names it: no password, not even masked.
    assert PASSWORD not in written
    assert f"(postgresql+psycopg://anyshot@127.0.0.1:{server.port}/{db})" in written
    assert not (out / "sweep.db").exists()


def test_killed_worker_trial_is_failed_retried_and_the_study_goes_on(
        postgres_db, tmp_path: Path, space_file: Path) -> None:
    server, db = postgres_db
    url = server.url(db)
    # 2,000 synthetic features per class: a trial lasts long enough to be killed inside it.
    args = [*CONFIG, "--set", "method.params.syn_num=2000", "--space", str(space_file),
            "--study-name", "k", "--storage", url, "--out", str(tmp_path / "out"),
            "--threads", "1", "--heartbeat", "1"]
    first = _worker([*args, "--trials", "3"])
    # Kill it once its second trial is training (the first one completed, the second has its
    # parameters): one storage connection polled every few milliseconds.
    storage = optuna.storages.RDBStorage(url)
    deadline = time.time() + 120
    killed = None
    while time.time() < deadline and first.poll() is None and killed is None:
        try:
            study_id = storage.get_study_id_from_name("k")
        except KeyError:  # the worker has not created the study yet
            time.sleep(0.05)
            continue
        running = storage.get_all_trials(study_id, deepcopy=False,
                                         states=(optuna.trial.TrialState.RUNNING,))
        if running and running[0].number >= 1 and running[0].params:
            first.send_signal(signal.SIGKILL)
            killed = running[0]
        time.sleep(0.005)
    first.communicate()
    assert killed is not None, "the worker finished before it could be killed"
    before = {t.number: t.state.name for t in _trials(url, "k")}
    assert before[killed.number] == "RUNNING" and "COMPLETE" in before.values()
    complete_before = sum(s == "COMPLETE" for s in before.values())

    time.sleep(2.5)  # past the grace period (2 heartbeats) of the killed worker's trial
    watch = CliRunner().invoke(app, ["sweep", "--summary", "--storage", url,
                                     "--study-name", "k"])
    assert watch.exit_code == 0, watch.output
    assert f"{complete_before} complete, 1 running" in watch.output
    assert PASSWORD not in watch.output

    restarted = _worker([*args, "--trials", "1"])
    stdout, stderr = restarted.communicate(timeout=240)
    assert restarted.returncode == 0, stderr
    trials = _trials(url, "k")
    states = {t.number: t.state.name for t in trials}
    assert states[killed.number] == "FAIL"  # marked failed, never counted as complete
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == killed.params
    assert "RUNNING" not in states.values() and "WAITING" not in states.values()
    assert sum(s == "COMPLETE" for s in states.values()) == complete_before + 1
    assert "1 fail" in stdout


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    text = getattr(result, "stderr", None) or result.output
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in result.output and PASSWORD not in result.output
    return lines[0]


def _sweep_args(space_file: Path, out: Path, storage: str) -> list[str]:
    return ["sweep", *CONFIG, "--space", str(space_file), "--trials", "1", "--storage", storage,
            "--out", str(out)]


def test_unreachable_server_is_one_line_and_writes_nothing(postgres_server, runner, tmp_path,
                                                           space_file) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://anyshot:{PASSWORD}@127.0.0.1:{port}/sweeps"
    line = _one_line_error(runner.invoke(app, _sweep_args(space_file, tmp_path / "o", url)))
    assert "cannot open the study database" in line
    assert f"postgresql://anyshot:***@127.0.0.1:{port}/sweeps" in line
    assert "check the host and port" in line
    assert not (tmp_path / "o").exists()


def test_wrong_password_or_database_is_one_line_and_writes_nothing(
        postgres_db, runner, tmp_path, space_file) -> None:
    server, db = postgres_db
    line = _one_line_error(runner.invoke(
        app, _sweep_args(space_file, tmp_path / "o", server.url(db, password="wrong-pw-1"))))
    assert "password authentication failed" in line and "wrong-pw-1" not in line
    assert "anyshot:***@" in line and "check the user and password" in line
    line = _one_line_error(runner.invoke(
        app, _sweep_args(space_file, tmp_path / "o", server.url("no_such_db"))))
    assert "does not exist" in line and "createdb" in line
    assert not (tmp_path / "o").exists()


def test_study_of_another_search_space_is_refused(postgres_db, runner, tmp_path,
                                                   space_file) -> None:
    server, db = postgres_db
    url = server.url(db)
    config = load_config("factorised-gaussian/synthetic",
                         {"device": "cpu", "evaluation.validation.folds": 2,
                          "evaluation.calibration": True})
    run_sweep(config, SPACE, n_trials=1, storage=url, study_name="anyshot")
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"space": {"method.params.var_smoothing": {
        "type": "float", "low": 1e-3, "high": 1e-1, "log": True}}}))
    line = _one_line_error(runner.invoke(app, _sweep_args(other, tmp_path / "o", url)))
    assert "'anyshot'" in line and "different space" in line and "--study-name" in line
    assert "anyshot:***@" in line
    assert not (tmp_path / "o").exists()
    assert len(_trials(url, "anyshot")) == 1  # no trial added
