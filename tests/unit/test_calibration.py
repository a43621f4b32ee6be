"""Calibrated stacking: predictions and the H curve on hand-computed toy score matrices."""

import numpy as np
import pytest

from anyshot.evaluation.calibration import (
    GAMMA_GRID,
    calibrated_predict,
    h_curve,
    log_softmax,
)
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy

CANDIDATES = np.array([10, 11, 12])
SEEN = np.array([True, False, False])  # class 10 is seen; 11 and 12 are unseen
# Margins best seen - best unseen: a 1.0, b 2.4, c -1.7, d -0.4, e 0.8.
A = [-0.5, -1.5, -2.0]
B = [-0.1, -3.0, -2.5]
C = [-2.0, -0.3, -1.5]
D = [-1.0, -2.0, -0.6]
E = [-0.2, -1.0, -3.0]


def test_gamma_moves_predictions_as_computed_by_hand():
    L = np.array([A, B, C])
    np.testing.assert_array_equal(calibrated_predict(L, CANDIDATES, SEEN, 0.0), [10, 10, 11])
    # gamma = 2 passes a's margin (1.0) but not b's (2.4); c never was seen.
    np.testing.assert_array_equal(calibrated_predict(L, CANDIDATES, SEEN, 2.0), [11, 10, 11])
    both = calibrated_predict(L, CANDIDATES, SEEN, np.array([0.0, 2.0, 3.0]))
    # gamma = 3 passes b's margin too: b's best unseen class is 12.
    np.testing.assert_array_equal(both, [[10, 10, 11], [11, 10, 11], [11, 12, 11]])


def test_h_curve_at_two_gammas_by_hand():
    # unseen test: a (11), c (11), d (12); seen test: b (10), e (10).
    curve = h_curve(np.array([A, C, D]), [11, 11, 12], np.array([B, E]), [10, 10],
                    CANDIDATES, SEEN, np.array([0.0, 2.0]))
    # gamma 0: a -> 10 wrong, so class 11 scores 1/2, class 12 1: U = 0.75; S = 1; H = 6/7.
    # gamma 2: a -> 11, U = 1; e (margin 0.8) -> 11 wrong, S = 0.5; H = 2/3.
    np.testing.assert_allclose(curve.u, [0.75, 1.0])
    np.testing.assert_allclose(curve.s, [1.0, 0.5])
    np.testing.assert_allclose(curve.h, [6 / 7, 2 / 3])
    assert curve.best == 0


def test_matches_brute_force_argmax_and_the_metrics_module():
    rng = np.random.default_rng(0)
    K, seen = 7, np.array([1, 1, 0, 1, 0, 0, 1], dtype=bool)
    cand = np.arange(100, 100 + K)
    Lu, Ls = log_softmax(rng.normal(size=(60, K)) * 3), log_softmax(rng.normal(size=(50, K)) * 3)
    Lu[:5, 0] = Lu[:5, 2]  # exact ties between a seen and an unseen column at gamma 0
    yu, ys = rng.choice(cand[~seen], 60), rng.choice(cand[seen], 50)
    curve = h_curve(Lu, yu, Ls, ys, cand, seen)
    for i in (0, 5, 20, 49):
        g = GAMMA_GRID[i]
        pu = cand[np.argmax(Lu - g * seen, axis=1)]
        ps = cand[np.argmax(Ls - g * seen, axis=1)]
        np.testing.assert_array_equal(calibrated_predict(Lu, cand, seen, g), pu)
        u, s = per_class_accuracy(yu, pu), per_class_accuracy(ys, ps)
        assert curve.u[i] == pytest.approx(u) and curve.s[i] == pytest.approx(s)
        assert curve.h[i] == pytest.approx(harmonic_mean(u, s))
    # The largest gamma predicts unseen classes only.
    assert curve.s[-1] == 0.0 and curve.h[-1] == 0.0


def test_log_softmax_is_stable_and_normalised():
    L = log_softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]))
    assert np.isfinite(L).all()
    np.testing.assert_allclose(np.exp(L).sum(axis=1), 1.0)


def test_grid_starts_at_zero_and_reaches_gaussian_gaps():
    assert GAMMA_GRID[0] == 0.0 and np.all(np.diff(GAMMA_GRID) > 0) and GAMMA_GRID[-1] >= 1e3


def test_shape_errors_name_the_problem():
    with pytest.raises(ValueError, match="3 columns but candidates"):
        calibrated_predict(np.zeros((2, 3)), np.arange(4), np.ones(4, bool), 0.0)
    with pytest.raises(ValueError, match="2 rows but its labels have 3"):
        h_curve(np.zeros((2, 3)), [11, 11, 12], np.zeros((1, 3)), [10], CANDIDATES, SEEN)


def test_temperature_makes_the_confidence_match_the_accuracy():
    from anyshot.evaluation.calibration import TEMPERATURES, fit_temperature

    same = np.array([[2.0, 0.0], [2.0, 0.0]])
    # Always right: confidence sigmoid(2 / T) comes closest to 1 at the smallest T.
    assert fit_temperature(same, np.array([0, 0])) == TEMPERATURES[0]
    # Right half the time: confidence 1/2 is approached as T grows.
    assert fit_temperature(same, np.array([0, 1])) == TEMPERATURES[-1]
    # Right 3 times in 4 with scores (log 3, 0): softmax gives 3/4 exactly at T = 1.
    four = np.tile([[np.log(3.0), 0.0]], (4, 1))
    assert fit_temperature(four, np.array([0, 0, 0, 1])) == pytest.approx(1.0)
    assert fit_temperature(np.zeros((0, 2)), np.zeros(0, dtype=int)) == 1.0


def test_calibrated_classifier_stacks_then_scales_without_moving_the_argmax():
    from anyshot.evaluation.calibration import CalibratedClassifier
    from anyshot.evaluation.final_classifier import Classifier

    class Fixed(Classifier):
        candidates = np.array([3, 7])

        def scores(self, X):
            return np.array([[1.0, 0.0], [0.0, 0.0]])

    seen = np.array([True, False])
    clf = CalibratedClassifier(Fixed(), seen, gamma=0.5, temperature=2.0)
    # log_softmax([1, 0]) = [-0.3133, -1.3133]; minus gamma on the seen column; halved
    expected = (np.log(np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()) - [0.5, 0.0]) / 2.0
    np.testing.assert_allclose(clf.scores(None)[0], expected)
    assert clf.predict(None).tolist() == [3, 7]  # row 2: the tie broken by gamma, as stacking
    np.testing.assert_allclose(clf.predict_proba(None).sum(1), 1.0)
    cooler = CalibratedClassifier(Fixed(), seen, gamma=0.5, temperature=0.5)
    assert cooler.predict(None).tolist() == clf.predict(None).tolist()
    assert cooler.predict_proba(None)[0].max() > clf.predict_proba(None)[0].max()
