"""SRWGAN's semantic terms on the refinement heads' codes (no unseen features are ever used).

For head k, Zbar_k^seen / Zbar_k^unseen are per-class means of the head's codes over a batch of
seen labels and over a batch of unseen-class attributes. The terms are

    Gram alignment     MSE(Zbar_s^T Zbar_s, Zbar_u^T Zbar_u)       second-order structure
    bilinear scores    S(X, Zbar) = X W Zbar^T                      W (d x k) learnable
    mean entropy       H = mean_i -sum_c p_ic log p_ic,  p_i = softmax(S_i)

and from them the paper's compatibility losses SBC / UBC and its structure loss CBC:

    SBC   CE(S_1(x_real, Zbar_1^s), y)                 seen features know their class (head 1)
    H     H(S(X, Zbar)): UBC = H(S_1(x_fake^u, Zbar_1^u)), and head 2's H(S_2(x_real, Zbar_2^s))
    CBC   sum_k MSE(Gram(Zbar_k^s), Gram(Zbar_k^u))     over the heads k
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BilinearCompatibility",
    "class_means",
    "compatibility_cross_entropy",
    "compatibility_entropy",
    "gram",
    "gram_alignment_loss",
    "mask_absent",
    "mean_entropy",
    "present_classes",
    "structure_alignment_loss",
]


def class_means(codes: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Per-class means of codes (n, k) with labels (n,) in 0..n_classes-1 -> (n_classes, k).

    A class absent from the batch gets an all-zero row (it then adds nothing to a Gram matrix).
    """
    sums = torch.zeros(n_classes, codes.shape[1], device=codes.device, dtype=codes.dtype)
    sums = sums.index_add(0, labels, codes)
    counts = torch.zeros(n_classes, device=codes.device, dtype=codes.dtype)
    counts = counts.index_add(0, labels, torch.ones_like(labels, dtype=codes.dtype))
    return sums / counts.clamp(min=1.0)[:, None]


def gram(Z: torch.Tensor) -> torch.Tensor:
    """Z (C, k) -> Z^T Z (k, k)."""
    return Z.T @ Z


def gram_alignment_loss(Z_seen: torch.Tensor, Z_unseen: torch.Tensor) -> torch.Tensor:
    """MSE(Z_s^T Z_s, Z_u^T Z_u) for class-mean codes Z_s (C_s, k) and Z_u (C_u, k)."""
    return F.mse_loss(gram(Z_seen), gram(Z_unseen))


def structure_alignment_loss(seen_codes: list[torch.Tensor], unseen_codes: list[torch.Tensor]
                             ) -> torch.Tensor:
    """CBC = sum_k MSE(Gram(Zbar_k^s), Gram(Zbar_k^u)) over the heads' class-mean codes
    Zbar_k^s (C_s, k) and Zbar_k^u (C_u, k), in head order: a scalar."""
    return sum(gram_alignment_loss(s, u) for s, u in zip(seen_codes, unseen_codes))


def present_classes(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(n_classes,) bool: which of 0..n_classes-1 occur in labels (n,). Unlike ``bincount`` it
    needs no look at the labels' maximum, so it never waits for the device."""
    present = torch.zeros(n_classes, dtype=torch.bool, device=labels.device)
    return present.index_fill(0, labels, True)


def mask_absent(logits: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Logits (n, C) with the columns of classes absent from the batch (present: (C,) bool) set
    to a very negative finite value, so they take no probability and no gradient."""
    return logits.masked_fill(~present[None, :], -1e9)


def mean_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of softmax(logits) over rows: logits (n, C) finite -> scalar."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()


def compatibility_cross_entropy(scores: torch.Tensor, labels: torch.Tensor,
                                present: torch.Tensor) -> torch.Tensor:
    """SBC = CE(S(X, Zbar), y): compatibility scores (n, C) of features with the class-mean
    codes, their classes ``labels`` (n,), ``present`` (C,) bool (absent columns masked)."""
    return F.cross_entropy(mask_absent(scores, present), labels)


def compatibility_entropy(scores: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """H(softmax S(X, Zbar)), the mean entropy of compatibility scores (n, C) over the classes
    marked ``present`` (C,) bool (UBC on unseen fakes; head 2's term on real features)."""
    return mean_entropy(mask_absent(scores, present))


class BilinearCompatibility(nn.Module):
    """S(X, Zbar) = X W Zbar^T with W (d x k): features X (n, d), class codes Zbar (C, k) -> (n, C).

    W is stored as the weight of a bias-free Linear(k -> d) (whose weight is exactly d x k), so
    the shared initialiser covers it and W Zbar^T is formed first (C is usually << n).
    """

    def __init__(self, feature_dim: int, code_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(code_dim, feature_dim, bias=False)

    @property
    def W(self) -> torch.Tensor:
        return self.proj.weight

    def forward(self, X: torch.Tensor, Zbar: torch.Tensor) -> torch.Tensor:
        return X @ self.proj(Zbar).T
