"""WGAN with weight clipping (Arjovsky, Chintala, Bottou 2017).

    L_D = E[D(x_fake, a)] - E[D(x_real, a)]
    L_G = -E[D(x_fake, a)]

After every critic update each critic parameter is clipped to [-c, c] (c = 0.01), a crude way to
keep D Lipschitz. The paper trains with RMSProp (lr 5e-5), the default optimizer here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from anyshot.nn.critic import CriticOutput
from anyshot.objectives.base import (
    AdversarialObjective,
    LossTerms,
    OptimizerSpec,
    register_objective,
)

__all__ = ["WGAN", "WassersteinObjective", "wasserstein_critic_loss",
           "wasserstein_generator_loss"]


def wasserstein_critic_loss(real_out: CriticOutput, fake_out: CriticOutput) -> LossTerms:
    """E[D(x_fake, a)] - E[D(x_real, a)] from the critic's scores (n,) on both batches."""
    d_real = real_out.score.mean()
    d_fake = fake_out.score.mean()
    return LossTerms(d_fake - d_real, {"wasserstein": (d_real - d_fake).detach()})


def wasserstein_generator_loss(fake_out: CriticOutput) -> LossTerms:
    """-E[D(x_fake, a)] from the critic's scores (n,) on the fakes."""
    loss = -fake_out.score.mean()
    return LossTerms(loss, {"generator_adv": loss.detach()})


class WassersteinObjective(AdversarialObjective):
    """The Wasserstein losses on a score critic; subclasses keep D Lipschitz their own way."""

    critic_kind = "score"

    def critic_loss(self, real_out: CriticOutput, fake_out: CriticOutput) -> LossTerms:
        return wasserstein_critic_loss(real_out, fake_out)

    def generator_loss(self, fake_out: CriticOutput) -> LossTerms:
        return wasserstein_generator_loss(fake_out)


@register_objective
class WGAN(WassersteinObjective):
    """Wasserstein loss with critic weights clipped to [-clip_value, clip_value]."""

    name = "wgan"
    default_optimizer = OptimizerSpec("rmsprop", 5e-5)

    def __init__(self, clip_value: float = 0.01) -> None:
        self.clip_value = float(clip_value)

    def params(self) -> dict[str, Any]:
        return {"clip_value": self.clip_value}

    @torch.no_grad()
    def after_critic_step(self, critic: nn.Module) -> None:
        for p in critic.parameters():
            p.clamp_(-self.clip_value, self.clip_value)
