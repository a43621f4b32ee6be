"""Feature transforms whose statistics come from the training split only."""

from __future__ import annotations

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError

__all__ = ["scale_features", "SCALINGS"]

SCALINGS = ("none", "minmax", "standard")


def scale_features(data: AnyShotData, method: str = "minmax") -> AnyShotData:
    """Scale features with statistics of ``data.trainval`` (never of a test set).

    ``minmax`` maps each training feature to [0, 1] (test values may fall outside), as the
    f-CLSWGAN and SRWGAN pipelines do; ``standard`` removes the training mean and divides by the
    training standard deviation.
    """
    if method == "none":
        return data
    Xtr = data.X[data.trainval].astype(np.float64)
    if method == "minmax":
        lo = Xtr.min(0)
        span = Xtr.max(0) - lo
        span[span == 0] = 1.0
        X = (data.X - lo) / span
    elif method == "standard":
        mu = Xtr.mean(0)
        sd = Xtr.std(0)
        sd[sd == 0] = 1.0
        X = (data.X - mu) / sd
    else:
        raise ConfigError(f"unknown scaling {method!r}; choose one of {', '.join(SCALINGS)}.")
    return data.with_features(X.astype(np.float32), scaling=method)
