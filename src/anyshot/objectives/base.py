"""The adversarial-objective interface and its registry.

An objective is an object chosen by name (``make_objective("wgan-gp")``); a method never checks
which one it was given. It supplies:

* :attr:`critic_kind`: the critic architecture it needs (``"score"`` or ``"autoencoder"``,
  see :mod:`anyshot.nn.critic`);
* :meth:`critic_loss`: the critic's loss from its outputs on a real and a fake batch;
* :meth:`penalty`: a regulariser of the critic that needs the critic itself (WGAN-GP's gradient
  penalty on interpolates); ``None`` for objectives without one;
* :meth:`generator_loss`: the adversarial part of the generator's loss, from the critic's output
  on the fakes;
* :meth:`after_critic_step`: a constraint applied after each critic update (weight clipping);
* :attr:`default_optimizer`: the optimizer its paper trains with.

As in PyTorch-StudioGAN, losses take the critic's outputs, not the critic: the training loop calls
the critic once on the real and once on the fake batch and hands the same outputs to the
objective and to the method's own terms. Losses come back as :class:`LossTerms`: the tensor to
back-propagate plus named detached diagnostics (Wasserstein estimate, penalty, energy gap, ...)
that the training loop records per epoch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable

import torch
from torch import nn

from anyshot.errors import ConfigError
from anyshot.nn.critic import CriticOutput

Critic = Callable[[torch.Tensor, torch.Tensor], CriticOutput]

__all__ = [
    "AdversarialObjective",
    "Critic",
    "LossTerms",
    "OptimizerSpec",
    "OBJECTIVES",
    "make_objective",
    "register_objective",
]


@dataclass(frozen=True)
class LossTerms:
    """A loss to back-propagate and the named diagnostics that go with it (detached scalar
    tensors, kept on the device so that logging never waits for it)."""

    loss: torch.Tensor
    logs: dict[str, torch.Tensor] = field(default_factory=dict)


# Devices whose Adam is fused into one kernel. CUDA only: on a GPU the fused kernel saves launches
# and never reads its step count on the host. On the CPU the default Adam reads it with .item(),
# which costs nothing there, and keeps the CPU numbers of BENCHMARKS.md reproducible (fused CPU
# Adam rounds differently). tests/unit/test_step_syncs.py fuses on the CPU too, to show that a
# step then makes no host sync at all, as it does on a GPU.
FUSED_DEVICES: tuple[str, ...] = ("cuda",)


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer by name with its hyperparameters: ``adam`` (lr, betas) or ``rmsprop`` (lr)."""

    name: str = "adam"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def build(self, params: Iterable[nn.Parameter] | list[dict[str, Any]], *,
              capturable: bool = False) -> torch.optim.Optimizer:
        """The optimizer over ``params`` (parameters, or parameter groups: dicts with
        ``params`` and optionally their own ``lr``): Adam fused into one kernel on the devices of
        :data:`FUSED_DEVICES` (it then never reads its step count on the host), RMSProp over all
        parameters at once (foreach); ``capturable`` keeps the step counts on the device, so
        that its steps can be captured in a CUDA graph."""
        params = list(params)
        flat = ([p for g in params for p in g["params"]]
                if params and isinstance(params[0], dict) else params)
        if self.name == "adam":
            fused = bool(flat) and all(p.device.type in FUSED_DEVICES and p.is_floating_point()
                                       for p in flat)
            return torch.optim.Adam(params, lr=self.lr, betas=self.betas, fused=fused or None,
                                    capturable=capturable)
        if self.name == "rmsprop":
            return torch.optim.RMSprop(params, lr=self.lr, foreach=bool(flat) or None,
                                       capturable=capturable)
        raise ConfigError(f"unknown optimizer {self.name!r}; choose 'adam' or 'rmsprop'.")


class AdversarialObjective(ABC):
    """Base class of adversarial objectives; subclasses register themselves by ``name``."""

    name: ClassVar[str]
    critic_kind: ClassVar[str] = "score"
    default_optimizer: ClassVar[OptimizerSpec] = OptimizerSpec()

    @abstractmethod
    def critic_loss(self, real_out: CriticOutput, fake_out: CriticOutput) -> LossTerms:
        """Loss of the critic from its outputs on a real batch and on a detached fake batch."""

    @abstractmethod
    def generator_loss(self, fake_out: CriticOutput) -> LossTerms:
        """The adversarial part of the generator loss, from the critic's output on fakes."""

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor,
                attributes: torch.Tensor, generator: torch.Generator) -> LossTerms | None:
        """A weighted critic regulariser that evaluates ``critic`` itself on real (n, d) and
        fake (n, d) features conditioned on ``attributes`` (n, m); ``generator`` drives any
        randomness. ``None`` (the default) when the objective has none."""
        return None

    def after_critic_step(self, critic: nn.Module) -> None:
        """A constraint applied after every critic optimizer step (default: none)."""

    def params(self) -> dict[str, Any]:
        """The objective's hyperparameters (recorded with every result)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


OBJECTIVES: dict[str, type[AdversarialObjective]] = {}


def register_objective(cls: type[AdversarialObjective]) -> type[AdversarialObjective]:
    """Class decorator: make an objective available to :func:`make_objective` by its name."""
    OBJECTIVES[cls.name] = cls
    return cls


def make_objective(name: str, **params: Any) -> AdversarialObjective:
    """Build an objective by name; unknown names and parameters are errors naming valid ones."""
    key = name.lower().replace("_", "-")
    if key not in OBJECTIVES:
        raise ConfigError(
            f"unknown adversarial objective {name!r}; "
            f"valid objectives: {', '.join(sorted(OBJECTIVES))}."
        )
    cls = OBJECTIVES[key]
    try:
        return cls(**params)
    except TypeError as exc:
        import inspect

        valid = [p for p in inspect.signature(cls).parameters]
        raise ConfigError(
            f"objective {key!r} got unexpected parameters {sorted(params)}; valid parameters: "
            f"{', '.join(valid) or '(none)'}."
        ) from exc
