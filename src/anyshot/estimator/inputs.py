"""The estimator's problem as indices: class labels of any kind to rows of the attribute table,
and which classes are seen and which unseen."""

from __future__ import annotations

from typing import Any, Hashable, Sequence

import numpy as np

from anyshot.data.attribute_table import attribute_table
from anyshot.errors import DataError

__all__ = ["encode_problem"]


def encode_problem(y: np.ndarray, class_attributes: Any = None,
                   unseen_classes: Sequence[Hashable] | None = None,
                   attribute_classes: Sequence[Hashable] | None = None
                   ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(labels, A, y_idx, seen, unseen): the table's class labels, its (C, m) attributes, the
    rows' class indices, and the seen and unseen class indices. Classes of the table without
    rows are unseen unless ``unseen_classes`` names them; named classes with rows are few-shot
    classes. Without a table every class gets a one-hot attribute."""
    y_labels, y_idx_local = np.unique(y, return_inverse=True)
    if class_attributes is None:
        if unseen_classes:
            raise DataError("unseen_classes need class_attributes to describe them.")
        labels = list(y_labels)
        A = np.eye(len(labels))
    else:
        labels, A = attribute_table(class_attributes, attribute_classes)
    index = {label: i for i, label in enumerate(labels)}
    missing = [l for l in y_labels.tolist() if l not in index]
    if missing:
        raise DataError(f"classes {missing[:10]} occur in y but have no row in "
                        "class_attributes; add their attribute vectors.")
    y_idx = np.array([index[l] for l in y_labels.tolist()], dtype=np.int64)[y_idx_local]
    present = np.unique(y_idx)
    if unseen_classes is None:
        unseen = np.setdiff1d(np.arange(len(labels)), present)
    else:
        unknown = [l for l in unseen_classes if l not in index]
        if unknown:
            raise DataError(f"unseen_classes {unknown[:10]} are not in class_attributes.")
        unseen = np.unique([index[l] for l in unseen_classes]).astype(np.int64)
    seen = np.setdiff1d(present, unseen)
    if seen.size == 0:
        raise DataError("no seen class: y has samples only of classes listed as unseen.")
    return labels, A, y_idx, seen, unseen
