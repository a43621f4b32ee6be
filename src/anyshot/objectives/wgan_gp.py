"""WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with a gradient penalty.

    L_D = E[D(x_fake, a)] - E[D(x_real, a)] + lambda * E[(||grad_x_hat D(x_hat, a)||_2 - 1)^2]
    L_G = -E[D(x_fake, a)]

with x_hat = alpha x_real + (1 - alpha) x_fake, alpha ~ U(0, 1) per sample, lambda = 10. The
critic has no batch norm; the paper's optimizer is Adam(1e-4, betas=(0.5, 0.9)).
"""

from __future__ import annotations

from typing import Any

import torch

from anyshot.objectives.base import Critic, LossTerms, OptimizerSpec, register_objective
from anyshot.objectives.wgan import WassersteinObjective


def gradient_penalty(
    critic: Critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    attributes: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """E[(||grad D(x_hat, a)||_2 - 1)^2] on random interpolates x_hat of real (n, d) and
    fake (n, d)."""
    alpha = torch.rand(real.shape[0], 1, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    score = critic(x_hat, attributes).score
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return (grad.norm(2, dim=1) - 1.0).pow(2).mean()


@register_objective
class WGANGP(WassersteinObjective):
    """Wasserstein loss with a gradient penalty of weight ``gp_weight`` (lambda)."""

    name = "wgan-gp"
    default_optimizer = OptimizerSpec("adam", 1e-4, (0.5, 0.9))

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = float(gp_weight)

    def params(self) -> dict[str, Any]:
        return {"gp_weight": self.gp_weight}

    def penalty(self, critic, real, fake, attributes, generator) -> LossTerms:
        """lambda * E[(||grad D(x_hat, a)||_2 - 1)^2]; logged unweighted as ``penalty``."""
        gp = gradient_penalty(critic, real, fake, attributes, generator)
        return LossTerms(self.gp_weight * gp, {"penalty": gp.detach()})
