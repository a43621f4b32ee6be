"""Factorised Gaussian feature model: a class's feature distribution composed attribute by
attribute.

Attributes are binarised, b_ck = [a_ck > t_k] (t_k: a fixed threshold, or attribute k's mean over
the classes), or with soft codes (``codes="soft"``) scaled to [0, 1] over the classes,
b_ck = (a_ck - min_c a_ck) / (max_c a_ck - min_c a_ck), so that a continuous attribute keeps its
value: a sample then counts b in the parts of value 1 and 1 - b in those of value 0, and a class
pools both parts of attribute k with weights b_ck and 1 - b_ck. On 0/1 attributes the two codes
are the same. For every attribute k and value v in {0, 1}, a diagonal Gaussian is fitted in closed
form to the training features of the classes having that value:

    mu_kv  = mean {x_i : b_{y_i k} = v},      var_kv = var {x_i : b_{y_i k} = v} + eps

each class counting as much as any other (``balance="classes"``: sample i has weight
n_max / n_{y_i}, so a class with ten times the rows does not make ten times the part; with
classes of equal size the weights are all 1). ``balance="samples"`` weights every row alike.

An attribute is *informative* (k in I) when both of its values occur among the training classes.
A class with code b -- seen or not -- pools the Gaussians of its values by precision:

    P(b)    = sum_{k in I} 1 / var_{k b_k}
    mean(b) = (1 / P(b)) sum_{k in I} mu_{k b_k} / var_{k b_k}
    var(b)  = |I| / P(b)                      (the harmonic mean of the parts' variances)

(with soft codes, 1 / var_{k b_k} reads b_k / var_{k1} + (1 - b_k) / var_{k0}, and so on)

so an unseen combination of attribute values is assembled from parts that every training class
helped to estimate. Taking var(b) = 1 / P(b) instead would shrink the spread |I| times and make
every synthetic class far too narrow. Everything is a few matrix products: no loop over
attributes, classes or samples.

Held-out variance scale (:meth:`FactorisedGaussian.calibrate_variance`). Each part's variance
includes the spread between the classes that share the value, so a pooled class is wider than a
real one. Measured where it matters, on training classes each pooled from a fit without it,

    log kappa_d = mean_c [ log var_d(X_c) - log var_d^(-c)(b_c) ]

and every class's variance is multiplied by kappa (one number per feature, the same for seen and
unseen classes; no class gets its own).

The module is used as the ``factorised-gaussian`` method on its own and as the prior of a
generator (``prior: factorised-gaussian``), whose parts may then be trained further
(``trainable=True``).

Class-held-out draws (:meth:`FactorisedGaussian.fit_held_out`). For an unseen class the pooled
Gaussian is an extrapolation: none of its parts saw the class. For a training class it is not:
every part it pools includes the class's own features. A generator that learns a correction on
top of the prior from training classes therefore learns to fix an in-sample fit, not the error it
has to fix for unseen classes. ``fit_held_out`` stores, for every training class c, the pooled
Gaussian of c's attributes fitted *without* c's features (parts of values only c had drop out,
as for an unseen class whose value no training class has), and ``sample(a, rng, y)`` draws from
it for rows of training classes y; other classes draw from the full fit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["BALANCES", "CODES", "VARIANCE_SCALES", "FactorisedGaussian", "attribute_codes",
           "attribute_thresholds", "class_balance_weights", "fill_missing_buffers",
           "fit_closed_form", "fit_codes", "held_out_log_scale", "informative_attributes",
           "pool_parts", "weighted_codes"]

#: ``variance_scale`` values: no scale, or the held-out variance scale (``calibrate_variance``).
VARIANCE_SCALES = ("none", "held-out")

#: ``balance`` values: every class counts alike in the parts, or every sample does.
BALANCES = ("classes", "samples")

#: ``codes`` values: attributes binarised at a threshold, or scaled to [0, 1] over the classes.
CODES = ("hard", "soft")


def attribute_codes(a: torch.Tensor, codes: str, threshold: torch.Tensor, low: torch.Tensor,
                    high: torch.Tensor) -> torch.Tensor:
    """(n, m) attributes -> (n, m) codes in [0, 1]: [a > threshold] (``hard``) or
    (a - low) / (high - low), clipped (``soft``; 0 for an attribute without range)."""
    if codes == "soft":
        span = high - low
        scaled = (a - low) / torch.where(span > 0, span, torch.ones_like(span))
        return scaled.clamp(0.0, 1.0) * (span > 0)
    return (a > threshold).to(a.dtype)


def attribute_thresholds(A: torch.Tensor, threshold: float | None) -> torch.Tensor:
    """t_k of b_ck = [a_ck > t_k]: ``threshold`` for every attribute, or (``None``) each
    attribute's mean over the classes."""
    return A.mean(0) if threshold is None else torch.full_like(A[0], float(threshold))


