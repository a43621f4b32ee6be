"""Optuna sweeps: validation split only, resumable SQLite studies, strict search spaces."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

import anyshot.evaluation.scoring
import anyshot.experiment
import anyshot.protocols.schedule
from anyshot.config import load_config
from anyshot.errors import ConfigError
from anyshot.sweep import (
    load_search_space,
    public_url,
    run_sweep,
    sweep_command,
    validate_search_space,
    write_best_config,
)

TINY = {"method.params.epochs": 2, "evaluation.eval_every": 1, "device": "cpu",
        "method.params.hidden": 32, "method.params.critic_hidden": 32,
        "method.params.pretrain.epochs": 2, "method.params.syn_num": 50,
        "method.params.classifier.epochs": 5}

SPACE = {
    "method.params.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "method.params.cls_weight": {"type": "categorical", "choices": [0.1, 1.0]},
    "method.params.hidden": {"type": "int", "low": 16, "high": 64, "log": True},
}


pytestmark = pytest.mark.usefixtures("quiet_optuna")


@pytest.fixture(scope="module")
def config():
    return load_config("clswgan/synthetic", TINY)


def _in_space(params: dict) -> None:
    assert set(params) == set(SPACE)
    assert 1e-4 <= params["method.params.lr"] <= 1e-2
    assert params["method.params.cls_weight"] in (0.1, 1.0)
    assert (isinstance(params["method.params.hidden"], int)
            and 16 <= params["method.params.hidden"] <= 64)


def test_sweep_finishes_resumes_and_never_reads_test(config, tmp_path: Path, monkeypatch) -> None:
    evaluated: list[str] = []
    real = anyshot.evaluation.scoring.evaluate

    def recording(method, data, tasks):
        evaluated.append(data.name)
        return real(method, data, tasks)

    # Every route to an evaluation: the function and the name training's schedule imported.
    monkeypatch.setattr(anyshot.evaluation.scoring, "evaluate", recording)
    monkeypatch.setattr(anyshot.protocols.schedule, "evaluate", recording)

    first = run_sweep(config, SPACE, n_trials=3, run_dir=tmp_path, study_name="s", seed=0)
    db = tmp_path / "sweep.db"
    assert db.is_file() and first.storage == f"sqlite:///{db.resolve()}"
    assert first.n_trials == 3 and first.metric == "gzsl_h" and first.study_name == "s"
    assert 0.0 <= first.best_value <= 1.0
    _in_space(first.best_params)
    for key, value in first.best_params.items():
        name = key.rpartition(".")[2]
        assert first.best_config.to_dict()["method"]["params"][name] == value

    # Resume: same study, explicit storage URL; the study now holds 4 finished trials.
    again = run_sweep(config, SPACE, n_trials=1, storage=f"sqlite:///{db}", study_name="s", seed=0)
    assert again.n_trials == 4
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{db}")
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 4
    for t in trials:
        _in_space(t.params)
    # The resumed trial is a new sample, not a replay of trial 0.
    assert trials[3].params != trials[0].params

    # Only the validation view was ever evaluated (2 epochs x 4 trials), never the test split.
    assert len(evaluated) == 8
    assert all(name.endswith("[validation]") for name in evaluated), evaluated

    # A resumed study refuses a different search space: its trials would not be comparable.
    other = {**SPACE, "method.params.lr": {"type": "float", "low": 1e-3, "high": 1e-2}}
    with pytest.raises(ConfigError, match="different space"):
        run_sweep(config, other, n_trials=1, storage=f"sqlite:///{db}", study_name="s")

    best = write_best_config(again, tmp_path / "best_config.yaml")
    reloaded = load_config(best)
    assert reloaded.to_dict() == again.best_config.to_dict()
    assert "validation gzsl_h" in best.read_text()


def test_sweep_of_a_non_iterative_method_with_explicit_metric(tmp_path: Path) -> None:
    cfg = load_config("attribute-regression/synthetic", {"device": "cpu"})
    space = {"method.params.alpha": {"type": "float", "low": 0.01, "high": 100.0, "log": True}}
    result = run_sweep(cfg, space, n_trials=2, storage=f"sqlite:///{tmp_path / 'ar.db'}",
                       metric="zsl")
    assert result.metric == "zsl" and result.n_trials == 2
    assert result.best_value > 0.5  # well above chance (1/4 held-out classes)
    with pytest.raises(ConfigError, match="metric 'fsl'.*zsl, gzsl_u, gzsl_s, gzsl_h"):
        run_sweep(cfg, space, n_trials=1, storage=f"sqlite:///{tmp_path / 'ar.db'}",
                  metric="fsl")


def test_sweep_command_writes_best_config(tmp_path: Path) -> None:
    space_file = tmp_path / "space.yaml"
    space_file.write_text(yaml.safe_dump({
        "metric": "zsl",
        "space": {"method.params.alpha": {"type": "float", "low": 0.1, "high": 10.0}},
    }))
    result = sweep_command("attribute-regression/synthetic", space_file, 2, None, "cli",
                           tmp_path / "out", overrides={"device": "cpu"})
    assert result.n_trials == 2
    assert (tmp_path / "out" / "sweep.db").is_file()
    best = load_config(tmp_path / "out" / "best_config.yaml")
    assert best.method.params["alpha"] == result.best_params["method.params.alpha"]


@pytest.mark.parametrize(("space", "key", "why"), [
    ({"method.params.lr": {"type": "uniform", "low": 0.1, "high": 1.0}}, "method.params.lr",
     "type 'uniform'"),
    ({"method.params.lr": {"type": "float", "low": 0.1}}, "method.params.lr", "bound 'high'"),
    ({"method.params.hidden": {"type": "int", "low": 8.5, "high": 64}}, "method.params.hidden",
     "integer"),
    ({"method.params.lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}},
     "method.params.lr", "low > 0"),
    ({"method.params.lr": {"type": "float", "low": 1.0, "high": 0.1}}, "method.params.lr",
     "greater than high"),
    ({"method.params.lr": {"type": "float", "lo": 0.1, "high": 1.0}}, "method.params.lr",
     "unknown key"),
    ({"method.params.cls_weight": {"type": "categorical", "choices": []}},
     "method.params.cls_weight", "choices"),
    ({"method.parms.lr": {"type": "float", "low": 0.1, "high": 1.0}}, "method.parms.lr",
     "not a path in the config"),
    ({"method.params.learning_rate": {"type": "float", "low": 0.1, "high": 1.0}},
     "method.params.learning_rate", "unknown key"),
    ({"method.params.pretrain": {"type": "categorical", "choices": [1]}},
     "method.params.pretrain", "whole section"),
    ({"evaluation.eval_every": {"type": "int", "low": 1, "high": 5}}, "evaluation.eval_every",
     "searchable"),
    ({"lr": {"type": "float", "low": 0.1, "high": 1.0}}, "lr", "dotted config path"),
])
def test_bad_search_space_names_the_key(config, tmp_path: Path, space, key, why) -> None:
    with pytest.raises(ConfigError) as err:
        run_sweep(config, space, n_trials=1, storage=f"sqlite:///{tmp_path / 'x.db'}")
    assert repr(key) in str(err.value) and why in str(err.value)
    assert not (tmp_path / "x.db").exists()  # rejected before any study was created


def test_load_search_space(tmp_path: Path, config) -> None:
    good = tmp_path / "space.yaml"
    good.write_text("metric: gzsl_h\nspace:\n"
                    "  method.params.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}\n"
                    "  method.params.cls_weight: {type: categorical, choices: [0.1, 1.0]}\n"
                    "  method.params.hidden: {type: int, low: 64, high: 512, log: true}\n")
    space, metric = load_search_space(good)
    assert metric == "gzsl_h" and set(space) == {"method.params.lr", "method.params.cls_weight",
                                                 "method.params.hidden"}
    assert validate_search_space(space, config) == space
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics: zsl\nspace: {}\n")
    with pytest.raises(ConfigError, match="'metrics'"):
        load_search_space(bad)
    bad.write_text("space:\n  method.params.lr: {type: float, high: 0.1}\n")
    with pytest.raises(ConfigError, match="'method.params.lr'.*'low'"):
        load_search_space(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_search_space(tmp_path / "missing.yaml")


def test_trials_side_by_side_share_the_threads(config, tmp_path: Path, monkeypatch) -> None:
    """--jobs 2 with 2 threads: two trials run at once (two Python threads), one torch thread
    each, so they never oversubscribe the cores; the setting is restored afterwards."""
    import threading

    import torch

    seen: list[tuple[str, int]] = []
    real = anyshot.experiment.method_factory

    def recording(cfg, seed):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return real(cfg, seed)

    monkeypatch.setattr(anyshot.experiment, "method_factory", recording)
    before = torch.get_num_threads()
    result = run_sweep(config, SPACE, n_trials=2, jobs=2, threads=2,
                       storage=f"sqlite:///{tmp_path / 'p.db'}")
    assert result.n_trials == 2
    assert [n for _, n in seen] == [1, 1]
    assert len({name for name, _ in seen}) == 2  # two worker threads, side by side
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="jobs must be a positive integer"):
        run_sweep(config, SPACE, n_trials=1, jobs=0, storage=f"sqlite:///{tmp_path / 'p.db'}")


# Scripted validation values, fold by fold (epochs 1, 2, 3), for a hand-checked score:
#   fold-mean curve        (0.55, 0.60, 0.55): peak 0.60 at epoch 2
#   fold 0 at fold 1's best epoch (3): 0.4;  fold 1 at fold 0's best epoch (2): 0.3
#   held-out-fold score    (0.4 + 0.3) / 2 = 0.35     (best single fold: 0.9)
SCRIPT = {0: [0.5, 0.9, 0.4], 1: [0.6, 0.3, 0.7]}


@pytest.fixture
def scripted(monkeypatch):
    """Every validation evaluation returns the next scripted ZSL value: fold 0's epochs, then
    fold 1's (the models still train; only their scores are replaced)."""
    calls: list[str] = []

    def evaluate(method, data, tasks, **kwargs):
        assert [t.kind for t in tasks] == ["zsl"] and not kwargs
        assert data.name.endswith("[validation]")
        folds = len(SCRIPT)
        i = len(calls) % (3 * folds)
        calls.append(data.name)
        return {"zsl": SCRIPT[i // 3][i % 3]}

    monkeypatch.setattr(anyshot.protocols.schedule, "evaluate", evaluate)
    return calls


def _scripted_config(folds: int):
    return load_config("clswgan/synthetic", {**TINY, "method.params.epochs": 3,
                                             "evaluation.tasks": ["zsl"],
                                             "evaluation.validation.folds": folds})


def test_held_out_fold_score_is_what_a_trial_returns(scripted, tmp_path: Path) -> None:
    space = {"method.params.lr": SPACE["method.params.lr"]}
    result = run_sweep(_scripted_config(2), space, n_trials=2, study_name="h",
                       storage=f"sqlite:///{tmp_path / 'h.db'}")
    assert len(scripted) == 2 * 2 * 3  # 2 trials x 2 folds x 3 epochs
    assert result.score == "held_out" and result.folds == 2 and result.metric == "zsl"
    assert result.best_value == pytest.approx(0.35)  # not the fold-mean peak 0.6, nor 0.9
    study = optuna.load_study(study_name="h", storage=f"sqlite:///{tmp_path / 'h.db'}")
    trial = study.trials[0]
    assert trial.value == pytest.approx(0.35) and trial.user_attrs["score"] == "held_out"
    assert trial.user_attrs["validation"] == pytest.approx({"zsl": 0.6, "zsl_held_out": 0.35})
    assert trial.user_attrs["best_epoch"] == 2
    text = write_best_config(result, tmp_path / "best.yaml").read_text()
    assert "validation zsl = 0.3500" in text and "held-out-fold score over 2 folds" in text

    # One fold: the best value over that fold's epochs, as before folds existed.
    single = run_sweep(_scripted_config(1), space, n_trials=1, study_name="one",
                       storage=f"sqlite:///{tmp_path / 'h.db'}")
    assert single.score == "best_epoch" and single.best_value == pytest.approx(0.9)
    assert "best value over the evaluated epochs of one validation fold" in write_best_config(
        single, tmp_path / "one.yaml").read_text()
    # A study scored one way refuses trials scored the other way.
    with pytest.raises(ConfigError, match="different config and score"):
        run_sweep(_scripted_config(1), space, n_trials=1, study_name="h",
                  storage=f"sqlite:///{tmp_path / 'h.db'}")


def test_held_out_metric_must_be_a_selection_metric(tmp_path: Path) -> None:
    cfg = load_config("factorised-gaussian/synthetic",
                      {"device": "cpu", "evaluation.validation.folds": 2,
                       "evaluation.calibration": True, "method.params.syn_num": 100})
    space = {"method.params.var_smoothing": {"type": "float", "low": 1e-4, "high": 1e-1,
                                             "log": True}}
    with pytest.raises(ConfigError, match="'gzsl_u' has no held-out-fold score.*zsl, gzsl_h, "
                                          "gzsl_cal_h.*folds: 1"):
        run_sweep(cfg, space, n_trials=1, storage=f"sqlite:///{tmp_path / 'm.db'}",
                  metric="gzsl_u")
    assert not (tmp_path / "m.db").exists()
    result = run_sweep(cfg, space, n_trials=1, storage=f"sqlite:///{tmp_path / 'm.db'}")
    assert result.metric == "gzsl_cal_h" and result.score == "held_out"  # calibrated default


def test_trial_whose_worker_died_before_starting_is_failed_and_retried(tmp_path: Path) -> None:
    """A trial created by a worker that died before its objective began has no heartbeat for
    Optuna's stale check; after the grace period (2 heartbeats) the next worker fails it and
    queues it again."""
    import time

    cfg = load_config("attribute-regression/synthetic", {"device": "cpu"})
    space = {"method.params.alpha": {"type": "float", "low": 0.01, "high": 100.0, "log": True}}
    url = f"sqlite:///{tmp_path / 'd.db'}"
    run_sweep(cfg, space, n_trials=1, storage=url, heartbeat=1, metric="zsl")
    orphan = optuna.load_study(study_name="anyshot", storage=url).ask()
    time.sleep(2.2)
    result = run_sweep(cfg, space, n_trials=1, storage=url, heartbeat=1, metric="zsl")
    trials = optuna.load_study(study_name="anyshot", storage=url).trials
    assert trials[orphan.number].state == optuna.trial.TrialState.FAIL
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == orphan.number]
    assert [t.state for t in retried] == [optuna.trial.TrialState.COMPLETE]
    assert result.n_trials == 2 and result.states == {"COMPLETE": 2, "FAIL": 1}


@pytest.mark.parametrize(("url", "public", "in_files"), [
    ("postgresql://ann:s3cr%40t@db.lab:5432/sweeps", "postgresql://ann:***@db.lab:5432/sweeps",
     "postgresql+psycopg://ann@db.lab:5432/sweeps"),
    ("postgresql+psycopg://ann@db.lab/sweeps", "postgresql+psycopg://ann@db.lab/sweeps",
     "postgresql+psycopg://ann@db.lab/sweeps"),
    ("sqlite:////tmp/s.db", "sqlite:////tmp/s.db", "sqlite:////tmp/s.db"),
])
def test_storage_urls_never_show_a_password(url, public, in_files) -> None:
    from anyshot.sweep.storage import study_url

    assert public_url(url) == public and study_url(url) == in_files


def test_bad_storage_url_is_a_config_error(config, tmp_path: Path) -> None:
    from anyshot.sweep import StorageError, open_storage

    with pytest.raises(ConfigError, match="not a database URL"):
        open_storage("no-scheme-here")
    with pytest.raises(StorageError, match="cannot open the study database .*folder exists"):
        open_storage(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    # Reading a study (anyshot sweep --summary) creates nothing.
    from anyshot.sweep import load_sweep_result

    with pytest.raises(StorageError, match="no study database at .*does not exist"):
        load_sweep_result(f"sqlite:///{tmp_path / 'none.db'}", "anyshot")
    assert not (tmp_path / "none.db").exists()
    (tmp_path / "empty.db").touch()
    with pytest.raises(StorageError, match="holds no study"):
        load_sweep_result(f"sqlite:///{tmp_path / 'empty.db'}", "anyshot")
    assert (tmp_path / "empty.db").stat().st_size == 0
