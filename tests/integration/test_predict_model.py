"""``anyshot predict --model``: a saved estimator or a run's tested model predicts without
training, exactly as the object that was saved (or the run's evaluation) does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import anyshot.training.trainer
from anyshot import AnyShotClassifier
from anyshot.cli import app
from anyshot.config import load_config
from anyshot.data import make_synthetic
from anyshot.evaluation.metrics import per_class_accuracy

runner = CliRunner()

TINY = {"hidden": 32, "critic_hidden": 32, "batch_size": 128, "lr": 1e-3, "cls_weight": 1.0,
        "noise_dim": 16, "syn_num": 50, "epochs": 2, "pretrain": {"epochs": 2},
        "classifier": {"epochs": 5}}


def _no_training(monkeypatch) -> None:
    """Fail the test if a generative method trains (predict --model must only load)."""

    def refuse(*args, **kwargs):
        raise AssertionError("predict --model trained a generator")

    monkeypatch.setattr(anyshot.training.trainer.Trainer, "fit", refuse)


def test_predict_model_matches_the_saved_estimator(tmp_path: Path, monkeypatch) -> None:
    d = make_synthetic(seed=0)
    names = np.array([f"sp-{c}" for c in range(d.n_classes)], dtype=object)
    table = pd.DataFrame(d.attributes, index=names)
    tv = d.trainval
    est = AnyShotClassifier(method="clswgan", method_params=TINY).fit(
        d.X[tv], names[d.y[tv]], class_attributes=table)
    est.save(tmp_path / "model")
    rows = np.concatenate([d.test_unseen, d.test_seen])
    new = pd.DataFrame(d.X[rows], columns=[f"f{j}" for j in range(d.n_features)])
    new.to_csv(tmp_path / "new.csv", index=False)
    _no_training(monkeypatch)
    result = runner.invoke(app, ["predict", "--model", str(tmp_path / "model"), "--input",
                                 str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(tmp_path / "p.csv")["prediction"].astype(str).to_numpy()
    expected = est.predict(new.to_numpy()).astype(str)
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert len(set(expected)) > 1  # a real classifier, not a constant


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("predict") / "run"
    args = ["train", "--config", "clswgan/synthetic", "--seeds", "0", "--device", "cpu",
            "--set", "evaluation.eval_every=1", "--out", str(out)]
    for key, value in TINY.items():
        args += ["--set", f"method.params.{key}={json.dumps(value)}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_predict_model_of_a_run_reproduces_its_recorded_test_scores(tiny_run: Path, tmp_path: Path,
                                                                     monkeypatch) -> None:
    recorded = json.loads((tiny_run / "results.jsonl").read_text().splitlines()[0])["metrics"]
    cfg = load_config(tiny_run / "config.yaml")
    d = make_synthetic(**cfg.data.params)  # the run's data, in its raw (unscaled) features
    names = np.array(d.class_names, dtype=object)
    _no_training(monkeypatch)
    scores = {}
    for task in ("zsl", "gzsl"):
        for part, rows in (("u", d.test_unseen), ("s", d.test_seen)):
            if task == "zsl" and part == "s":
                continue
            pd.DataFrame(d.X[rows]).to_csv(tmp_path / "in.csv", index=False)
            result = runner.invoke(app, ["predict", "--model", str(tiny_run / "seed_0" / task),
                                         "--input", str(tmp_path / "in.csv"), "--out",
                                         str(tmp_path / "out.csv")])
            assert result.exit_code == 0, result.output
            pred = pd.read_csv(tmp_path / "out.csv")["prediction"].astype(str).to_numpy()
            scores[f"{task}_{part}"] = per_class_accuracy(names[d.y[rows]].astype(str), pred)
    assert scores["zsl_u"] == pytest.approx(recorded["zsl"], abs=1e-9)
    assert scores["gzsl_u"] == pytest.approx(recorded["gzsl_u"], abs=1e-9)
    assert scores["gzsl_s"] == pytest.approx(recorded["gzsl_s"], abs=1e-9)


def test_a_run_model_saved_as_an_estimator_predicts_the_same(
    tiny_run: Path, tmp_path: Path
) -> None:
    est = AnyShotClassifier.load(tiny_run / "seed_0" / "gzsl")
    est.save(tmp_path / "est")
    again = AnyShotClassifier.load(tmp_path / "est")
    X = make_synthetic(**load_config(tiny_run / "config.yaml").data.params).X[:300]
    assert np.array_equal(again.predict(X), est.predict(X))
    assert np.allclose(again.predict_proba(X), est.predict_proba(X), atol=1e-6)
