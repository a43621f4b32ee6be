"""EBGAN (Zhao, Mathieu, LeCun 2017): an auto-encoder critic whose energy is its reconstruction
error D(x) = ||Dec(Enc(x, a)) - x||^2 / d (see :class:`anyshot.nn.critic.AutoEncoderCritic`).

    L_D = E[D(x_real)] + E[max(0, m - D(x_fake))]
    L_G = E[D(x_fake)] + w_pt * PT(S)

with the pull-away term over the encoder codes S of the N generated samples,

    PT(S) = 1 / (N (N - 1)) * sum_{i != j} ( S_i^T S_j / (||S_i|| ||S_j||) )^2,

which pushes generated samples apart (against mode collapse). Margin m and w_pt are parameters.
"""

from __future__ import annotations

from typing import Any

import torch

from anyshot.nn.critic import CriticOutput
from anyshot.objectives.base import (
    AdversarialObjective,
    LossTerms,
    OptimizerSpec,
    register_objective,
)


def pull_away_term(codes: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """PT(S) for codes (N, k): mean squared cosine similarity over ordered pairs i != j."""
    n = codes.shape[0]
    if n < 2:
        return codes.new_zeros(())
    unit = codes / codes.norm(dim=1, keepdim=True).clamp_min(eps)
    cos2 = (unit @ unit.T).pow(2)
    off_diagonal = cos2.sum() - cos2.diagonal().sum()
    return off_diagonal / (n * (n - 1))


@register_objective
class EBGAN(AdversarialObjective):
    """Energy-based GAN with a hinge margin on fake energies and the pull-away term."""

    name = "ebgan"
    critic_kind = "autoencoder"
    default_optimizer = OptimizerSpec("adam", 1e-4, (0.5, 0.999))

    def __init__(self, margin: float = 1.0, pt_weight: float = 0.1) -> None:
        self.margin = float(margin)
        self.pt_weight = float(pt_weight)

    def params(self) -> dict[str, Any]:
        return {"margin": self.margin, "pt_weight": self.pt_weight}

    def critic_loss(self, real_out: CriticOutput, fake_out: CriticOutput) -> LossTerms:
        e_real = real_out.energy.mean()
        hinge = torch.relu(self.margin - fake_out.energy).mean()
        e_real_d = e_real.detach()
        e_fake = fake_out.energy.mean().detach()
        return LossTerms(e_real + hinge, {
            "energy_real": e_real_d, "energy_fake": e_fake, "energy_gap": e_fake - e_real_d,
            "penalty": hinge.detach(),
        })

    def generator_loss(self, fake_out: CriticOutput) -> LossTerms:
        energy = fake_out.energy.mean()
        pt = pull_away_term(fake_out.code)
        loss = energy + self.pt_weight * pt
        return LossTerms(loss, {"generator_adv": energy.detach(), "pull_away": pt.detach()})
