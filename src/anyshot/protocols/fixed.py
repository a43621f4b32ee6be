"""``fixed``: train for the configured number of epochs and read the test sets once at the end.
No selection at all; honest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.evaluation.final_classifier import gzsl_classifier_choices
from anyshot.evaluation.results import RunResult
from anyshot.evaluation.scoring import evaluate
from anyshot.evaluation.task import Task
from anyshot.methods import Method
from anyshot.protocols.base import MethodFactory, Protocol, save_models
from anyshot.protocols.schedule import Progress, epochs_of, train

__all__ = ["Fixed", "train_then_test"]


class Fixed(Protocol):
    name = "fixed"

    def run(self, build: MethodFactory, data: AnyShotData, seed: int, *,
            progress: Progress | None = None, save_dir: Path | None = None) -> RunResult:
        tasks = self.tasks(data)
        method = build()
        if self.calibrated(tasks):
            raise ConfigError("evaluation.calibration needs gamma chosen on validation, and "
                              "protocol 'fixed' has none; use protocol 'honest', or turn "
                              "calibration off.")
        choices = gzsl_classifier_choices(method.config)
        if choices and any(t.generalized for t in tasks):
            raise ConfigError(f"gzsl_final_classifier lists {choices}, a choice made on "
                              "validation, and protocol 'fixed' has none; use protocol 'honest', "
                              "or set one name.")
        return train_then_test(self, build, method, data, seed, tasks, progress, save_dir)


def train_then_test(protocol: Protocol, build: MethodFactory, method: Method, data: AnyShotData,
                    seed: int, tasks: tuple[Task, ...], progress: Progress | None,
                    save_dir: Path | None) -> RunResult:
    """Train all configured epochs, then evaluate on the test sets once. With calibration (only
    under ``test-selection``) gamma is searched on test, and the label says so."""
    calibrated = protocol.calibrated(tasks)
    epochs = epochs_of(method)
    train(method, data, epochs=epochs or None, progress=progress, stage=f"seed {seed}",
          checkpoints=protocol.checkpoints(save_dir, "final"))
    row = evaluate(method, data, tasks, **({"calibrate": True} if calibrated else {}))
    metrics = {k: row[k] for t in tasks for k in t.metric_names(calibrated)}
    validation: dict[str, Any] = {}
    gz = Task.of(data, "gzsl")
    if calibrated:
        validation[gz.key("gamma")] = row[gz.key("gamma")]
    if gz.key("classifier") in row:
        validation[gz.key("classifier")] = row[gz.key("classifier")]
    selected = {t.kind: epochs for t in tasks} if method.iterative else {}
    save_models(method, save_dir, tasks)
    return protocol.result(build, data, seed, method, metrics, selected, validation)
