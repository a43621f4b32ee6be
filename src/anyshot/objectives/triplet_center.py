"""Triplet-centre loss on SRWGAN's mapping codes (He et al., CVPR 2018, as used by SRWGAN).

Learnable centres c (C x L), one per seen class; each code mu_i is pulled to its own centre and
pushed from a random other class's centre by at least the margin Delta:

    L_tc = mean_i max(0, Delta + ||mu_i - c_{y_i}||^2 - ||mu_i - c_{y'_i}||^2),
    y'_i ~ Uniform({0..C-1} \\ {y_i}).

The other class is drawn as r ~ U{0..C-2}, y' = r + (r >= y), so y' never equals y (the official
code can draw y' == y, which turns a sample's term into the constant Delta).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TripletCenterLoss", "other_labels"]


def other_labels(labels: torch.Tensor, n_classes: int, rng: torch.Generator) -> torch.Tensor:
    """For labels (n,) in 0..n_classes-1, a uniformly random different label per sample (n,)."""
    if n_classes < 2:
        raise ValueError("other_labels needs at least two classes.")
    r = torch.randint(n_classes - 1, labels.shape, generator=rng, device=labels.device)
    return r + (r >= labels).long()


class TripletCenterLoss(nn.Module):
    """L_tc with ``n_classes`` learnable centres of dimension ``dim`` and margin ``margin``.

    Centres start at zero; :meth:`reset_parameters` draws them from N(0, I) with a given
    generator (as the official code does with the global one).
    """

    def __init__(self, n_classes: int, dim: int, margin: float) -> None:
        super().__init__()
        self.margin = float(margin)
        self.centers = nn.Parameter(torch.zeros(n_classes, dim))

    def reset_parameters(self, rng: torch.Generator) -> None:
        with torch.no_grad():
            self.centers.normal_(0.0, 1.0, generator=rng)

    @property
    def n_classes(self) -> int:
        return self.centers.shape[0]

    def forward(self, codes: torch.Tensor, labels: torch.Tensor, rng: torch.Generator
                ) -> torch.Tensor:
        """codes (n, L), local labels (n,) -> scalar loss; other classes are drawn from ``rng``.

        With a single class there is no other centre to push from, and the loss is 0.
        """
        if self.n_classes < 2:
            return codes.sum() * 0.0
        other = other_labels(labels, self.n_classes, rng)
        d_own = (codes - self.centers[labels]).pow(2).sum(dim=1)
        d_other = (codes - self.centers[other]).pow(2).sum(dim=1)
        return torch.clamp(self.margin + d_own - d_other, min=0.0).mean()
