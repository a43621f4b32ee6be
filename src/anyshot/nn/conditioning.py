"""How a generator reads the class attributes: the conditioner and the optional feature prior.

``conditioning: attributes`` (the papers' choice) feeds the attribute vector a itself to the
generator's MLP. With few training classes that MLP sees few distinct conditions and has no
reason to extrapolate to a new combination of attribute values. ``conditioning: compositional``
feeds a code assembled from learned per-attribute-value parts instead,

    h(a) = (1 / m) sum_k [ a_k E1_k + (1 - a_k) E0_k ]           E0_k, E1_k in R^c

so for binary attributes h is the mean of the parts of the class's values, each part trained by
every training class sharing that value; continuous attributes interpolate between the two.

``prior: factorised-gaussian`` adds a closed-form feature model
(:class:`~anyshot.nn.factorised_gaussian.FactorisedGaussian`) under the generator:

    x = out( mean(a) + sqrt(var(a)) * eps + MLP([z, h(a)]) ),     eps ~ N(0, I_d)

with the MLP's last layer starting at zero, so training starts from the composed Gaussians and
the adversarial game learns a correction (and, with ``prior_trainable``, moves the parts). With
``prior_holdout`` the training draws of a class come from a prior fitted without that class, so
the correction is learnt where the prior extrapolates, as it does for every unseen class.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from anyshot.errors import check_choice
from anyshot.nn.composed_gaussian import ComposedGaussian
from anyshot.nn.factorised_gaussian import FactorisedGaussian

__all__ = ["CONDITIONINGS", "CORRECTIONS", "PRIORS", "CompositionalEmbedding", "SemanticInput",
           "semantic_input"]

CONDITIONINGS = ("attributes", "compositional")
PRIORS = ("none", "factorised-gaussian", "composed")
CORRECTIONS = ("mlp", "none")


class CompositionalEmbedding(nn.Module):
    """h(a) = (E1 a + E0 (1 - a)) / m: (n, m) attributes -> (n, c) code (two bias-free linears)."""

    def __init__(self, attr_dim: int, code_dim: int) -> None:
        super().__init__()
        self.attr_dim = attr_dim
        self.present = nn.Linear(attr_dim, code_dim, bias=False)   # E1
        self.absent = nn.Linear(attr_dim, code_dim, bias=False)    # E0

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return (self.present(a) + self.absent(1.0 - a)) / self.attr_dim


class SemanticInput(nn.Module):
    """The conditioner and prior of a generator.

    ``condition(a)`` is what the generator's MLP reads (a itself, or h(a)); ``prior_sample(a,
    rng)`` is the prior's draw (n, d), or ``None`` without a prior.
    """

    def __init__(self, attr_dim: int, feature_dim: int, conditioning: str = "attributes",
                 code_dim: int = 64, prior: str = "none", prior_trainable: bool = False,
                 prior_rank: int = 8, prior_learn: str = "parts") -> None:
        super().__init__()
        check_choice("conditioning", conditioning, CONDITIONINGS)
        check_choice("prior", prior, PRIORS)
        self.embedding = (CompositionalEmbedding(attr_dim, code_dim)
                          if conditioning == "compositional" else None)
        self.out_dim = code_dim if self.embedding is not None else attr_dim
        self.prior: FactorisedGaussian | ComposedGaussian | None = None
        if prior == "factorised-gaussian":
            self.prior = FactorisedGaussian(attr_dim, feature_dim, prior_trainable)
        elif prior == "composed":
            self.prior = ComposedGaussian(attr_dim, feature_dim, prior_rank, prior_learn)

    def condition(self, a: torch.Tensor) -> torch.Tensor:
        return a if self.embedding is None else self.embedding(a)

    def prior_sample(self, a: torch.Tensor, rng: torch.Generator,
                     y: torch.Tensor | None = None) -> torch.Tensor | None:
        """The prior's draw for attributes a; ``y`` (the rows' classes, training draws only)
        selects class-held-out fits where the prior has them."""
        return None if self.prior is None else self.prior.sample(a, rng, y)


def semantic_input(config: Any, attr_dim: int, feature_dim: int) -> SemanticInput:
    """The :class:`SemanticInput` a generative method's config asks for."""
    return SemanticInput(attr_dim, feature_dim, config.conditioning, config.code_dim,
                         config.prior, config.prior_trainable, config.prior_rank,
                         config.prior_learn)


def start_from_prior(net: nn.Sequential | None, semantic: SemanticInput) -> None:
    """With a prior, zero the last linear layer of the generator's MLP: G starts as the prior."""
    if semantic.prior is None or net is None:
        return
    last = [m for m in net.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        if last.bias is not None:
            last.bias.zero_()
