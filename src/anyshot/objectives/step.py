"""What one adversarial training step hands to the loss terms: the batch and the step outputs.

A term is a function of a step's outputs (:class:`CriticStep` or :class:`GeneratorStep`) that
returns :class:`~anyshot.objectives.base.LossTerms` (a weighted loss and its detached logs), or
``None`` where it does not apply; the loop that makes the steps is
:class:`anyshot.training.trainer.Trainer`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch

from anyshot.nn.critic import CriticOutput
from anyshot.objectives.base import LossTerms

__all__ = ["Batch", "CriticStep", "GeneratorStep", "Term"]

Term = Callable[[Any], "LossTerms | None"]
"""A loss term: step outputs (:class:`CriticStep` or :class:`GeneratorStep`) -> weighted loss and
its detached logs, or ``None`` when it does not apply to this model."""


class Batch(NamedTuple):
    """One training batch: features (B, d), class indices (B,), attributes (B, m)."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor


class CriticStep(NamedTuple):
    """What one critic step computed, for the method's critic terms: the batch, the detached
    fakes (B, d) and the critic's outputs on the real and on the fake features."""

    batch: Any
    fake: torch.Tensor
    real_out: CriticOutput
    fake_out: CriticOutput


class GeneratorStep(NamedTuple):
    """What one generator step computed, for the method's generator terms: the batch, the fakes
    (B, d), the generator's full output behind them (``None`` for a plain generator; SRWGAN's
    head codes), the critic's output on the fakes and the epoch (from 1)."""

    batch: Any
    fake: torch.Tensor
    generation: Any
    fake_out: CriticOutput
    epoch: int
