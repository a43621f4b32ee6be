"""Feature transforms whose statistics come from the training split only."""

from __future__ import annotations

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import check_choice

__all__ = ["scale_features", "scaling_statistics", "SCALINGS"]

SCALINGS = ("none", "minmax", "standard")


def scaling_statistics(X_train: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale), each (d,) float64, so that x -> (x - shift) / scale is ``method`` fitted on
    the training features X_train (n, d): ``minmax`` (min, max - min), ``standard`` (mean, std),
    ``none`` (0, 1); a constant feature gets scale 1."""
    Xtr = np.asarray(X_train, dtype=np.float64)
    if method == "minmax":
        shift, span = Xtr.min(0), Xtr.max(0) - Xtr.min(0)
    elif method == "standard":
        shift, span = Xtr.mean(0), Xtr.std(0)
    elif method == "none":
        shift, span = np.zeros(Xtr.shape[1]), np.ones(Xtr.shape[1])
    else:
        check_choice("scaling", method, SCALINGS)
    return shift, np.where(span == 0, 1.0, span)


def scale_features(data: AnyShotData, method: str = "minmax") -> AnyShotData:
    """Scale features with statistics of ``data.trainval`` (never of a test set).

    ``minmax`` maps each training feature to [0, 1] (test values may fall outside), as the
    f-CLSWGAN and SRWGAN pipelines do; ``standard`` removes the training mean and divides by the
    training standard deviation (:func:`scaling_statistics`).
    """
    if method == "none":
        return data
    shift, scale = scaling_statistics(data.X[data.trainval], method)
    X = (data.X - shift) / scale
    return data.with_features(X.astype(np.float32), scaling=method)
