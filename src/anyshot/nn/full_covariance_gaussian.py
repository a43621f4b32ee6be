"""Factorised Gaussian with full covariances: the parts carry correlations between features, and
an unseen combination of attribute values pools them by summing precision matrices.

For every attribute k and value v in {0, 1} (b_ck = [a_ck > t_k], or soft codes, as in
:mod:`anyshot.nn.factorised_gaussian`), a Gaussian is fitted in closed form to the training
features of the classes having that value, its covariance shrunk towards its diagonal:

    mu_kv = mean {x_i : b_{y_i k} = v}
    S_kv  = (1 - lambda) cov {x_i : b_{y_i k} = v} + lambda diag(cov) + eps I

A class with code b pools its informative parts (k in I) by precision:

    P(b)    = sum_{k in I} S_{k b_k}^-1
    mean(b) = P(b)^-1 sum_{k in I} S_{k b_k}^-1 mu_{k b_k}
    cov(b)  = |I| P(b)^-1                     (the matrix harmonic mean of the parts)

With d = 1, or lambda = 1, this is the diagonal model exactly. The held-out variance scale of
the diagonal model (:meth:`FullCovarianceGaussian.calibrate_variance`) applies as
cov(b) <- K^1/2 cov(b) K^1/2, K = diag(kappa): each feature's variance is scaled by kappa_d and
the correlations are kept. It stores 2 m d x d matrices, so it suits features of a few hundred
dimensions (process variables), not 2,048-d CNN features.
"""

from __future__ import annotations

import torch
from torch import nn

from anyshot.nn.factorised_gaussian import (
    attribute_codes,
    class_balance_weights,
    fill_missing_buffers,
    fit_codes,
    held_out_log_scale,
    informative_attributes,
    weighted_codes,
)

__all__ = ["FullCovarianceGaussian"]


