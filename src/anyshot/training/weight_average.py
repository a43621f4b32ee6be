"""Exponential moving average of a generator's weights (Polyak averaging, as in progressive GANs
and BigGAN's "EMA of G"):

    theta_avg <- decay * theta_avg + (1 - decay) * theta          after every generator step

Synthesis reads theta_avg instead of the last iterate. An adversarial game oscillates around its
equilibrium; the average sits closer to it and moves slowly, so a validation curve over epochs
is smooth and an epoch chosen on one training run transfers to a fresh run of the same recipe.
The update is one fused on-device op per step (no host sync).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn

__all__ = ["WeightAverage"]


class WeightAverage:
    """Shadow copies of ``params`` that follow them with ``decay`` in [0, 1).

    ``decay = 0`` makes the average the last iterate (the same numbers as no averaging)."""

    def __init__(self, params: Iterable[nn.Parameter], decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}.")
        self.params = [p for p in params]
        self.decay = float(decay)
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        """theta_avg <- theta_avg + (1 - decay) (theta - theta_avg)."""
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1.0 - self.decay)

    @contextlib.contextmanager
    @torch.no_grad()
    def applied(self) -> Iterator[None]:
        """Inside the block the parameters hold the average; the last iterate comes back after."""
        saved = [p.detach().clone() for p in self.params]
        torch._foreach_copy_([p.data for p in self.params], self.shadow)
        try:
            yield
        finally:
            torch._foreach_copy_([p.data for p in self.params], saved)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {str(i): s for i, s in enumerate(self.shadow)}

    @torch.no_grad()
    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if len(tensors) != len(self.shadow):
            raise ValueError(f"the saved average has {len(tensors)} tensors, the model "
                             f"{len(self.shadow)}.")
        for i, s in enumerate(self.shadow):
            s.copy_(tensors[str(i)])
