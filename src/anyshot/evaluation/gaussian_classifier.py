"""Gaussian class-conditional classifiers, fitted in closed form on (synthetic and real) features.

    log p(x | c) = sum_j log N(x_j; mu_cj, var_cj)                           (``gaussian``)
    log p(x | c) = sum_j log N(x_j; mu_cj, var_j),  var_j pooled over classes (``gaussian-shared``)
    log p(x | c) = log N(x; mu_c, Sigma_c),  a full covariance per class      (``gaussian-full``)
    log p(x | c) = log N(x; mu_c, Sigma),    Sigma pooled over classes       (``gaussian-tied``)

with var + eps (eps: a fraction of the largest feature variance, as in Gaussian naive Bayes) and
equal class priors, so the scores are log-likelihoods and their softmax the posterior. It needs no
optimizer, no epochs and no batch size: the right fit for synthetic features that are themselves
drawn from class-conditional distributions. The full-covariance forms (quadratic and linear
discriminant analysis) read the correlations between features that a generator may have learnt
and a diagonal model ignores (full Sigma + eps I, eps as above); they hold K (or one) d x d
matrices, so they suit features of tens to hundreds of dimensions, not thousands.
"""

from __future__ import annotations

import math

import torch

__all__ = ["FullGaussianClassifier", "GaussianClassifier"]


class _ClassGaussian:
    """What both Gaussian classifiers share: settings, class means, smoothing, saved state."""

    state_names: tuple[str, ...] = ()  # fitted tensors ``<name>_``, saved under ``<name>``

    def __init__(self, var_smoothing: float, device: torch.device | str) -> None:
        self.var_smoothing = var_smoothing
        self.device = torch.device(device)

    def _class_means(self, X: torch.Tensor, y: torch.Tensor, n_classes: int,
                     weight: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """X and y on the device, the class counts (K, 1) and the class means (K, d); with
        ``weight`` (n,), weighted counts and means."""
        X = X.to(self.device, torch.float32)
        y = y.to(self.device, torch.int64)
        if weight is None:
            counts = torch.bincount(y, minlength=n_classes).clamp_min(1).to(X.dtype)[:, None]
            sums = torch.zeros(n_classes, X.shape[1], device=self.device).index_add_(0, y, X)
            return X, y, counts, sums / counts
        w = weight.to(self.device, torch.float32)
        counts = torch.zeros(n_classes, device=self.device).index_add_(0, y, w)
        counts = counts.clamp_min(torch.finfo(X.dtype).tiny)[:, None]
        sums = torch.zeros(n_classes, X.shape[1], device=self.device).index_add_(0, y,
                                                                                   X * w[:, None])
        return X, y, counts, sums / counts

    def _smoothing(self, X: torch.Tensor) -> float:
        """eps: ``var_smoothing`` times the largest feature variance."""
        return self.var_smoothing * float(X.var(0, unbiased=False).max())

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, f"{k}_") for k in self.state_names}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]):
        for k in self.state_names:
            setattr(self, f"{k}_", tensors[k].to(self.device))
        return self


class GaussianClassifier(_ClassGaussian):
    """Diagonal-covariance Gaussian per class (``shared=True``: one variance for all classes)."""

    state_names = ("mean", "var")

    def __init__(self, shared: bool = False, var_smoothing: float = 1e-3,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(var_smoothing, device)
        self.shared = shared

    def fit(self, X: torch.Tensor, y: torch.Tensor, n_classes: int,
            weight: torch.Tensor | None = None) -> "GaussianClassifier":
        """X (n, d) float, y (n,) local labels 0..n_classes-1 (every class needs a sample);
        ``weight`` (n,): each sample's weight in its class's mean and variance."""
        X, y, counts, mean = self._class_means(X, y, n_classes, weight)
        sq = X.square() if weight is None else X.square() * weight.to(X)[:, None]
        sq = torch.zeros_like(mean).index_add_(0, y, sq)
        var = (sq / counts - mean.square()).clamp_min(0.0)
        if self.shared:
            var = (var * counts).sum(0, keepdim=True).expand_as(var) / counts.sum()
        self.mean_ = mean
        self.var_ = var + self._smoothing(X)
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


class FullGaussianClassifier(_ClassGaussian):
    """Full-covariance Gaussian per class (``tied=True``: one covariance pooled over classes)."""

    state_names = ("mean", "chol")

    def __init__(self, tied: bool = False, var_smoothing: float = 1e-3,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(var_smoothing, device)
        self.tied = tied

    def fit(self, X: torch.Tensor, y: torch.Tensor, n_classes: int,
            weight: torch.Tensor | None = None) -> "FullGaussianClassifier":
        """X (n, d) float, y (n,) local labels 0..n_classes-1 (every class needs a sample);
        ``weight`` (n,): each sample's weight in its class's mean and covariance."""
        X, y, counts, mean = self._class_means(X, y, n_classes, weight)
        d = X.shape[1]
        # Scatter of the centred samples per class: one matrix product per class (the rows
        # sorted by class), C_k = (w * c_k)^T c_k.
        order = torch.argsort(y, stable=True)
        c = X[order] - mean[y[order]]
        cw = c if weight is None else c * weight.to(X)[order][:, None]
        ends = torch.bincount(y, minlength=n_classes).cumsum(0).tolist()
        scatter = torch.zeros(n_classes, d, d, device=self.device)
        for k, (a, b) in enumerate(zip([0, *ends[:-1]], ends)):
            if b > a:
                scatter[k] = cw[a:b].T @ c[a:b]
        if self.tied:
            cov = (scatter.sum(0) / counts.sum())[None]
        else:
            cov = scatter / counts[:, :, None]
        cov = cov + self._smoothing(X) * torch.eye(d, device=self.device)
        self.mean_ = mean
        self.chol_ = torch.linalg.cholesky(cov)  # (K or 1, d, d), lower
        return self

    @torch.no_grad()
    def logits(self, X: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """(n, d) -> (n, K) log-likelihoods log N(x; mu_c, L_c L_c^T)."""
        X = X.to(self.device, torch.float32)
        K, d = self.mean_.shape
        logdet = 2.0 * torch.diagonal(self.chol_, dim1=-2, dim2=-1).log().sum(-1)  # (K or 1,)
        const = (logdet + d * math.log(2 * math.pi))[None, :]
        rows = batch_size or max(1, 2 ** 24 // (K * d))
        out = []
        for i in range(0, X.shape[0], rows):
            diff = X[i:i + rows][None, :, :] - self.mean_[:, None, :]            # (K, b, d)
            z = torch.linalg.solve_triangular(self.chol_, diff.transpose(1, 2), upper=False)
            out.append(-0.5 * (z.square().sum(1).T + const))                   # (b, K)
        return torch.cat(out)
