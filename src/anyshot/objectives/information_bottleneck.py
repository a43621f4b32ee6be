"""The variational information bottleneck on SRWGAN's mapping M (a constrained KL).

M's code z ~ N(mu, diag(sigma^2)) is kept close to the prior N(0, I) by the constraint
E[KL] <= i_c, enforced with a Lagrange multiplier beta updated by dual ascent:

    KL(x)  = 0.5 * sum_l ( mu_l^2 + sigma_l^2 - log(sigma_l^2 + 1e-8) - 1 )
    L_D   += beta * (E[KL] - i_c)
    beta  <- max(0, beta + step * (E[KL] - i_c))        after each critic step (step = 1e-6)
"""

from __future__ import annotations

from typing import Any

import torch

from anyshot.objectives.base import LossTerms

__all__ = ["DualAscentMultiplier", "InformationBottleneck", "gaussian_kl"]


def gaussian_kl(mu: torch.Tensor, sigma: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) per sample: mu, sigma (n, L) -> (n,).

    ``eps`` keeps log(sigma^2) finite when sigma underflows to 0.
    """
    return 0.5 * (mu.pow(2) + sigma.pow(2) - torch.log(sigma.pow(2) + eps) - 1.0).sum(dim=1)


class DualAscentMultiplier:
    """Lagrange multiplier beta >= 0 of the constraint KL <= bound, updated by dual ascent.

    beta is a scalar tensor on the training device and is updated there, so the critic step
    never waits for the host to read the KL.

    Args:
        bound: i_c, the allowed mean KL (information constraint).
        step: dual step size (1e-6 in the paper).
        beta: initial multiplier (0 in the paper).
        device: where beta lives (the training device).
    """

    def __init__(self, bound: float, step: float = 1e-6, beta: float = 0.0,
                 device: str | torch.device | None = None) -> None:
        self.bound = float(bound)
        self.step = float(step)
        self.beta = torch.tensor(float(beta), device=device)

    def penalty(self, kl: torch.Tensor, beta: torch.Tensor | None = None) -> torch.Tensor:
        """beta * (kl - bound), the Lagrangian term added to the critic loss (kl: scalar). It
        holds a copy of beta (or the copy ``beta`` given), so the update that follows may change
        beta in place."""
        return (self.beta.clone() if beta is None else beta) * (kl - self.bound)

    def update(self, kl: torch.Tensor | float) -> torch.Tensor:
        """beta <- max(0, beta + step * (kl - bound)), in place (the tensor stays the same one,
        as a captured CUDA graph needs); returns a copy of the new beta, for the logs."""
        kl = torch.as_tensor(kl, device=self.beta.device).detach().to(self.beta.dtype)
        self.beta.copy_(torch.clamp(self.beta + self.step * (kl - self.bound), min=0.0))
        return self.beta.clone()

    def state_dict(self) -> dict[str, float]:
        return {"beta": float(self.beta)}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.beta.fill_(float(state["beta"]))

    def __repr__(self) -> str:
        return (f"DualAscentMultiplier(bound={self.bound}, step={self.step}, "
                f"beta={float(self.beta)})")


class InformationBottleneck:
    """The critic term beta * (E[KL] - i_c) over M's codes of the real and the fake batch, with
    beta updated by dual ascent after the term is formed (the penalty holds the old beta).

    A term of the training step: ``step.real_out`` / ``step.fake_out`` carry ``code`` (mu) and
    ``sigma`` (n, L). Its control state (beta) is checkpointed with :meth:`state_dict`.
    """

    def __init__(self, bound: float, step: float = 1e-6,
                 device: str | torch.device | None = None) -> None:
        self.multiplier = DualAscentMultiplier(bound, step, device=device)

    def __call__(self, step: Any) -> LossTerms:
        real, fake = step.real_out, step.fake_out
        kl = gaussian_kl(torch.cat([real.code, fake.code]),
                         torch.cat([real.sigma, fake.sigma])).mean()
        beta = self.multiplier.beta.clone()  # this step's beta: the update below is in place
        loss = self.multiplier.penalty(kl, beta)
        logs = {"ib_kl": kl.detach(), "ib_beta": beta}
        self.multiplier.update(kl.detach())
        return LossTerms(loss, logs)

    def state_dict(self) -> dict[str, float]:
        return self.multiplier.state_dict()

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.multiplier.load_state_dict(state)
