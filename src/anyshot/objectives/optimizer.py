"""Optimizer settings per adversarial objective, and the optimizer a generative config asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anyshot.errors import ConfigError
from anyshot.objectives.base import AdversarialObjective, OptimizerSpec
from anyshot.utils import config_from_dict

__all__ = ["OptimizerSettings", "optimizer_settings", "optimizer_spec"]


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
