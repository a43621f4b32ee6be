"""f-CLSWGAN and the attribute-regression floor learn on the synthetic benchmark; runs are
deterministic; the honest protocol reads the test sets once."""

import numpy as np
import pytest

from anyshot import experiment
from anyshot.config import load_config
from anyshot.evaluation.task import Task
from anyshot.experiment import prepare_data, run_experiment
from anyshot.methods import Method
from anyshot.protocols import schedule as training_schedule
from anyshot.training import fit

CHANCE_ZSL = 1 / 5  # 5 unseen classes in the synthetic preset

FAST = {"method.params.epochs": 12, "evaluation.seeds": [0], "device": "cpu",
        "evaluation.calibration": False}


@pytest.fixture(scope="module")
def clswgan_fixed():
    cfg = load_config("clswgan/synthetic", {**FAST, "evaluation.protocol": "fixed"})
    data = prepare_data(cfg)
    return cfg, data, run_experiment(cfg, data=data)[0]


def test_clswgan_learns_well_above_chance(clswgan_fixed):
    _, _, r = clswgan_fixed
    assert r.metrics["zsl"] > 2.5 * CHANCE_ZSL
    assert r.metrics["gzsl_s"] > 0.8
    assert 0.0 <= r.metrics["gzsl_h"] <= 1.0
    assert r.protocol == "fixed" and not r.peeks_at_test
    assert r.history and {"critic_loss", "wasserstein", "penalty", "cls_loss"} <= set(r.history[0])


def test_same_seed_same_numbers(clswgan_fixed):
    cfg, data, r = clswgan_fixed
    again = run_experiment(cfg, data=data)[0]
    assert again.metrics == r.metrics
    assert again.history == r.history


def test_attribute_regression_floor_learns():
    cfg = load_config("attribute-regression/synthetic", {"evaluation.seeds": [0, 1]})
    results = run_experiment(cfg)
    assert all(r.metrics["zsl"] > 2.5 * CHANCE_ZSL for r in results)
    assert results[0].objective is None


def test_honest_protocol_reads_test_once_per_task(monkeypatch):
    cfg = load_config("clswgan/synthetic", {**FAST, "method.params.epochs": 4,
                                             "evaluation.eval_every": 2})
    data = prepare_data(cfg)
    calls = []
    real_evaluate = training_schedule.evaluate

    def spy(method, d, tasks, **kwargs):
        calls.append((d.name, tuple(t.kind for t in tasks)))
        return real_evaluate(method, d, tasks, **kwargs)

    monkeypatch.setattr(training_schedule, "evaluate", spy)
    r = run_experiment(cfg, data=data)[0]
    on_test = [c for c in calls if c[0] == data.name]
    on_val = [c for c in calls if c[0] != data.name]
    assert sorted(t for c in on_test for t in c[1]) == ["gzsl", "zsl"]  # each task once
    assert len(on_val) == 2 and all(c[0].endswith("[validation]") for c in on_val)
    assert set(r.selected_epochs) == {"zsl", "gzsl"} and set(r.validation) == {"zsl", "gzsl_h"}
    assert r.protocol == "honest" and not r.peeks_at_test


def test_test_selection_is_labelled_as_peeking():
    cfg = load_config("attribute-regression/synthetic", {"evaluation.protocol": "test-selection",
                                                         "evaluation.seeds": [0]})
    cfg2 = load_config("clswgan/synthetic", {**FAST, "method.params.epochs": 2,
                                              "evaluation.protocol": "test-selection"})
    r = run_experiment(cfg2)[0]
    assert r.peeks_at_test and r.protocol_label == "test-selection (PEEKS AT TEST)"
    assert set(r.metrics) == {"zsl", "gzsl_u", "gzsl_s", "gzsl_h"}
    assert run_experiment(cfg)[0].peeks_at_test is not None


def test_save_load_round_trip_predicts_identically(tmp_path, clswgan_fixed):
    cfg, data, _ = clswgan_fixed
    method = experiment.build_method(cfg, seed=0)
    fit(method, data, epochs=2)
    method.save(tmp_path / "m")
    loaded = Method.load(tmp_path / "m")
    X = data.X[data.test_unseen]
    p1 = method.build_classifier(Task.of(data, "zsl")).predict(X)
    p2 = loaded.build_classifier(Task.of(data, "zsl")).predict(X)
    assert np.array_equal(p1, p2)
