"""SRWGAN's classification regularizer: fakes must be classified by the real class means.

The real batch's per-class means Xbar (C x d) act as the classifier's prototypes; a fake's logits
are its dot products with them, and the loss is their cross-entropy with the fake's class:

    Xbar_c = mean_{i: y_i = c} x_i
    L_cls  = CE(x_fake Xbar^T, y) = -(1 / B) sum_i log softmax(x_fake_i Xbar^T)_{y_i}

Classes absent from the real batch have no mean; their logits are masked out
(:func:`anyshot.objectives.semantic_alignment.mask_absent`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from anyshot.objectives.semantic_alignment import class_means, mask_absent

__all__ = ["class_mean_cross_entropy"]


def class_mean_cross_entropy(fake: torch.Tensor, real: torch.Tensor, labels: torch.Tensor,
                             present: torch.Tensor) -> torch.Tensor:
    """L_cls of fakes (B, d) against the class means of real features (B, d), both of classes
    ``labels`` (B,) in 0..C-1; ``present`` (C,) bool marks the classes in the batch. A scalar."""
    xbar = class_means(real, labels, present.shape[0])
    return F.cross_entropy(mask_absent(fake @ xbar.T, present), labels)
