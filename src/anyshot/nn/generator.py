"""Conditional feature generator of f-CLSWGAN: x_fake = G(z, a).

    G(z, a) = out( W_2 LeakyReLU_0.2(W_1 [z, a] + b_1) + b_2 ),   z ~ N(0, I_nz)

``out`` is ReLU by default (CNN features are non-negative after min-max scaling), or sigmoid /
identity for features of other ranges.
"""

from __future__ import annotations

import torch
from torch import nn

from anyshot.errors import ConfigError

OUTPUT_ACTIVATIONS = ("relu", "sigmoid", "none")


def output_activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "none":
        return nn.Identity()
    raise ConfigError(
        f"unknown output activation {name!r}; choose one of {', '.join(OUTPUT_ACTIVATIONS)}."
    )


class ConditionalGenerator(nn.Module):
    """x_fake = G(z, a): (n, nz) noise and (n, m) attributes -> (n, d) features."""

    def __init__(self, attr_dim: int, noise_dim: int, hidden: int, feature_dim: int,
                 out: str = "relu") -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.net = nn.Sequential(
            nn.Linear(noise_dim + attr_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, feature_dim),
            output_activation(out),
        )

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, a], dim=1))
