"""Critic networks. A critic sees a feature x (n, d) and its class attribute a (n, m).

Two kinds exist, and an adversarial objective says which one it needs
(:attr:`anyshot.objectives.AdversarialObjective.critic_kind`):

* ``"score"``: D(x, a) = w^T LeakyReLU_0.2(W [x, a] + b) + c, an unbounded real score
  (WGAN, WGAN-GP). No batch norm, as WGAN-GP requires.
* ``"autoencoder"``: the EBGAN critic. Encoder e = LeakyReLU_0.2(W_e [x, a] + b_e), decoder
  x_hat = W_d e + b_d; the energy is the reconstruction error D(x, a) = ||x_hat - x||^2 / d.

Both return a :class:`CriticOutput`, so objectives and methods read named fields.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from anyshot.errors import check_choice

CRITIC_KINDS = ("score", "autoencoder")


class CriticOutput(NamedTuple):
    """What a critic returns. Fields a kind does not produce are ``None``.

    score: (n,) real score (higher = more real) of a score critic.
    energy: (n,) energy (lower = more real) of an auto-encoder critic.
    code: (n, k) the code an encoder produced (EBGAN pull-away term, SRWGAN mapping's mean mu).
    sigma: (n, k) the scale of a Gaussian code (SRWGAN's mapping, for its information bottleneck).
    """

    score: torch.Tensor | None = None
    energy: torch.Tensor | None = None
    code: torch.Tensor | None = None
    sigma: torch.Tensor | None = None


class ScoreCritic(nn.Module):
    """D(x, a) -> unbounded score, one hidden layer."""

    kind = "score"

    def __init__(self, feature_dim: int, attr_dim: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(feature_dim + attr_dim, hidden), nn.LeakyReLU(0.2))
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        h = self.body(torch.cat([x, a], dim=1))
        return CriticOutput(score=self.head(h).squeeze(1), code=h)


class AutoEncoderCritic(nn.Module):
    """EBGAN critic: energy = mean squared reconstruction error of x (attribute-conditioned)."""

    kind = "autoencoder"

    def __init__(self, feature_dim: int, attr_dim: int, hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(feature_dim + attr_dim, hidden), nn.LeakyReLU(0.2))
        self.decoder = nn.Linear(hidden, feature_dim)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        code = self.encoder(torch.cat([x, a], dim=1))
        recon = self.decoder(code)
        energy = (recon - x).pow(2).mean(dim=1)
        return CriticOutput(energy=energy, code=code)


def build_critic(kind: str, feature_dim: int, attr_dim: int, hidden: int) -> nn.Module:
    """The default critic of a given kind for a method that has no critic of its own."""
    check_choice("critic kind", kind, CRITIC_KINDS)
    if kind == "score":
        return ScoreCritic(feature_dim, attr_dim, hidden)
    return AutoEncoderCritic(feature_dim, attr_dim, hidden)
