"""The one training call of the protocols: fit a method, evaluating it on a schedule, with
checkpoints that resume to the same numbers.

    rows = train(method, data, epochs=30,
                 evaluations=Evaluations(tasks, every=5, patience=3),   # or at={12: tasks}
                 checkpoints=Checkpoints(run_dir, every=5, name="validation"),
                 progress=progress, stage="seed 0 validation")

Each row is ``{"epoch": e, **evaluate(method, data, tasks_at_e)}``. A method that does not train
by epochs (DAP, the factorised Gaussian, ...) is fitted once and, with evaluations, evaluated
once, as epoch 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from anyshot.checkpoint import Checkpointer
from anyshot.data.dataset import AnyShotData
from anyshot.evaluation.scoring import evaluate
from anyshot.evaluation.task import Task
from anyshot.methods.base import Method, StopTraining
from anyshot.protocols.folds import evaluations_since_best
from anyshot.training import fit

__all__ = ["Checkpoints", "Evaluations", "Progress", "epochs_of", "train"]

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as training advances (stage e.g. 'seed 0 validation')."""


@dataclass(frozen=True)
class Evaluations:
    """When training evaluates, and what.

    Attributes:
        tasks: the tasks evaluated at every ``every``-th epoch and at the last one.
        every: evaluate every that many epochs (0: only at the epochs of ``at``).
        at: epoch -> the tasks evaluated there (the final model's selected epochs).
        calibrate / gamma: as in :func:`~anyshot.evaluation.scoring.evaluate`.
        patience: stop once that many evaluations in a row bring no new best selection metric
            of any task (``None``: train every epoch).
        after: ``after(epoch, tasks)``, called after each evaluation (saving the model).
    """

    tasks: tuple[Task, ...]
    every: int = 0
    at: Mapping[int, tuple[Task, ...]] | None = None
    calibrate: bool = False
    gamma: float | None = None
    patience: int | None = None
    after: Callable[[int, tuple[Task, ...]], None] | None = None

    def due(self, epoch: int, epochs: int) -> tuple[Task, ...]:
        """The tasks evaluated after ``epoch`` of ``epochs``."""
        if self.at is not None:
            return tuple(self.at.get(epoch, ()))
        if self.every and (epoch % self.every == 0 or epoch == epochs):
            return self.tasks
        return ()

    def run(self, method: Method, data: AnyShotData, epoch: int,
            tasks: tuple[Task, ...]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.calibrate:
            kwargs["calibrate"] = True
        if self.gamma is not None:
            kwargs["gamma"] = self.gamma
        row = {"epoch": epoch, **evaluate(method, data, tasks, **kwargs)}
        if self.after is not None:
            self.after(epoch, tasks)
        return row

    def patience_spent(self, rows: list[dict[str, Any]]) -> bool:
        keys = [t.selection_metric(self.calibrate) for t in self.tasks]
        return self.patience is not None and evaluations_since_best(rows, keys) >= self.patience


@dataclass(frozen=True)
class Checkpoints:
    """Training checkpoints every ``every`` epochs in ``directory/checkpoints_<name>``."""

    directory: Path
    every: int
    name: str

    @classmethod
    def maybe(cls, directory: str | Path | None, every: int, name: str) -> "Checkpoints | None":
        """Checkpoints, or ``None`` without a directory or with ``every`` < 1."""
        if directory is None or every < 1:
            return None
        return cls(Path(directory), every, name)


def epochs_of(method: Method) -> int:
    """The epochs a method's config asks for (0 for methods that do not train by epochs)."""
    return int(getattr(method.config, "epochs", 0) or 0)


def train(method: Method, data: AnyShotData, *, epochs: int | None = None,
          evaluations: Evaluations | None = None, checkpoints: Checkpoints | None = None,
          progress: Progress | None = None, stage: str = "") -> list[dict[str, Any]]:
    """Fit ``method`` on ``data``'s training samples for ``epochs`` (default: its config's),
    evaluating on ``data``'s test sets as ``evaluations`` says; returns the evaluated rows.

    With ``checkpoints`` a generative method resumes from its last checkpoint, rows included, and
    ends with the numbers of an uninterrupted run; a run that had already stopped early stays
    as it was.
    """
    rows: list[dict[str, Any]] = []
    if not method.iterative:
        fit(method, data)
        if evaluations is not None:
            rows.append(evaluations.run(method, data, 0, evaluations.tasks))
        if progress is not None:  # one step: the fit
            progress(stage, 1, 1)
        return rows
    total = epochs if epochs is not None else epochs_of(method)

    def on_epoch(epoch: int, logs: dict[str, float]) -> None:
        if evaluations is not None and evaluations.patience_spent(rows):
            raise StopTraining  # a resumed run that had already stopped: keep it as it was
        due = evaluations.due(epoch, total) if evaluations is not None else ()
        if due:
            rows.append(evaluations.run(method, data, epoch, due))
        if progress is not None:
            progress(stage, epoch, total)
        if evaluations is not None and evaluations.patience_spent(rows):
            raise StopTraining

    kwargs: dict[str, Any] = {}
    if checkpoints is not None:
        def restore(saved: dict) -> None:
            rows[:] = saved.get("rows", [])

        kwargs = {"checkpointer": Checkpointer(checkpoints.directory /
                                               f"checkpoints_{checkpoints.name}",
                                               every=checkpoints.every),
                  "checkpoint_state": lambda: {"rows": rows}, "on_restore": restore}
    fit(method, data, epochs=epochs, on_epoch=on_epoch, **kwargs)
    return rows
