"""Accuracy metrics of zero- and few-shot learning.

* Per-class mean top-1 accuracy (the standard ZSL metric, Xian et al. 2018):
      acc = 1/|C| sum_{c in C} (#correct in c) / (#samples in c)
  over the classes C present in ``y_true``.
* Harmonic mean of GZSL unseen accuracy U and seen accuracy S: H = 2 U S / (U + S).
"""

from __future__ import annotations

import numpy as np

__all__ = ["per_class_accuracy", "harmonic_mean"]


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over the classes present in ``y_true`` of each class's top-1 accuracy.

    Args:
        y_true: (n,) integer labels.
        y_pred: (n,) integer predictions (any label space; a prediction outside the true
            classes is simply wrong).
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}.")
    if y_true.size == 0:
        raise ValueError("per_class_accuracy needs at least one sample.")
    classes, inv = np.unique(y_true, return_inverse=True)
    total = np.bincount(inv, minlength=classes.size)
    correct = np.bincount(inv, weights=(y_true == y_pred).astype(np.float64),
                          minlength=classes.size)
    return float(np.mean(correct / total))


def harmonic_mean(unseen: float, seen: float) -> float:
    """H = 2 U S / (U + S); 0 when both are 0."""
    if unseen + seen == 0:
        return 0.0
    return float(2.0 * unseen * seen / (unseen + seen))
