"""The class-attribute table in the forms a user gives it, normalised and validated."""

from __future__ import annotations

from typing import Any, Hashable, Sequence

import numpy as np
import pandas as pd

from anyshot.errors import DataError

__all__ = ["attribute_table"]


def attribute_table(class_attributes: Any, attribute_classes: Sequence[Hashable] | None = None
                    ) -> tuple[list[Hashable], np.ndarray]:
    """Normalise the accepted attribute-table forms to (labels, (C, m) float array), validated."""
    if isinstance(class_attributes, pd.DataFrame):
        labels = list(class_attributes.index)
        A = class_attributes.to_numpy()
    elif isinstance(class_attributes, dict):
        labels = list(class_attributes)
        A = np.array([np.asarray(v, dtype=np.float64).ravel() for v in class_attributes.values()])
    else:
        A = np.asarray(class_attributes)
        if attribute_classes is None:
            raise DataError("class_attributes is an array: pass attribute_classes (one label per "
                            "row), or give a DataFrame indexed by class label.")
        labels = list(attribute_classes)
    if A.ndim != 2:
        raise DataError(f"class_attributes must be 2-D (n_classes, n_attributes), "
                        f"got shape {A.shape}.")
    if len(labels) != A.shape[0]:
        raise DataError(f"class_attributes has {A.shape[0]} rows but {len(labels)} class labels.")
    try:
        A = A.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"class_attributes must be numeric: {exc}") from exc
    seen: dict = {}
    dups = [l for l in labels if l in seen or seen.setdefault(l, False)]
    if dups:
        raise DataError(f"duplicate class labels in class_attributes: {dups[:10]}; each class "
                        "needs exactly one attribute row.")
    bad = ~np.isfinite(A)
    if bad.any():
        rows = [labels[i] for i in np.unique(np.nonzero(bad)[0])[:10]]
        raise DataError(f"class_attributes has NaN/inf values for classes {rows}; "
                        "fill or drop them.")
    const = np.nonzero(np.ptp(A, axis=0) == 0)[0] if A.shape[0] > 1 else np.zeros(0, int)
    if const.size == A.shape[1]:
        raise DataError("every attribute column of class_attributes is constant across classes, "
                        "so attributes cannot tell classes apart.")
    if const.size:
        raise DataError(f"attribute columns {const[:10].tolist()} are constant across classes and "
                        "carry no information; drop them from class_attributes.")
    return labels, A