class FullCovarianceGaussian(nn.Module):
    """Per-attribute-value full-covariance Gaussians, pooled by precision for any attribute
    vector.

    Args:
        attr_dim: m, the number of attributes.
        feature_dim: d, the feature dimension.
        shrinkage: lambda in [0, 1], the weight of each part's diagonal in its covariance.
        codes: ``hard`` (binarised attributes) or ``soft`` (scaled to [0, 1]).
    """

    def __init__(self, attr_dim: int, feature_dim: int, shrinkage: float = 0.1,
                 codes: str = "hard") -> None:
        super().__init__()
        self.shrinkage = float(shrinkage)
        self.codes = codes
        self.register_buffer("mean_parts", torch.zeros(2, attr_dim, feature_dim))
        self.register_buffer("precision_parts",
                             torch.eye(feature_dim).expand(2, attr_dim, -1, -1).clone())
        self.register_buffer("threshold", torch.full((attr_dim,), 0.5))
        self.register_buffer("code_low", torch.zeros(attr_dim))
        self.register_buffer("code_high", torch.ones(attr_dim))
        self.register_buffer("informative", torch.ones(attr_dim))
        # log kappa: the held-out variance scale (0 = none); absent from older saved models.
        self.register_buffer("log_var_scale", torch.zeros(feature_dim))
        self._register_load_state_dict_pre_hook(fill_missing_buffers)

    @torch.no_grad()
    def fit(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
            threshold: float | None = None, var_smoothing: float = 1e-3,
            balance: str = "classes") -> "FullCovarianceGaussian":
        """Closed-form fit on features X (n, d) with class indices y (n,) into ``attributes``
        (C, m); ``var_smoothing`` adds that fraction of the largest feature variance to every
        diagonal; ``balance`` weighs classes or samples alike, as the diagonal model does."""
        A = attributes.float()
        fit_codes(self, A, threshold)
        S = self.binarise(A)[y]                                   # (n, m) codes of the samples
        X = X.float()
        d = X.shape[1]
        eps = var_smoothing * float(X.var(0, unbiased=False).max())
        eye = torch.eye(d, device=X.device)
        pooled = torch.cov(X.T, correction=0).reshape(d, d)
        pooled_mean = X.mean(0)
        counts = []
        for v, W in weighted_codes(S, class_balance_weights(y, balance)):
            cnt = W.sum(0)                                        # (m,)
            safe = cnt.clamp_min(1.0)
            mu = (W.T @ X) / safe[:, None]                        # (m, d)
            second = torch.einsum("nk,nd,ne->kde", W, X, X) / safe[:, None, None]
            cov = second - mu[:, :, None] * mu[:, None, :]
            # A value no training class has gets the pooled statistics; it is never used
            # because its attribute is not informative.
            cov = torch.where(cnt[:, None, None] > 0, cov, pooled)
            mu = torch.where(cnt[:, None] > 0, mu, pooled_mean)
            diag = torch.diagonal(cov, dim1=1, dim2=2).clamp_min(0.0)
            shrunk = (1.0 - self.shrinkage) * cov + self.shrinkage * torch.diag_embed(diag)
            self.mean_parts[v].copy_(mu)
            self.precision_parts[v].copy_(torch.linalg.inv(shrunk + eps * eye))
            counts.append(cnt)
        self.informative.copy_(informative_attributes(*counts))
        self.log_var_scale.zero_()
        return self

    @torch.no_grad()
    def calibrate_variance(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
                           threshold: float | None = None, var_smoothing: float = 1e-3,
                           balance: str = "classes") -> "FullCovarianceGaussian":
        """Set the held-out variance scale kappa from the training features: each training
        class's own variances against the diagonal of its pooled covariance fitted without it
        (:func:`~anyshot.nn.factorised_gaussian.held_out_log_scale`)."""
        X = X.float()
        A = attributes.float()
        scratch = FullCovarianceGaussian(A.shape[1], X.shape[1], self.shrinkage,
                                         self.codes).to(X.device)

        def held_out_var(c: int) -> torch.Tensor:
            keep = y != c
            scratch.fit(X[keep], y[keep], A, threshold, var_smoothing, balance)
            return torch.diagonal(scratch(A[c:c + 1])[1][0])

        self.log_var_scale.copy_(held_out_log_scale(X, y, var_smoothing, held_out_var))
        return self

    def binarise(self, a: torch.Tensor) -> torch.Tensor:
        """(n, m) attributes -> (n, m) float codes: b = [a > t], or soft codes in [0, 1]."""
        return attribute_codes(a.float(), self.codes, self.threshold, self.code_low,
                               self.code_high)

    def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, m) attributes -> pooled mean (n, d) and covariance (n, d, d)."""
        b = self.binarise(a)
        w1 = b * self.informative
        w0 = (1.0 - b) * self.informative
        P = (torch.einsum("nk,kde->nde", w0, self.precision_parts[0])
             + torch.einsum("nk,kde->nde", w1, self.precision_parts[1]))
        pm = torch.einsum("vkde,vke->vkd", self.precision_parts, self.mean_parts)
        num = w0 @ pm[0] + w1 @ pm[1]
        cov = self.informative.sum() * torch.linalg.inv(P)
        mean = torch.linalg.solve(P, num.unsqueeze(-1)).squeeze(-1)
        s = torch.exp(0.5 * self.log_var_scale)
        cov = s[:, None] * cov * s[None, :]
        return mean, 0.5 * (cov + cov.transpose(1, 2))

    def sample(self, a: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """One draw x ~ N(mean(a), cov(a)) per row of a (n, m): (n, d). The moments are
        computed once per distinct attribute vector."""
        rows, index = torch.unique(a, dim=0, return_inverse=True)
        mean, cov = self(rows)
        L = torch.linalg.cholesky(cov)
        eps = torch.randn((a.shape[0], mean.shape[1]), generator=rng, device=a.device,
                          dtype=mean.dtype)
        return mean[index] + torch.einsum("nde,ne->nd", L[index], eps)
