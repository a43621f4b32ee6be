"""Hyperparameter defaults sized to the training table (the estimator's defaults).

Hyperparameters that neither ``preset`` nor ``method_params`` (nor ``epochs``) set are derived
from the training table for the generative methods, with n training rows, d features,
m attributes and B the batch size::

    hidden, critic_hidden = clip(2 ** ceil(log2(4 (d + m))), 64, 4096)   # network widths
    batch_size (B)        = clip(2 ** round(log2(n / 40)), 64, 512)
    epochs                = clip(ceil(800 / ceil(n / B)), 10, 30)         # ~800 generator steps
    syn_num               = clip(median rows per seen class, 50, 300)
    pretrain              = batch_size B, epochs clip(ceil(800 / ceil(n / B)), 5, 30)
    lr, cls_weight        = 1e-3, 1.0 when the width is below 1,024 (f-CLSWGAN only)

so a 10,000 x 10 table trains 64-wide networks for 20 epochs of 40 steps, and features of
dimension 2,048 still get the paper's 4,096. The learning rate and classification weight of
small networks are those the small-network presets (``clswgan/synthetic``, ``clswgan/tep``) were
chosen with on validation; paper-sized networks keep the objective's learning rate and the
paper's weight. Presets keep every value they set; the values of a fit are in
``clf.method_.config``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["STEP_BUDGET", "data_sized_params"]

#: Generator steps the derived defaults aim at (the old fixed defaults took ~4,700 on 10,000 rows).
STEP_BUDGET = 800


def _clip(value: float, low: int, high: int) -> int:
    return int(min(max(value, low), high))


def data_sized_params(n: int, d: int, m: int, rows_per_seen_class: float,
                      fields: set[str], method: str = "clswgan") -> dict[str, Any]:
    """Hyperparameters derived from the training table (see the module docstring).

    Args:
        n: training rows; d: feature dimension; m: attribute dimension.
        rows_per_seen_class: median training rows of a seen class.
        fields: the method config's field names (only those get a value).
        method: the method's registry name (small-network learning rates are f-CLSWGAN's).
    """
    width = _clip(2 ** math.ceil(math.log2(4 * (d + m))), 64, 4096)
    batch = _clip(2 ** round(math.log2(max(n, 1) / 40)), 64, 512)
    steps = max(1, math.ceil(n / batch))
    derived: dict[str, Any] = {
        "hidden": width, "critic_hidden": width, "batch_size": batch,
        "epochs": _clip(math.ceil(STEP_BUDGET / steps), 10, 30),
        "syn_num": _clip(round(rows_per_seen_class), 50, 300),
    }
    derived["pretrain"] = {"batch_size": batch,
                           "epochs": _clip(math.ceil(STEP_BUDGET / steps), 5, 30)}
    if method == "clswgan" and width < 1024:
        derived.update(lr=1e-3, cls_weight=1.0)
    return {k: v for k, v in derived.items() if k in fields}
