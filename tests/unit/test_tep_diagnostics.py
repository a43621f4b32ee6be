"""Diagnostics in benchmarks/: tep_unseen_shift.py (distances in the prior's standard
deviations, hand-computed, and which mean is closer to the real one), tep_curve_selection.py
(the epoch chosen on the other folds, on hand-worked curves), tep_oracle.py (the Gaussian
classifier of given moments, on hand-worked points) and heldout_validation.py's thinning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def shift():
    return load_benchmark("tep_unseen_shift")


def test_rms_distance_in_prior_sds(shift):
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    b = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    var = torch.tensor([[1.0, 4.0], [9.0, 1.0]])
    # row 0: sqrt((1/1 + 4/4) / 2) = 1; row 1: sqrt((9/9 + 0) / 2) = sqrt(0.5)
    torch.testing.assert_close(shift.rms_distance(a, b, var), torch.tensor([1.0, 0.5 ** 0.5]))


def test_summary_counts_where_the_generator_is_closer(shift):
    rows = [{"epoch": 2, "d_prior": [1.0, 2.0], "d_gen": [0.5, 3.0], "shift": [0.2, 0.4]},
            {"epoch": 2, "d_prior": [1.0], "d_gen": [2.0], "shift": [0.6]},
            {"epoch": 4, "d_prior": [1.0], "d_gen": [0.0], "shift": [1.0]}]
    lines = shift.summary(rows)
    # epoch 2: d(prior) 4/3, d(gen) 5.5/3, shift 0.4, closer for 1 of 3
    assert lines[1].split() == ["2", "1.333", "1.833", "0.400", "33%", "of", "3", "classes"]
    assert lines[2].split() == ["4", "1.000", "0.000", "1.000", "100%", "of", "1", "classes"]


@pytest.fixture(scope="module")
def selection():
    return load_benchmark("tep_curve_selection")


def test_leave_one_fold_out_chooses_the_epoch_on_the_other_folds(selection, tmp_path):
    text = ("group A seed 0: 0.50 0.90\n"
            "group A seed 1: 0.60 0.20\n"
            "group A seed 2: 0.70 0.30\n"
            "config=...\n")
    path = tmp_path / "curve.txt"
    path.write_text(text)
    curves = selection.read_curves(path)
    # fold 0: others' mean (0.65, 0.25) -> epoch 0 -> 0.50; fold 1: (0.60, 0.60) tie -> first
    # epoch -> 0.60; fold 2: (0.55, 0.55) -> 0.70
    assert selection.leave_one_fold_out(curves) == pytest.approx(
        {("A", 0): 0.50, ("A", 1): 0.60, ("A", 2): 0.70})
    # the peak of the mean curve (0.6, 0.4667) is 0.6, scored on the folds that chose it
    assert selection.peak_of_mean(curves) == pytest.approx(0.6)


@pytest.fixture(scope="module")
def oracle():
    return load_benchmark("tep_oracle")


def test_the_oracle_classifier_uses_the_moments_it_is_given(oracle):
    classes = np.array([3, 7])
    means = np.array([[0.0, 0.0], [2.0, 0.0]])
    X = np.array([[1.2, 0.0], [0.9, 0.0], [2.0, 0.0]])
    y = np.array([3, 3, 7])
    # equal variances: the midpoint 1 divides, so (1.2, 0) goes to class 7; class 3 gets 1 of
    # 2 right, class 7 its one: (0.5 + 1) / 2
    assert oracle.zsl(X, y, classes, means, np.ones((2, 2))) == pytest.approx(0.75)
    # class 3 four times as wide on feature 0: at x = 1.2, -0.5 (1.44 / 4 + log 4) = -0.873
    # against -0.5 (0.64) = -0.32, still class 7; at 0.9, -0.794 against -0.605: class 7 too
    wide = np.array([[4.0, 1.0], [1.0, 1.0]])
    assert oracle.zsl(X, y, classes, means, wide) == pytest.approx(0.5)
    # the same variances as full covariance matrices give the same answer
    full = np.stack([np.diag(v) for v in wide])
    assert oracle.zsl(X, y, classes, means, full) == pytest.approx(0.5)


def test_thinning_keeps_a_drawn_fraction_of_each_seen_class():
    from anyshot.data.dataset import AnyShotData

    validation = load_benchmark("heldout_validation")
    y = np.repeat([0, 1, 2], [100, 100, 40])
    data = AnyShotData.create(np.zeros((240, 2)), y, np.eye(3), seen=[0, 1], unseen=[2],
                              trainval=np.arange(200), test_seen=[],
                              test_unseen=np.arange(200, 240))
    thin = validation.thinned(data, [0.5, 0.05], seed=0)
    counts = sorted(np.bincount(thin.y[thin.trainval], minlength=3)[:2].tolist())
    # each seen class keeps 50 rows (half of 100) or 10 (5% is 5, raised to the floor of 10)
    assert set(counts) <= {10, 50}
    assert np.isin(thin.trainval, data.trainval).all()
    assert np.array_equal(thin.test_unseen, data.test_unseen)
