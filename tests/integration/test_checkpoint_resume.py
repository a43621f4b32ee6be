"""Checkpoints: resume gives the numbers of an uninterrupted run (also after a kill mid-epoch),
corrupt checkpoints give a clear error and keep the previous one, NaN losses stop training."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from anyshot.checkpoint import Checkpointer
from anyshot.config import load_config
from anyshot.errors import CheckpointError, TrainingDivergedError
from anyshot.experiment import build_method, prepare_data, run_experiment
from anyshot.training import fit

OVERRIDES = {"method.params.epochs": 6, "evaluation.eval_every": 2, "evaluation.seeds": [0],
             "device": "cpu", "checkpoint_every": 1, "method.params.hidden": 64,
             "method.params.critic_hidden": 64, "method.params.syn_num": 50}


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.jsonl").read_text().splitlines()[0])["metrics"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("full") / "run"
    run_experiment(load_config("clswgan/synthetic", OVERRIDES), run_dir=run)
    return _metrics(run)


def test_resume_after_kill_mid_epoch_matches_uninterrupted_run(tmp_path, uninterrupted):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "anyshot.cli", "train", "--config", "clswgan/synthetic",
           "--out", str(run)] + [a for k, v in OVERRIDES.items()
                                 for a in ("--set", f"{k}={json.dumps(v)}")]
    env = {**os.environ, "CI": "true"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckdir = run / "seed_0" / "checkpoints_final"
    deadline = time.time() + 120
    # Kill once the final training has a checkpoint but has not finished: mid-training, at
    # whatever point of an epoch the process happens to be.
    while time.time() < deadline and not (ckdir.is_dir() and Checkpointer(ckdir).epochs()):
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "results.jsonl").is_file(), "the run finished before it could be killed"
    from typer.testing import CliRunner

    from anyshot.cli import app
    result = CliRunner().invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 0, result.output
    assert _metrics(run) == uninterrupted


def test_resume_of_a_finished_run_changes_nothing(tmp_path, uninterrupted):
    run = tmp_path / "run"
    cfg = load_config("clswgan/synthetic", OVERRIDES)
    run_experiment(cfg, run_dir=run)
    again = run_experiment(cfg, run_dir=run, resume=True)
    assert again[0].metrics == uninterrupted == _metrics(run)


def test_refuses_to_overwrite_a_run(tmp_path):
    cfg = load_config("attribute-regression/synthetic", {"evaluation.seeds": [0]})
    run_experiment(cfg, run_dir=tmp_path / "r")
    with pytest.raises(Exception, match="already holds a run"):
        run_experiment(cfg, run_dir=tmp_path / "r")


def _train(cfg, epochs, ck):
    data = prepare_data(cfg)
    m = build_method(cfg, 0)
    return fit(m, data, epochs=epochs, checkpointer=ck)


def test_corrupt_checkpoint_is_reported_and_previous_kept(tmp_path):
    cfg = load_config("clswgan/synthetic", {**OVERRIDES, "method.params.hidden": 32,
                                             "method.params.critic_hidden": 32})
    ck = Checkpointer(tmp_path, every=1, keep=2)
    _train(cfg, 3, ck)
    assert ck.epochs() == [2, 3]
    newest = tmp_path / "ckpt_000003.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # truncate
    with pytest.raises(CheckpointError,
                       match=r"truncated or corrupt.*previous checkpoint \(epoch 2\) is kept"):
        _train(cfg, 4, ck)
    assert (tmp_path / "ckpt_000002.safetensors").is_file()
    # following the message: drop the corrupt one, resume from epoch 2
    newest.unlink()
    (tmp_path / "ckpt_000003.json").unlink()
    m = _train(cfg, 3, ck)
    assert [h["epoch"] for h in m.history_] == [1, 2, 3]


def test_nan_loss_stops_with_loss_and_epoch_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    cfg = load_config("clswgan/synthetic", {**OVERRIDES, "method.params.hidden": 32,
                                             "method.params.critic_hidden": 32})
    from anyshot.methods.clswgan import CLSWGAN
    original = CLSWGAN._classification

    def poisoned(self, step):
        terms = original(self, step)
        if step.epoch == 3:
            nan = terms.loss * float("nan")
            return type(terms)(nan, {"cls_loss": nan.detach()})
        return terms

    monkeypatch.setattr(CLSWGAN, "_classification", poisoned)
    ck = Checkpointer(tmp_path, every=1, keep=5)
    with pytest.raises(TrainingDivergedError, match=r"cls_loss.*epoch 3"):
        _train(cfg, 5, ck)
    assert ck.epochs() == [1, 2]
    tensors, state = ck.latest()
    assert state["epoch"] == 2 and all(torch.isfinite(t.float()).all() for t in tensors.values()
                                       if t.is_floating_point())


def test_resume_keeps_the_generator_weight_average(tmp_path):
    cfg = load_config("clswgan/synthetic", {**OVERRIDES, "method.params.hidden": 32,
                                             "method.params.critic_hidden": 32,
                                             "method.params.ema": 0.9})
    unseen = prepare_data(cfg).unseen
    full = _train(cfg, 3, None)
    ck = Checkpointer(tmp_path, every=1, keep=2)
    _train(cfg, 2, ck)
    resumed = _train(cfg, 3, ck)
    torch.testing.assert_close(resumed.synthesize(unseen, 4)[0], full.synthesize(unseen, 4)[0],
                               rtol=0, atol=0)