def fit_codes(model: nn.Module, A: torch.Tensor, threshold: float | None) -> None:
    """Set a composed model's code buffers from the class-attribute table ``A`` (C, m): the
    threshold of hard codes and the ends of soft ones (each attribute's min and max)."""
    model.threshold.copy_(attribute_thresholds(A, threshold))
    model.code_low.copy_(A.min(0).values)
    model.code_high.copy_(A.max(0).values)


def class_balance_weights(y: torch.Tensor, balance: str) -> torch.Tensor | None:
    """(n,) sample weights n_max / n_{y_i} that make every class count as much as the largest
    one (``balance="classes"``), or ``None`` where they would all be 1: ``"samples"``, or classes
    of equal size."""
    counts = torch.bincount(y)
    present = counts[counts > 0]
    if balance == "samples" or bool((present == present.max()).all()):
        return None
    return (present.max().to(torch.float32) / counts[y].to(torch.float32))


def weighted_codes(S: torch.Tensor, weights: torch.Tensor | None
                   ) -> tuple[tuple[int, torch.Tensor], tuple[int, torch.Tensor]]:
    """((0, W_0), (1, W_1)): each sample's weight in the parts of value 0 and 1 of every
    attribute, from its codes S (n, m) and sample weights (``None``: 1)."""
    W0, W1 = 1.0 - S, S
    if weights is not None:
        w = weights[:, None].to(S.dtype)
        W0, W1 = W0 * w, W1 * w
    return (0, W0), (1, W1)


def informative_attributes(count_0: torch.Tensor, count_1: torch.Tensor) -> torch.Tensor:
    """(m,) float mask of the attributes whose both values occur among the training samples;
    all of them where none varies (every attribute then pools into one Gaussian)."""
    informative = (count_0 > 0) & (count_1 > 0)
    if not bool(informative.any()):
        informative = torch.ones_like(informative)
    return informative.float()


