"""The variational information bottleneck on SRWGAN's mapping M (a constrained KL).

M's code z ~ N(mu, diag(sigma^2)) is kept close to the prior N(0, I) by the constraint
E[KL] <= i_c, enforced with a Lagrange multiplier beta updated by dual ascent:

    KL(x)  = 0.5 * sum_l ( mu_l^2 + sigma_l^2 - log(sigma_l^2 + 1e-8) - 1 )
    L_D   += beta * (E[KL] - i_c)
    beta  <- max(0, beta + step * (E[KL] - i_c))        after each critic step (step = 1e-6)
"""

from __future__ import annotations

import torch

__all__ = ["DualAscentMultiplier", "gaussian_kl"]


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

    def penalty(self, kl: torch.Tensor) -> torch.Tensor:
        """beta * (kl - bound), the Lagrangian term added to the critic loss (kl: scalar)."""
        return self.beta * (kl - self.bound)

    def update(self, kl: torch.Tensor | float) -> torch.Tensor:
        """beta <- max(0, beta + step * (kl - bound)); returns the new beta (a new tensor, so a
        penalty computed with the old one can still be back-propagated)."""
        beta = torch.as_tensor(self.beta, dtype=torch.float32)
        kl = torch.as_tensor(kl, device=beta.device).detach().to(beta.dtype)
        self.beta = torch.clamp(beta + self.step * (kl - self.bound), min=0.0)
        return self.beta

    def state_dict(self) -> dict[str, float]:
        return {"beta": float(self.beta)}

    def load_state_dict(self, state: dict[str, float]) -> None:
        device = self.beta.device if torch.is_tensor(self.beta) else None
        self.beta = torch.tensor(float(state["beta"]), device=device)

    def __repr__(self) -> str:
        return (f"DualAscentMultiplier(bound={self.bound}, step={self.step}, "
                f"beta={float(self.beta)})")
