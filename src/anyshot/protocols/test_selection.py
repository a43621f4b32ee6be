"""``test-selection``: evaluate on the test sets every ``eval_every`` epochs and report the best
epoch. It peeks at test (what many papers' code does), so it is opt-in and every result line
says "PEEKS AT TEST"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anyshot.data.dataset import AnyShotData
from anyshot.evaluation.results import RunResult
from anyshot.evaluation.task import Task
from anyshot.protocols.base import MethodFactory, Protocol
from anyshot.protocols.fixed import train_then_test
from anyshot.protocols.folds import best_epochs
from anyshot.protocols.schedule import Evaluations, Progress, epochs_of, train

__all__ = ["TestSelection"]


class TestSelection(Protocol):
    name = "test-selection"
    peeks_at_test = True

    def run(self, build: MethodFactory, data: AnyShotData, seed: int, *,
            progress: Progress | None = None, save_dir: Path | None = None) -> RunResult:
        tasks = self.tasks(data)
        method = build()
        if not method.iterative:  # no epochs to choose: trained once, tested once
            return train_then_test(self, build, method, data, seed, tasks, progress, save_dir)
        calibrated = self.calibrated(tasks)
        ev = self.settings
        stage = f"seed {seed} test-selection"
        curve = train(method, data, epochs=epochs_of(method),
                      evaluations=Evaluations(tasks, every=ev.eval_every, calibrate=calibrated,
                                              patience=ev.patience),
                      checkpoints=self.checkpoints(save_dir, "test-selection"),
                      progress=progress, stage=stage)
        selected = best_epochs(curve, tasks, data, calibrated)
        metrics: dict[str, Any] = {}
        validation: dict[str, Any] = {}
        gz = Task.of(data, "gzsl")
        for task in tasks:
            row = next(r for r in curve if r["epoch"] == selected[task.kind])
            metrics.update({k: row[k] for k in task.metric_names(calibrated)})
            if calibrated and task.generalized:
                validation[gz.key("gamma")] = row[gz.key("gamma")]
            if task.generalized and gz.key("classifier") in row:
                validation[gz.key("classifier")] = row[gz.key("classifier")]
        return self.result(build, data, seed, method, metrics, selected, validation)