def pool_parts(b: torch.Tensor, weight: torch.Tensor, mean_parts: torch.Tensor,
               log_var_parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool per-attribute-value Gaussians by precision: codes b (n, m), attribute weights w (m,)
    (0 for an attribute left out), parts (2, m, d) -> mean (n, d) and var = sum w / P (n, d)."""
    w1 = b * weight
    w0 = (1.0 - b) * weight
    prec = torch.exp(-log_var_parts)                              # (2, m, d)
    P = w0 @ prec[0] + w1 @ prec[1]
    num = w0 @ (mean_parts[0] * prec[0]) + w1 @ (mean_parts[1] * prec[1])
    return num / P, weight.sum() / P


def held_out_log_scale(X: torch.Tensor, y: torch.Tensor, var_smoothing: float,
                       held_out_var: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """log kappa (d,) of the held-out variance scale (module docstring): the mean over the
    training classes c with two rows or more of log var(X_c) - log ``held_out_var(c)``, the
    variance the model pools for c's attributes when fitted without c's rows (0 where no class
    has two rows). On TEP with one shot per novel fault this raised validation FSL / cal. GFSL H
    from 58.3 / 44.6 to 61.9 / 50.0 (mean A-E, seeds 0-2)."""
    eps = var_smoothing * float(X.var(0, unbiased=False).max())
    counts = torch.bincount(y)
    # A class of one row (a single shot) has no spread to measure: its variance would be eps.
    logs = [(X[y == c].var(0, unbiased=False) + eps).log() - held_out_var(c).log()
            for c in torch.unique(y).tolist() if int(counts[c]) >= 2]
    return torch.stack(logs).mean(0) if logs else torch.zeros(X.shape[1], device=X.device)


def fit_closed_form(model: nn.Module, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
                    *, variance_scale: str = "none", held_out: bool = False, **kwargs
                    ) -> nn.Module:
    """Fit a composed Gaussian (this module's, the full-covariance or the learnt-offset one) in
    closed form, with its class-held-out fits when ``held_out``, and set its variance scale when
    ``variance_scale`` is ``held-out``: the one place the method and a generator's prior are
    fitted. ``kwargs``: the model's ``threshold``, ``var_smoothing``, ``balance``."""
    (model.fit_held_out if held_out else model.fit)(X, y, attributes, **kwargs)
    if variance_scale == "held-out":
        model.calibrate_variance(X, y, attributes, **kwargs)
    return model


def fill_missing_buffers(state: dict, prefix: str, *_args) -> None:
    """Load hook: buffers that models saved before them lack get their neutral values, the
    variance scale none (kappa = 1) and the soft-code range [0, 1] (unused by hard codes)."""
    parts = state.get(prefix + "mean_parts")
    if parts is None:
        return
    state.setdefault(prefix + "log_var_scale", torch.zeros(parts.shape[-1]))
    state.setdefault(prefix + "code_low", torch.zeros(parts.shape[-2]))
    state.setdefault(prefix + "code_high", torch.ones(parts.shape[-2]))


class FactorisedGaussian(nn.Module):
    """Per-attribute-value diagonal Gaussians, pooled by precision for any attribute vector.

    Args:
        attr_dim: m, the number of attributes.
        feature_dim: d, the feature dimension.
        trainable: whether the means and log-variances are parameters that an optimizer may move
            (the closed-form fit is always the starting point).
        codes: ``hard`` (binarised attributes) or ``soft`` (scaled to [0, 1]; module docstring).
    """

    def __init__(self, attr_dim: int, feature_dim: int, trainable: bool = False,
                 codes: str = "hard") -> None:
        super().__init__()
        self.codes = codes
        self.mean_parts = nn.Parameter(torch.zeros(2, attr_dim, feature_dim),
                                       requires_grad=trainable)
        self.log_var_parts = nn.Parameter(torch.zeros(2, attr_dim, feature_dim),
                                          requires_grad=trainable)
        # log w_k: how much attribute k's parts count in the pool (0 = the closed form).
        self.log_weight = nn.Parameter(torch.zeros(attr_dim), requires_grad=trainable)
        self.register_buffer("threshold", torch.full((attr_dim,), 0.5))
        # The ends of soft codes (absent from older saved models).
        self.register_buffer("code_low", torch.zeros(attr_dim))
        self.register_buffer("code_high", torch.ones(attr_dim))
        self.register_buffer("informative", torch.ones(attr_dim))
        # log kappa: the held-out variance scale (0 = none); absent from older saved models.
        self.register_buffer("log_var_scale", torch.zeros(feature_dim))
        self._register_load_state_dict_pre_hook(fill_missing_buffers)
        # Class-held-out means and variances (C, d), indexed by class; training-time only.
        self.register_buffer("held_out_mean", torch.zeros(0, feature_dim), persistent=False)
        self.register_buffer("held_out_var", torch.zeros(0, feature_dim), persistent=False)

    @torch.no_grad()
    def fit(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
            threshold: float | None = None, var_smoothing: float = 1e-3,
            balance: str = "classes") -> "FactorisedGaussian":
        """Closed-form fit on features X (n, d) with class indices y (n,) into ``attributes``
        (C, m). ``var_smoothing`` adds that fraction of the largest feature variance to every
        variance (as Gaussian naive Bayes does); ``balance`` weighs classes or samples alike
        (module docstring)."""
        A = attributes.float()
        fit_codes(self, A, threshold)
        S = self.binarise(A)[y]                                   # (n, m) codes of the samples
        X = X.float()
        pooled_var = X.var(0, unbiased=False)
        eps = var_smoothing * float(pooled_var.max())
        pooled_mean, pooled_var = X.mean(0), pooled_var + eps   # all samples, once per fit
        counts = []
        for v, W in weighted_codes(S, class_balance_weights(y, balance)):
            cnt = W.sum(0)                                        # (m,)
            safe = cnt.clamp_min(1.0)[:, None]
            mu = (W.T @ X) / safe
            var = ((W.T @ X.square()) / safe - mu.square()).clamp_min(0.0) + eps
            # A value no training class has gets the pooled statistics; it is never used
            # because its attribute is not informative.
            mu = torch.where(cnt[:, None] > 0, mu, pooled_mean)
            var = torch.where(cnt[:, None] > 0, var, pooled_var)
            self.mean_parts[v].copy_(mu)
            self.log_var_parts[v].copy_(var.log())
            counts.append(cnt)
        self.informative.copy_(informative_attributes(*counts))
        self.log_var_scale.zero_()
        return self

    @torch.no_grad()
    def calibrate_variance(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
                           threshold: float | None = None, var_smoothing: float = 1e-3,
                           balance: str = "classes") -> "FactorisedGaussian":
        """Set the held-out variance scale kappa (module docstring) from the training features:
        each training class's own variance against its pooled variance fitted without it."""
        X = X.float()
        held = self
        if self.held_out_var.shape[0] == 0:   # no held-out fits yet: make them aside
            held = FactorisedGaussian(attributes.shape[1], X.shape[1],
                                      codes=self.codes).to(X.device)
            held.fit_held_out(X, y, attributes, threshold, var_smoothing, balance)
        self.log_var_scale.copy_(held_out_log_scale(X, y, var_smoothing,
                                                    lambda c: held.held_out_var[c]))
        return self

    @torch.no_grad()
    def fit_held_out(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
                     threshold: float | None = None, var_smoothing: float = 1e-3,
                     balance: str = "classes") -> "FactorisedGaussian":
        """Fit as :meth:`fit` does (the parts every class draws from), and for every class c in
        ``y`` also the pooled Gaussian of ``attributes[c]`` fitted without c's rows: one closed
        form per training class. Classes without rows keep the full fit's mean and variance."""
        self.fit(X, y, attributes, threshold, var_smoothing, balance)
        A = attributes.float()
        mean, var = self(A)                     # fresh tensors: rows are replaced below
        scratch = FactorisedGaussian(A.shape[1], X.shape[1], codes=self.codes).to(X.device)
        for c in torch.unique(y).tolist():
            keep = y != c
            if not bool(keep.any()):
                continue
            scratch.fit(X[keep], y[keep], A, threshold, var_smoothing, balance)
            m_c, v_c = scratch(A[c:c + 1])
            mean[c], var[c] = m_c[0], v_c[0]
        self.held_out_mean = mean
        self.held_out_var = var
        return self

    def binarise(self, a: torch.Tensor) -> torch.Tensor:
        """(n, m) attributes -> (n, m) float codes: b = [a > t], or soft codes in [0, 1]."""
        return attribute_codes(a.to(self.mean_parts.dtype), self.codes, self.threshold,
                               self.code_low, self.code_high)

    def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, m) attributes -> pooled mean (n, d) and variance (n, d)."""
        mean, var = pool_parts(self.binarise(a), self.weight(), self.mean_parts,
                               self.log_var_parts)
        return mean, var * torch.exp(self.log_var_scale)

    def weight(self) -> torch.Tensor:
        """(m,) how much each attribute's parts count in the pool (0 where uninformative)."""
        return self.informative * torch.exp(self.log_weight)

    def moments(self, a: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled mean and variance (n, d) of each row of a; with the rows' classes ``y`` and a
        :meth:`fit_held_out`, each row's class-held-out ones."""
        if y is not None and self.held_out_mean.shape[0] > 0:
            return self.held_out_mean[y], self.held_out_var[y] * torch.exp(self.log_var_scale)
        return self(a)

    def sample(self, a: torch.Tensor, rng: torch.Generator,
               y: torch.Tensor | None = None) -> torch.Tensor:
        """One draw x ~ N(mean(a), diag var(a)) per row of a (n, m): (n, d). With the rows'
        classes ``y`` and a :meth:`fit_held_out`, each row draws from its class-held-out fit."""
        if y is None:  # pool each distinct row once (synthesis repeats a class's row n times)
            rows, inverse = torch.unique(a, dim=0, return_inverse=True)
            mean, var = (t[inverse] for t in self.moments(rows))
        else:
            mean, var = self.moments(a, y)
        eps = torch.randn(mean.shape, generator=rng, device=mean.device, dtype=mean.dtype)
        return mean + var.sqrt() * eps
