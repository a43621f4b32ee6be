"""Composed Gaussian: the factorised Gaussian's per-attribute-value parts, trained further by the
adversarial game, with correlations that compose as well (``prior: composed``).

The closed form (:class:`~anyshot.nn.factorised_gaussian.FactorisedGaussian`, its parts m^cf,
log s2^cf fitted on the training features) is the starting point; training moves each part by
a learnt offset and learns a low-rank correlation factor per attribute value:

    m_kv     = m^cf_kv + dm_kv,    log s2_kv = log s2^cf_kv + dl_kv      (dm = dl = 0 at first)
    F_kv     in R^{d x r}                                                  (0 at first)
    mean(b), var(b)  pooled from the parts of b's values by precision (as the closed form)
    F(b)     = sum_k w_k F_{k b_k} / sum_k w_k
    x        = mean(b) + sqrt(var(b)) * eps + F(b) u,      eps ~ N(0, I_d), u ~ N(0, I_r)

Every part is shared by all classes with that attribute value, so what the critic teaches it on
seen classes is what an unseen combination is built from; nothing in the model belongs to one
class. The correlation factor lets the whole distribution of a class (not only its diagonal)
follow the real one, and compose.

``learn="shared"`` trains less: no per-value offsets, one correlation factor F for every class,
and (in both modes) a log-variance offset s in R^d shared by every class,

    var(b) <- exp(s) * var(b)

With a dozen training classes, per-value offsets have enough freedom to fit each class's own
error; shared parameters can only learn what is common to all of them -- for instance that a
class pooled from per-value parts is wider than a real class (each part's variance includes the
spread between the classes that have the value).

Leave-class-out training (``fit_held_out``, the ``prior_holdout`` switch). Pooled from parts
that its own features helped fit, a seen class is an in-sample fit, unlike an unseen one. With
held-out fits, the training draws of class c start from the closed form fitted without c and
add what training has changed in c's pooled moments:

    mean_c    = mean^cf,-c(b_c) + [mean(b_c) - mean^cf(b_c)]
    log var_c = log var^cf,-c(b_c) + [log var(b_c) - log var^cf(b_c)]

so the learnt offsets are judged where the closed form extrapolates, as it must for every
unseen class. Synthesis (no ``y``) draws from the full model.

``moments`` returns the closed form's moments (class-held-out ones with ``y``): the reference
that ``prior_anchor`` holds the generated class means near.
"""

from __future__ import annotations

import torch
from torch import nn

from anyshot.errors import check_choice
from anyshot.nn.factorised_gaussian import FactorisedGaussian, pool_parts

__all__ = ["LEARN", "ComposedGaussian"]

LEARN = ("parts", "shared")


class ComposedGaussian(nn.Module):
    """Closed-form factorised Gaussian plus learnt part offsets and correlation factors.

    Args:
        attr_dim: m, the number of attributes.
        feature_dim: d, the feature dimension.
        rank: r, the width of each correlation factor (0: diagonal only).
        learn: ``parts`` (per-value offsets and factors) or ``shared`` (one factor for all
            classes); the shared log-variance offset is learnt in both.
    """

    def __init__(self, attr_dim: int, feature_dim: int, rank: int = 8,
                 learn: str = "parts") -> None:
        super().__init__()
        check_choice("prior_learn", learn, LEARN)
        self.learn = learn
        per_value = learn == "parts"
        self.closed = FactorisedGaussian(attr_dim, feature_dim, trainable=False)
        self.delta_mean = nn.Parameter(torch.zeros(2, attr_dim, feature_dim),
                                       requires_grad=per_value)
        self.delta_log_var = nn.Parameter(torch.zeros(2, attr_dim, feature_dim),
                                          requires_grad=per_value)
        self.shared_log_var = nn.Parameter(torch.zeros(feature_dim))
        self.rank = int(rank)
        self.factors = nn.Parameter(torch.zeros(2, attr_dim, feature_dim * self.rank)
                                    if per_value else torch.zeros(feature_dim * self.rank))

    # ------------------------------------------------------------------ fitting
    @torch.no_grad()
    def fit(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
            threshold: float | None = None, var_smoothing: float = 1e-3) -> "ComposedGaussian":
        """The closed form on the training features (the offsets and factors are kept)."""
        self.closed.fit(X, y, attributes, threshold, var_smoothing)
        return self

    @torch.no_grad()
    def fit_held_out(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
                     threshold: float | None = None, var_smoothing: float = 1e-3
                     ) -> "ComposedGaussian":
        """The closed form, and for every training class the one fitted without it
        (:meth:`FactorisedGaussian.fit_held_out`): training draws start from those."""
        self.closed.fit_held_out(X, y, attributes, threshold, var_smoothing)
        return self

    def calibrate_variance(self, X: torch.Tensor, y: torch.Tensor, attributes: torch.Tensor,
                           threshold: float | None = None, var_smoothing: float = 1e-3
                           ) -> "ComposedGaussian":
        """The closed form's held-out variance scale
        (:meth:`FactorisedGaussian.calibrate_variance`), under the learnt offsets."""
        self.closed.calibrate_variance(X, y, attributes, threshold, var_smoothing)
        return self

    # ------------------------------------------------------------------ the model
    def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, m) attributes -> the trained model's pooled mean and variance (n, d)."""
        c = self.closed
        mean, var = pool_parts(c.binarise(a), c.weight(), c.mean_parts + self.delta_mean,
                               c.log_var_parts + self.delta_log_var)
        return mean, var * torch.exp(self.shared_log_var + c.log_var_scale)

    def factor(self, a: torch.Tensor) -> torch.Tensor:
        """F(b): (n, m) attributes -> (n, d, r), the weighted mean of the values' factors (the
        one shared factor with ``learn="shared"``)."""
        if self.learn == "shared":
            return self.factors.view(1, -1, self.rank).expand(a.shape[0], -1, -1)
        c = self.closed
        b, w = c.binarise(a), c.weight()
        F = ((b * w) @ self.factors[1] + ((1.0 - b) * w) @ self.factors[0]) / w.sum()
        return F.view(a.shape[0], -1, self.rank)

    def moments(self, a: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The closed form's pooled mean and variance (class-held-out ones with ``y`` after
        :meth:`fit_held_out`): the anchor's reference."""
        return self.closed.moments(a, y)

    def draw_moments(self, a: torch.Tensor, y: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and variance (n, d) that draws for a come from: the trained model's, or, for
        training classes ``y`` with held-out fits, the held-out closed form moved by what
        training has changed (module docstring)."""
        mean, var = self(a)
        if y is None or self.closed.held_out_mean.shape[0] == 0:
            return mean, var
        cf_mean, cf_var = self.closed(a)
        held_mean, held_var = self.closed.moments(a, y)
        return held_mean + (mean - cf_mean), held_var * (var / cf_var)

    def sample(self, a: torch.Tensor, rng: torch.Generator,
               y: torch.Tensor | None = None) -> torch.Tensor:
        """One draw per row of a (n, m): mean + sqrt(var) * eps + F u, (n, d)."""
        mean, var = self.draw_moments(a, y)
        eps = torch.randn(mean.shape, generator=rng, device=mean.device, dtype=mean.dtype)
        x = mean + var.sqrt() * eps
        if self.rank > 0:
            u = torch.randn(a.shape[0], self.rank, 1, generator=rng, device=mean.device,
                            dtype=mean.dtype)
            x = x + (self.factor(a) @ u).squeeze(2)
        return x
