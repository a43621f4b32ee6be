"""Held-out-fold validation scores: every choice (epoch, GZSL classifier, gamma) made on the other
folds and scored on the fold left out, worked by hand; recorded by the honest protocol."""

import numpy as np
import pytest

from anyshot.config import load_config
from anyshot.data.synthetic import make_synthetic
from anyshot.evaluation.calibration import GAMMA_GRID
from anyshot.experiment import run_experiment
from anyshot.protocols.folds import held_out_fold_scores, mean_curve


@pytest.fixture(scope="module")
def data():
    return make_synthetic()


def _curves(values):
    return [[{"epoch": e + 1, "zsl": v} for e, v in enumerate(fold)] for fold in values]


def test_the_epoch_is_chosen_on_the_other_folds(data):
    curves = _curves([[0.5, 0.95], [0.6, 0.2], [0.7, 0.3]])
    # The fold mean (0.6, 0.483) chooses epoch 1 and scores 0.6 there. Held out: fold 0 by
    # folds 1-2 (0.65, 0.25) -> epoch 1 -> 0.5; fold 1 by folds 0, 2 (0.6, 0.625) -> epoch 2 ->
    # 0.2; fold 2 by folds 0-1 (0.55, 0.575) -> epoch 2 -> 0.3; mean 1/3.
    assert max(r["zsl"] for r in mean_curve(curves, data, False)) == pytest.approx(0.6)
    assert held_out_fold_scores(curves, ["zsl"], data, False) == pytest.approx(
        {"zsl_held_out": 1 / 3})


def test_one_fold_has_nothing_to_hold_out(data):
    assert held_out_fold_scores(_curves([[0.5, 0.9]]), ["zsl"], data, False) == {}


def _row(peaks):
    """One GZSL evaluation with classifiers a, b: calibrated H curves over GAMMA_GRID with the
    given {name: {index: H}} values (0 elsewhere)."""
    row = {"epoch": 0}
    for name, at in peaks.items():
        h = np.zeros(GAMMA_GRID.size)
        for i, v in at.items():
            h[i] = v
        row.update({f"gzsl_u@{name}": 0.0, f"gzsl_s@{name}": 0.0, f"gzsl_h@{name}": 0.0,
                    f"gzsl_cal_curve@{name}": h.tolist(),
                    f"gzsl_cal_curve_u@{name}": h.tolist(), f"gzsl_cal_curve_s@{name}": h.tolist()})
    return row


def test_classifier_and_gamma_come_from_the_other_folds(data):
    f0 = _row({"a": {3: 0.8, 10: 0.1}, "b": {10: 0.5}})
    f1 = _row({"a": {3: 0.2}, "b": {10: 0.6, 3: 0.3}})
    curves = [[f0], [f1]]
    # Fold mean: a peaks at 0.5 (gamma 3), b at 0.55 (gamma 10): b, 0.55.
    mean = mean_curve(curves, data, calibrated=True)[0]
    assert (mean["gzsl_classifier"], mean["gzsl_cal_h"]) == ("b", pytest.approx(0.55))
    # Fold 0 held out: fold 1 chooses b at gamma 10 -> fold 0's b there, 0.5. Fold 1 held out:
    # fold 0 chooses a at gamma 3 -> fold 1's a there, 0.2. Mean 0.35.
    assert held_out_fold_scores(curves, ["gzsl"], data, True) == pytest.approx(
        {"gzsl_cal_h_held_out": 0.35})


def test_the_honest_protocol_records_them():
    cfg = load_config("factorised-gaussian/synthetic", {
        "evaluation.seeds": [0], "evaluation.tasks": ["zsl", "gzsl"], "device": "cpu",
        "evaluation.validation.folds": 3, "evaluation.calibration": True})
    validation = run_experiment(cfg)[0].validation
    # Without epochs, ZSL has nothing to choose: the held-out score is the fold mean.
    assert validation["zsl_held_out"] == pytest.approx(validation["zsl"])
    assert 0.0 <= validation["gzsl_cal_h_held_out"] <= 1.0


def test_a_fold_that_stopped_before_the_chosen_epoch_is_left_out(data):
    # Fold 2 stopped after epoch 1 (early stopping). Fold 0 held out: folds 1-2 share epoch 1
    # only -> 0.5. Fold 1 held out: folds 0, 2 -> epoch 1 -> 0.6. Fold 2 held out: folds 0-1
    # (0.55, 0.75) choose epoch 2, which fold 2 never reached: left out. Mean 0.55.
    curves = _curves([[0.5, 0.9], [0.6, 0.6], [0.7]])
    assert held_out_fold_scores(curves, ["zsl"], data, False) == pytest.approx(
        {"zsl_held_out": 0.55})
