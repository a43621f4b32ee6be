"""Attribute consistency: the generator pays when frozen attribute readers cannot read a back.

One linear reader per attribute, r_k(x) = w_k . x + c_k, is fitted on real training features and
then frozen. For binary attributes (every value 0 or 1) it is a logistic regression and the term
is the binary cross-entropy

    L_attr = (1 / |I|) sum_{k in I} mean_i BCE( sigmoid(r_k(G(z_i, a_i))), a_ik ),

for continuous attributes a ridge-like regression and the squared error
(1 / |I|) sum_k mean_i (r_k(G(z_i, a_i)) - a_ik)^2. I holds the attributes that vary over the
training classes: a reader of a constant attribute has learnt nothing to pass on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AttributeConsistency"]


class AttributeConsistency(nn.Module):
    """Frozen per-attribute readers and the consistency loss of generated features.

    Args:
        feature_dim: d.
        attr_dim: m.
    """

    def __init__(self, feature_dim: int, attr_dim: int) -> None:
        super().__init__()
        self.readers = nn.Linear(feature_dim, attr_dim)
        self.register_buffer("mask", torch.ones(attr_dim))
        self.is_binary = True
        self.requires_grad_(False)

    @torch.enable_grad()
    def fit(self, X: torch.Tensor, targets: torch.Tensor, *, steps: int = 200, lr: float = 0.05,
            weight_decay: float = 1e-4, generator: torch.Generator | None = None
            ) -> "AttributeConsistency":
        """Fit the readers full-batch on real features X (n, d) and their classes' attribute rows
        ``targets`` (n, m), then freeze them."""
        targets = targets.float()
        self.is_binary = bool(((targets == 0) | (targets == 1)).all())
        self.mask.copy_((targets.std(0) > 0).float())
        with torch.no_grad():
            self.readers.weight.normal_(0.0, 0.01, generator=generator)
            self.readers.bias.zero_()
        self.readers.requires_grad_(True)
        opt = torch.optim.Adam(self.readers.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(steps):
            loss = self._per_attribute(self.readers(X), targets) @ self.mask / self.mask.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        self.requires_grad_(False)
        return self

    def _per_attribute(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(n, m) reader outputs and targets -> (m,) mean loss per attribute."""
        if self.is_binary:
            return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(0)
        return (logits - targets).square().mean(0)

    def forward(self, fake: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        """L_attr of generated features fake (n, d) for their attributes (n, m): a scalar."""
        per = self._per_attribute(self.readers(fake.float()), attributes.float())
        return per @ self.mask / self.mask.sum().clamp_min(1.0)
