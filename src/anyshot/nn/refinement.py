"""SRWGAN's semantic refinement generator G (Feng et al., TIP 2022, Sec. III-A).

Each Gaussian head k refines the class attribute a into a stochastic code:

    h_k   = LeakyReLU_0.2(W_k a + b_k)                    in R^nz
    mu_k  = h_k[:nz/2],   sigma_k = sigmoid(h_k[nz/2:])
    z_k   = mu_k + sigma_k * eps,   eps ~ N(0, I)         (reparameterized)

The refined semantics a* = [z_1, z_2, z_3, a] (the paper's [a_ddagger, a_dagger, a', a]) drive a
one-hidden-layer feature generator

    x = out( W_o LeakyReLU_0.2(W_h a* + b_h) + b_o ).

There is no separate noise input: the heads are the stochastic part. Every random draw comes from
a ``torch.Generator`` the caller passes in.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from anyshot.errors import ConfigError
from anyshot.nn.conditioning import SemanticInput
from anyshot.nn.generator import output_activation

__all__ = ["GaussianHead", "HeadOutput", "RefinementOutput", "SemanticRefinementGenerator"]


class HeadOutput(NamedTuple):
    """One Gaussian head's output, each (n, nz/2): the code z, its mean mu and scale sigma."""

    z: torch.Tensor
    mu: torch.Tensor
    sigma: torch.Tensor


class GaussianHead(nn.Module):
    """a (n, m) -> z = mu + sigma * eps (n, nz/2), with mu, sigma read off one LeakyReLU layer."""

    def __init__(self, attr_dim: int, nz: int) -> None:
        super().__init__()
        if nz < 2 or nz % 2:
            raise ConfigError(
                f"nz must be an even number >= 2 (each head emits nz/2 dims), got {nz}.")
        self.half = nz // 2
        self.linear = nn.Linear(attr_dim, nz)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, a: torch.Tensor, rng: torch.Generator) -> HeadOutput:
        h = self.act(self.linear(a))
        mu, sigma = h[:, :self.half], torch.sigmoid(h[:, self.half:])
        eps = torch.randn(mu.shape, generator=rng, device=mu.device, dtype=mu.dtype)
        return HeadOutput(mu + sigma * eps, mu, sigma)


class RefinementOutput(NamedTuple):
    """What G returns: features x (n, d) and, per head k, the code z[k] and mean mu[k] (n, nz/2)."""

    x: torch.Tensor
    z: tuple[torch.Tensor, ...]
    mu: tuple[torch.Tensor, ...]


class SemanticRefinementGenerator(nn.Module):
    """x = G(a): ``n_heads`` Gaussian heads refine a, then an MLP maps [z_1..z_K, a] to features.

    Args:
        attr_dim: m, the attribute dimension.
        nz: width of each head's hidden layer (each head emits nz/2 dims).
        hidden: ngh, the hidden width of the feature MLP (4096 in the paper).
        feature_dim: d, the feature dimension.
        out: output activation (relu | sigmoid | none).
        n_heads: 3 in the paper; 1 for the single-head ablation.
        semantic: the conditioner c(a) that heads and MLP read instead of a, and the optional
            prior whose draw is added before ``out`` (:mod:`anyshot.nn.conditioning`).
    """

    def __init__(self, attr_dim: int, nz: int, hidden: int, feature_dim: int, out: str = "relu",
                 n_heads: int = 3, semantic: SemanticInput | None = None) -> None:
        super().__init__()
        if n_heads < 1:
            raise ConfigError(f"n_heads must be >= 1, got {n_heads}.")
        self.semantic = semantic if semantic is not None else SemanticInput(attr_dim, feature_dim)
        cond = self.semantic.out_dim
        self.heads = nn.ModuleList(GaussianHead(cond, nz) for _ in range(n_heads))
        self.net = nn.Sequential(
            nn.Linear(n_heads * (nz // 2) + cond, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, feature_dim),
        )
        self.out = output_activation(out)

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    def forward(self, a: torch.Tensor, rng: torch.Generator,
                y: torch.Tensor | None = None) -> RefinementOutput:
        """a (n, m) -> :class:`RefinementOutput`; eps of every head is drawn from ``rng``. ``y``:
        the rows' classes in a training step (a class-held-out prior draws by class)."""
        c = self.semantic.condition(a)
        outs = [head(c, rng) for head in self.heads]
        x = self.net(torch.cat([o.z for o in outs] + [c], dim=1))
        if self.semantic.prior is not None:
            x = x + self.semantic.prior_sample(a, rng, y)
        x = self.out(x)
        return RefinementOutput(x, tuple(o.z for o in outs), tuple(o.mu for o in outs))
