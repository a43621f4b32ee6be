"""What every protocol shares: the :class:`Protocol` contract, how it builds methods
(:class:`MethodFactory`) and what it returns (:class:`~anyshot.evaluation.results.RunResult`).

A protocol decides which data trains, which selects and which is read once:

    result = protocol.run(build, data, seed, progress=..., save_dir=...)

``build(**overrides)`` makes a fresh, unfitted method of the experiment's config, with method
parameters overridden where the protocol chose them on validation (the final classifier, the
epoch length): a protocol never changes a method's config in place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from anyshot.data.dataset import AnyShotData
from anyshot.evaluation.results import RunResult
from anyshot.evaluation.task import Task, tasks_of
from anyshot.methods import Method, make_method
from anyshot.objectives import make_objective
from anyshot.protocols.schedule import Checkpoints, Progress
from anyshot.protocols.settings import EvaluationConfig

__all__ = ["MethodFactory", "Protocol"]


@dataclass(frozen=True)
class MethodFactory:
    """Fresh methods of one config and seed: ``factory(**overrides)``, the overrides replacing
    the named method parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    objective: str | None = None
    objective_params: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    seed: int = 0

    def __call__(self, **overrides: Any) -> Method:
        objective = (make_objective(self.objective, **self.objective_params)
                     if self.objective is not None else None)
        return make_method(self.name, {**self.params, **overrides}, objective=objective,
                           device=self.device, seed=self.seed)


class Protocol(ABC):
    """A way to train and test: the settings of ``evaluation:`` and checkpoints every
    ``checkpoint_every`` epochs (0: none)."""

    name: ClassVar[str]
    peeks_at_test: ClassVar[bool] = False

    def __init__(self, settings: EvaluationConfig, checkpoint_every: int = 0) -> None:
        self.settings = settings
        self.checkpoint_every = checkpoint_every

    @abstractmethod
    def run(self, build: MethodFactory, data: AnyShotData, seed: int, *,
            progress: Progress | None = None, save_dir: Path | None = None) -> RunResult:
        """One seed on prepared data. With ``save_dir`` the model each task is tested with is
        saved to ``save_dir/<task kind>/``."""

    # ------------------------------------------------------------------ shared pieces
    def tasks(self, data: AnyShotData) -> tuple[Task, ...]:
        return tasks_of(data, self.settings.tasks)

    def calibrated(self, tasks: tuple[Task, ...]) -> bool:
        """Calibrated stacking is on, and there is a generalized task for it."""
        return bool(self.settings.calibration) and any(t.generalized for t in tasks)

    def checkpoints(self, save_dir: Path | None, name: str) -> Checkpoints | None:
        return Checkpoints.maybe(save_dir, self.checkpoint_every, name)

    def result(self, build: MethodFactory, data: AnyShotData, seed: int, method: Method,
               metrics: dict[str, Any], selected: dict[str, int],
               validation: dict[str, Any]) -> RunResult:
        return RunResult(
            dataset=data.name,
            method=build.name,
            objective=build.objective if method.iterative else None,
            protocol=self.name,
            peeks_at_test=self.peeks_at_test,
            seed=seed,
            metrics=metrics,
            selected_epochs=selected,
            validation=validation,
            history=list(getattr(method, "history_", [])),
        )


def save_models(method: Method, save_dir: Path | None, tasks: tuple[Task, ...]) -> None:
    """The tested model of each task, in ``save_dir/<task kind>/``."""
    if save_dir is not None:
        for task in tasks:
            method.save(Path(save_dir) / task.kind)
