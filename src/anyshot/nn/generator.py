"""Conditional feature generator of f-CLSWGAN: x_fake = G(z, a).

    G(z, a) = out( W_2 LeakyReLU_0.2(W_1 [z, c(a)] + b_1) + b_2 [+ prior draw] ),  z ~ N(0, I_nz)

``out`` is ReLU by default (CNN features are non-negative after min-max scaling), or sigmoid /
identity for features of other ranges. c(a) is a itself or a compositional code, and the prior
draw is that of a factorised or composed Gaussian (:mod:`anyshot.nn.conditioning`); both are
optional. With ``correction=False`` there is no MLP: G(z, a) = out(prior draw), the composed
model on its own.
"""

from __future__ import annotations

import torch
from torch import nn

from anyshot.errors import ConfigError, check_choice
from anyshot.nn.conditioning import SemanticInput

OUTPUT_ACTIVATIONS = ("relu", "sigmoid", "none")


def output_activation(name: str) -> nn.Module:
    check_choice("output activation", name, OUTPUT_ACTIVATIONS)
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "none": nn.Identity}[name]()


class ConditionalGenerator(nn.Module):
    """x_fake = G(z, a): (n, nz) noise and (n, m) attributes -> (n, d) features.

    ``semantic`` (optional) supplies the conditioner c(a) and the prior; without it c(a) = a.
    ``correction=False`` (needs a prior) drops the MLP: the output is the prior's draw.
    """

    def __init__(self, attr_dim: int, noise_dim: int, hidden: int, feature_dim: int,
                 out: str = "relu", semantic: SemanticInput | None = None,
                 correction: bool = True) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.semantic = semantic if semantic is not None else SemanticInput(attr_dim, feature_dim)
        if not correction and self.semantic.prior is None:
            raise ConfigError("a generator without its MLP correction needs a prior (set "
                              "method.params.prior=composed or factorised-gaussian).")
        self.net = nn.Sequential(
            nn.Linear(noise_dim + self.semantic.out_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, feature_dim),
        ) if correction else None
        self.out = output_activation(out)

    def forward(self, z: torch.Tensor, a: torch.Tensor, rng: torch.Generator | None = None,
                y: torch.Tensor | None = None) -> torch.Tensor:
        """``rng`` draws the prior's noise; it is required when there is a prior. ``y``: the
        rows' classes in a training step (a class-held-out prior draws by class)."""
        x = 0.0 if self.net is None else self.net(torch.cat([z, self.semantic.condition(a)], 1))
        if self.semantic.prior is not None:
            if rng is None:
                raise ValueError("a generator with a prior needs the random generator `rng`.")
            x = x + self.semantic.prior_sample(a, rng, y)
        return self.out(x)
