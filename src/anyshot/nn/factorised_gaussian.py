"""Factorised Gaussian feature model: a class's feature distribution composed attribute by
attribute.

Attributes are binarised, b_ck = [a_ck > t_k] (t_k: a fixed threshold, or attribute k's mean over
the classes). For every attribute k and value v in {0, 1}, a diagonal Gaussian is fitted in closed
form to the training features of the classes having that value:

    mu_kv  = mean {x_i : b_{y_i k} = v},      var_kv = var {x_i : b_{y_i k} = v} + eps

An attribute is *informative* (k in I) when both of its values occur among the training classes.
A class with code b -- seen or not -- pools the Gaussians of its values by precision:

    P(b)    = sum_{k in I} 1 / var_{k b_k}
    mean(b) = (1 / P(b)) sum_{k in I} mu_{k b_k} / var_{k b_k}
    var(b)  = |I| / P(b)                      (the harmonic mean of the parts' variances)

so an unseen combination of attribute values is assembled from parts that every training class
helped to estimate. Taking var(b) = 1 / P(b) instead would shrink the spread |I| times and make
every synthetic class far too narrow. Everything is a few matrix products: no loop over
attributes, classes or samples.

The module is used as the ``factorised-gaussian`` method on its own and as the prior of a
generator (``prior: factorised-gaussian``), whose parts may then be trained further
(``trainable=True``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FactorisedGaussian"]


class FactorisedGaussian(nn.Module):
    """Per-attribute-value diagonal Gaussians, pooled by precision for any attribute vector.

    Args:
        attr_dim: m, the number of attributes.
        feature_dim: d, the feature dimension.
        trainable: whether the means and log-variances are parameters that an optimizer may move
            (the closed-form fit is always the starting point).
    """

    def __init__(self, attr_dim: int, feature_dim: int, trainable: bool = False) -> None:
        super().__init__()
        self.mean_parts = nn.Parameter(torch.zeros(2, attr_dim, feature_dim),
                                       requires_grad=trainable)
        self.log_var_parts = nn.Parameter(torch.zeros(2, attr_dim, feature_dim),
                                          requires_grad=trainable)
        # log w_k: how much attribute k's parts count in the pool (0 = the closed form).
        self.log_weight = nn.Parameter(torch.zeros(attr_dim), requires_grad=trainable)
        self.register_buffer("threshold", torch.full((attr_dim,), 0.5))
        self.register_buffer("informative", torch.ones(attr_dim))

    @torch.no_grad()
    def fit(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
            threshold: float | None = None, var_smoothing: float = 1e-3) -> "FactorisedGaussian":
        """Closed-form fit on features X (n, d) with class indices y (n,) into ``attributes``
        (C, m). ``var_smoothing`` adds that fraction of the largest feature variance to every
        variance (as Gaussian naive Bayes does)."""
        A = attributes.float()
        t = A.mean(0) if threshold is None else torch.full_like(A[0], float(threshold))
        self.threshold.copy_(t)
        S = self.binarise(A)[y]                                   # (n, m) codes of the samples
        X = X.float()
        eps = var_smoothing * float(X.var(0, unbiased=False).max())
        counts = []
        for v, W in ((0, 1.0 - S), (1, S)):
            cnt = W.sum(0)                                        # (m,)
            safe = cnt.clamp_min(1.0)[:, None]
            mu = (W.T @ X) / safe
            var = ((W.T @ X.square()) / safe - mu.square()).clamp_min(0.0) + eps
            # A value no training class has gets the pooled statistics; it is never used
            # because its attribute is not informative.
            mu = torch.where(cnt[:, None] > 0, mu, X.mean(0))
            var = torch.where(cnt[:, None] > 0, var, X.var(0, unbiased=False) + eps)
            self.mean_parts[v].copy_(mu)
            self.log_var_parts[v].copy_(var.log())
            counts.append(cnt)
        informative = (counts[0] > 0) & (counts[1] > 0)
        if not bool(informative.any()):  # nothing varies: every attribute pools (one Gaussian)
            informative = torch.ones_like(informative)
        self.informative.copy_(informative.float())
        return self

    def binarise(self, a: torch.Tensor) -> torch.Tensor:
        """(n, m) attributes -> (n, m) float codes b = [a > t]."""
        return (a > self.threshold).to(self.mean_parts.dtype)

    def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, m) attributes -> pooled mean (n, d) and variance (n, d)."""
        b = self.binarise(a)
        w = self.informative * torch.exp(self.log_weight)
        w1 = b * w
        w0 = (1.0 - b) * w
        prec = torch.exp(-self.log_var_parts)                     # (2, m, d)
        P = w0 @ prec[0] + w1 @ prec[1]
        num = w0 @ (self.mean_parts[0] * prec[0]) + w1 @ (self.mean_parts[1] * prec[1])
        return num / P, w.sum() / P

    def sample(self, a: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """One draw x ~ N(mean(a), diag var(a)) per row of a (n, m): (n, d)."""
        mean, var = self(a)
        eps = torch.randn(mean.shape, generator=rng, device=mean.device, dtype=mean.dtype)
        return mean + var.sqrt() * eps
