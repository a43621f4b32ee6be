"""Gaussian class-conditional classifier, fitted in closed form on (synthetic and real) features.

    log p(x | c) = sum_j log N(x_j; mu_cj, var_cj)                           (``gaussian``)
    log p(x | c) = sum_j log N(x_j; mu_cj, var_j),  var_j pooled over classes (``gaussian-shared``)

with var + eps (eps: a fraction of the largest feature variance, as in Gaussian naive Bayes) and
equal class priors, so the scores are log-likelihoods and their softmax the posterior. It needs no
optimizer, no epochs and no batch size: the right fit for synthetic features that are themselves
drawn from class-conditional distributions.
"""

from __future__ import annotations

import math

import torch

__all__ = ["GaussianClassifier"]


class GaussianClassifier:
    """Diagonal-covariance Gaussian per class (``shared=True``: one variance for all classes)."""

    def __init__(self, shared: bool = False, var_smoothing: float = 1e-3,
                 device: torch.device | str = "cpu") -> None:
        self.shared = shared
        self.var_smoothing = var_smoothing
        self.device = torch.device(device)

    def fit(self, X: torch.Tensor, y: torch.Tensor, n_classes: int) -> "GaussianClassifier":
        """X (n, d) float, y (n,) local labels 0..n_classes-1 (every class needs a sample)."""
        X = X.to(self.device, torch.float32)
        y = y.to(self.device, torch.int64)
        counts = torch.bincount(y, minlength=n_classes).clamp_min(1).to(X.dtype)[:, None]
        sums = torch.zeros(n_classes, X.shape[1], device=self.device).index_add_(0, y, X)
        sq = torch.zeros_like(sums).index_add_(0, y, X.square())
        mean = sums / counts
        var = (sq / counts - mean.square()).clamp_min(0.0)
        if self.shared:
            var = (var * counts).sum(0, keepdim=True).expand_as(var) / counts.sum()
        eps = self.var_smoothing * float(X.var(0, unbiased=False).max())
        self.mean_ = mean
        self.var_ = var + eps
        return self

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean_, "var": self.var_}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> "GaussianClassifier":
        self.mean_ = tensors["mean"].to(self.device)
        self.var_ = tensors["var"].to(self.device)
        return self

    @torch.no_grad()
    def logits(self, X: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
        """(n, d) -> (n, K) log-likelihoods log p(x | c)."""
        X = X.to(self.device, torch.float32)
        inv = 1.0 / self.var_
        const = (self.var_.log().sum(1) + X.shape[1] * math.log(2 * math.pi))[None, :]
        b = (self.mean_.square() * inv).sum(1)[None, :]
        out = []
        for i in range(0, X.shape[0], batch_size):
            x = X[i:i + batch_size]
            quad = x.square() @ inv.T - 2.0 * x @ (self.mean_ * inv).T + b
            out.append(-0.5 * (quad + const))
        return torch.cat(out)
