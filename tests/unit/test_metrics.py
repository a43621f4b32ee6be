import numpy as np
import pytest

from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy


def test_per_class_accuracy_hand_computed():
    # class 0: 3 samples, 2 right; class 1: 1 sample, right; class 2: 2 samples, 0 right.
    y_true = np.array([0, 0, 0, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 1])
    # (2/3 + 1 + 0) / 3 = 0.5555...; plain accuracy would be 3/6 = 0.5
    assert per_class_accuracy(y_true, y_pred) == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_per_class_accuracy_ignores_classes_absent_from_truth_and_label_values():
    y_true = np.array([7, 7, 42])
    y_pred = np.array([7, 3, 99])
    assert per_class_accuracy(y_true, y_pred) == pytest.approx((0.5 + 0.0) / 2)


def test_per_class_accuracy_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        per_class_accuracy(np.array([0, 1, 2]), np.array([0, 1]))


def test_harmonic_mean():
    assert harmonic_mean(0.5, 0.8) == pytest.approx(2 * 0.5 * 0.8 / 1.3)
    assert harmonic_mean(0.0, 0.9) == 0.0
    assert harmonic_mean(0.0, 0.0) == 0.0
