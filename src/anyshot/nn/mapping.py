"""SRWGAN's non-redundant mapping M, which is also its critic (Feng et al., TIP 2022, Sec. III-B).

M encodes a visual feature x (n, d) into a Gaussian code, an information bottleneck:

    e     = LeakyReLU_0.2(W_e x + b_e)          in R^2L
    mu    = e[:L],   sigma = sigmoid(e[L:])
    z     = mu + sigma * eps,   eps ~ N(0, I)

and judges (x, a) from the code:

* ``kind="score"`` (WGAN, WGAN-GP):     D(x, a) = w_d^T [z, a] + b_d
* ``kind="autoencoder"`` (EBGAN):       energy(x, a) = ||W_r [z, a] + b_r - x||^2 / d

With ``use_mean=True`` the critic reads mu instead of z (SRWGAN's generator loss does). The final
classifier is trained on mu (:meth:`NonRedundantMapping.encode`). The autoencoder decoder reads
[z, a] rather than z alone so that the EBGAN critic stays class-conditional, like D(x, a).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from anyshot.errors import check_choice
from anyshot.nn.critic import CRITIC_KINDS, CriticOutput

__all__ = ["MappingOutput", "NonRedundantMapping"]


class MappingOutput(NamedTuple):
    """M's code of a batch, each (n, L): mean mu, scale sigma, sample z (= mu if not drawn)."""

    mu: torch.Tensor
    sigma: torch.Tensor
    z: torch.Tensor


class NonRedundantMapping(nn.Module):
    """M: x (n, d) -> Gaussian code (n, L), and the critic of (x, a) built on that code."""

    def __init__(self, feature_dim: int, attr_dim: int, latent: int, kind: str = "score") -> None:
        super().__init__()
        check_choice("critic kind", kind, CRITIC_KINDS)
        self.kind = kind
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(feature_dim, 2 * latent), nn.LeakyReLU(0.2))
        # "score" critics read [z, a] into one score; "autoencoder" critics reconstruct x from it.
        out_dim = 1 if kind == "score" else feature_dim
        self.head = nn.Linear(latent + attr_dim, out_dim)

    def encode(self, x: torch.Tensor, rng: torch.Generator | None = None) -> MappingOutput:
        """x (n, d) -> mu, sigma, z; z is drawn with eps from ``rng``, or equals mu without one."""
        e = self.encoder(x)
        mu, sigma = e[:, :self.latent], torch.sigmoid(e[:, self.latent:])
        if rng is None:
            return MappingOutput(mu, sigma, mu)
        eps = torch.randn(mu.shape, generator=rng, device=mu.device, dtype=mu.dtype)
        return MappingOutput(mu, sigma, mu + sigma * eps)

    def judge(self, code: MappingOutput, x: torch.Tensor, a: torch.Tensor, *,
              use_mean: bool = False) -> CriticOutput:
        """The critic's output for features x (n, d) already encoded as ``code``; ``code=mu``."""
        h = torch.cat([code.mu if use_mean else code.z, a], dim=1)
        if self.kind == "score":
            return CriticOutput(score=self.head(h).squeeze(1), code=code.mu, sigma=code.sigma)
        energy = (self.head(h) - x).pow(2).mean(dim=1)
        return CriticOutput(energy=energy, code=code.mu, sigma=code.sigma)

    def forward(self, x: torch.Tensor, a: torch.Tensor, rng: torch.Generator | None = None, *,
                use_mean: bool = False) -> CriticOutput:
        """D(x, a) from z (drawn from ``rng``), or from mu with ``use_mean=True`` or no ``rng``."""
        return self.judge(self.encode(x, None if use_mean else rng), x, a, use_mean=use_mean)
