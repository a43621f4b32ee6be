"""Prior anchor: a generator built on a closed-form prior pays when its class means leave the
prior's.

With a prior under G (``prior: factorised-gaussian``), G(z, a) = prior draw + correction. The
correction may reshape a class's distribution, but with few training classes the adversarial game
also drags class means around, and for unseen classes those moves are extrapolations from the
seen ones. The anchor measures, per class c present in the batch, the mean of the generated
features standardised by the prior's pooled moments mu(a_c), var(a_c):

    r_i = (G(z_i, a_i) - mu(a_i)) / sqrt(var(a_i))
    L_anchor = (1 / (|P| d)) sum_{c in P} || mean_{i: y_i = c} r_i ||^2

P: the classes present in the batch; d: the feature dimension. For draws of the prior itself the
expected value is about 1 / n_c per class (sampling noise of a mean of n_c draws), so the term
ignores spread and shape and penalises only shifts of the class means, in units of the prior's
standard deviation.
"""

from __future__ import annotations

import torch

from anyshot.objectives.semantic_alignment import class_means, present_classes

__all__ = ["prior_anchor_loss"]


def prior_anchor_loss(fake: torch.Tensor, mean: torch.Tensor, var: torch.Tensor,
                      labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """L_anchor of fakes (n, d) against the prior's moments (n, d) of their rows, labels (n,)
    in 0..n_classes-1."""
    r = (fake.float() - mean) / var.sqrt()
    shifts = class_means(r, labels, n_classes)                  # absent classes: zero rows
    present = present_classes(labels, n_classes).sum()
    return shifts.square().sum() / (present * fake.shape[1])
