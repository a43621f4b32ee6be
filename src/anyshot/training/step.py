"""What one adversarial training step hands around, and how it is set up: the batch and the
step outputs (NamedTuples), the on-device sums of the step logs, the precisions, and the
optimizer settings per objective. The loop itself is :class:`anyshot.training.trainer.Trainer`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import torch

from anyshot.errors import ConfigError
from anyshot.nn.critic import CriticOutput
from anyshot.objectives.base import AdversarialObjective, OptimizerSpec
from anyshot.utils import config_from_dict

__all__ = ["AMP_MODES", "Batch", "CriticStep", "GeneratorStep", "LogSums", "OptimizerSettings",
           "PRECISIONS", "autocast", "optimizer_settings", "optimizer_spec", "resolve_precision"]


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


class LogSums:
    """Running sums of the detached scalar logs of training steps, kept on the device.

    Every step of an epoch logs the same names; :meth:`means` reads all sums to the host at once
    (the epoch's only synchronisation) and divides by the number of steps.
    """

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.total: torch.Tensor | None = None
        self.count = 0

    def add(self, logs: dict[str, torch.Tensor]) -> None:
        if not logs:
            return
        values = torch.stack([v.detach().float() for v in logs.values()])
        if self.total is None:
            self.names, self.total = tuple(logs), values
        elif tuple(logs) != self.names:
            raise RuntimeError(f"a training step logged {sorted(logs)} after {sorted(self.names)}; "
                               "every step of an epoch must log the same names.")
        else:
            self.total = self.total + values
        self.count += 1

    def means(self) -> dict[str, float]:
        if self.total is None:
            return {}
        return dict(zip(self.names, (self.total.double() / self.count).tolist()))


AMP_MODES = ("none", "bf16")
PRECISIONS = ("fp32", "tf32", "bf16")


def resolve_precision(precision: str | None, amp: str, device: torch.device) -> str:
    """The arithmetic in use: ``precision`` if set, else bf16 if ``amp`` asks for it, else tf32
    on CUDA and fp32 elsewhere."""
    if precision is not None:
        return precision
    if amp == "bf16":
        return "bf16"
    return "tf32" if device.type == "cuda" else "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: torch.device, cache: bool = True) -> Iterator[None]:
    """``precision`` for the block: bfloat16 autocast of forward passes for bf16, TF32 matrix
    products for tf32 on CUDA (the global setting is restored after). ``cache=False`` turns off
    autocast's cast cache (required inside CUDA graphs)."""
    tf32 = precision == "tf32" and device.type == "cuda"
    saved = torch.get_float32_matmul_precision()
    if tf32:
        torch.set_float32_matmul_precision("high")
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16",
                            cache_enabled=cache):
            yield
    finally:
        if tf32:
            torch.set_float32_matmul_precision(saved)


@dataclass
class OptimizerSettings:
    """Optimizer settings for one adversarial objective; ``None`` takes the objective's own."""

    lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None


def optimizer_settings(given: Any) -> dict[str, OptimizerSettings]:
    """``{objective name: settings}`` from a config mapping, checked: names must be objectives,
    settings only ``lr``, ``beta1``, ``beta2``."""
    from anyshot.objectives import OBJECTIVES
    from anyshot.utils import check_param_values

    if not isinstance(given, dict):
        raise ConfigError("optimizer must map objective names to settings, e.g. "
                          f"{{wgan-gp: {{lr: 0.0001}}}}; got {given!r}.")
    out = {}
    for name, settings in given.items():
        if name not in OBJECTIVES:
            raise ConfigError(f"optimizer has settings for {name!r}, which is not an objective; "
                              f"valid objectives: {', '.join(sorted(OBJECTIVES))}.")
        if isinstance(settings, dict):
            settings = config_from_dict(OptimizerSettings, settings, f"optimizer.{name}")
        if not isinstance(settings, OptimizerSettings):
            raise ConfigError(f"optimizer.{name} must be a mapping with lr, beta1 and/or beta2; "
                              f"got {settings!r}.")
        check_param_values(settings, f"optimizer.{name}")
        out[name] = settings
    return out


def optimizer_spec(config: Any, objective: AdversarialObjective) -> OptimizerSpec:
    """The optimizer for ``objective`` under a ``GenerativeConfig``: its flat lr/beta1/beta2
    where set, else its
    entry for this objective, else the objective's own default."""
    base = objective.default_optimizer
    scoped = config.optimizer.get(objective.name, OptimizerSettings())

    def pick(flat: float | None, own: float | None, default: float) -> float:
        return flat if flat is not None else own if own is not None else default

    return OptimizerSpec(base.name, pick(config.lr, scoped.lr, base.lr),
                         (pick(config.beta1, scoped.beta1, base.betas[0]),
                          pick(config.beta2, scoped.beta2, base.betas[1])))
