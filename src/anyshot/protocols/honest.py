"""``honest`` (the default): choices are made on validation problems carved from the training
classes, and the test sets are read once.

    for fold f = 0..k-1:   view_f = data.validation_view(seed=fold_seeds(seed, k)[f])
                           curve_f = evaluations of a model (seed ``seed``) trained on view_f
    curve = mean_f curve_f                     # epoch by epoch; curves (lists) elementwise
    epoch_t = argmax_epoch curve[selection metric of task t]     # gzsl_cal_h with calibration
    gamma = GAMMA_GRID[argmax curve[gzsl_cal_curve] at epoch_gzsl]
    fresh model on the full training split; test read once per task at epoch_t (with gamma).
    <metric>_held_out: every choice made on the other folds, scored on fold f; mean over f.

An epoch of the fresh model is as many generator steps as an epoch of the folds
(``evaluation.validation.epoch_length: matched``): the folds train on fewer classes, and an epoch
that stays one pass over the data would make epoch_t more training than validation chose.

Methods that do not train by epochs (DAP, attribute regression, ...) get one evaluation per fold
(a single row, ``epoch`` 0), which records the validation scores and chooses gamma. The fold
machinery is :mod:`anyshot.protocols.folds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyshot.data.dataset import AnyShotData
from anyshot.evaluation.results import RunResult
from anyshot.evaluation.task import Task, tasks_of
from anyshot.protocols.base import MethodFactory, Protocol, save_models
from anyshot.protocols.folds import (
    best_epochs,
    held_out_fold_scores,
    matched_steps,
    mean_curve,
    validation_record,
    validation_views,
)
from anyshot.protocols.schedule import Evaluations, Progress, epochs_of, train

__all__ = ["Honest", "Selection"]


@dataclass
class Selection:
    """What the validation folds chose for one method and seed.

    Attributes:
        views: the validation problems (folds).
        curves: each fold's evaluation rows (one row, epoch 0, for a method without epochs).
        curve: the fold-mean curve the choices were made on.
        selected: task kind -> chosen epoch (empty for a method without epochs).
        validation: the fold-mean scores at the choices, the chosen gamma and GZSL classifier,
            and the held-out-fold scores (:func:`~anyshot.protocols.folds.held_out_fold_scores`).
        overrides: method parameters of the final model (the chosen GZSL classifier; the
            epoch length matched to the folds').
        gamma: the calibration gamma chosen, or ``None``.
    """

    views: list[AnyShotData]
    curves: list[list[dict[str, Any]]]
    curve: list[dict[str, Any]]
    selected: dict[str, int]
    validation: dict[str, Any]
    overrides: dict[str, Any]
    gamma: float | None


class Honest(Protocol):
    name = "honest"

    def select(self, build: MethodFactory, data: AnyShotData, seed: int, *,
               progress: Progress | None = None, save_dir: Path | None = None) -> Selection:
        """Train one model per validation fold of ``data``'s training classes and make every
        choice on the fold means; the test sets of ``data`` are not read."""
        ev = self.settings
        calibrated = self.calibrated(self.tasks(data))
        method = build()
        views = validation_views(data, ev.validation, seed)
        curves = [self._validation_curve(method if fold == 0 else build(), view, fold, seed,
                                         calibrated, progress, save_dir)
                  for fold, view in enumerate(views)]
        view_tasks = tasks_of(views[0], ev.tasks)
        curve = mean_curve(curves, views[0], calibrated)
        best = best_epochs(curve, view_tasks, views[0], calibrated)
        validation = validation_record(curve, best, view_tasks, views[0], calibrated)
        validation.update(held_out_fold_scores(curves, view_tasks, views[0], calibrated))
        gz = Task.of(data, "gzsl")
        gamma = validation.get(gz.key("gamma")) if calibrated else None
        overrides: dict[str, Any] = {}
        if gz.key("classifier") in validation:  # the listed GZSL classifier validation chose
            overrides["gzsl_final_classifier"] = validation[gz.key("classifier")]
        if ev.validation.epoch_length == "matched":
            steps = matched_steps(method.config, method.iterative, views)
            if steps is not None:
                overrides["steps_per_epoch"] = steps
        return Selection(views, curves, curve, best if method.iterative else {}, validation,
                         overrides, gamma)

    def run(self, build: MethodFactory, data: AnyShotData, seed: int, *,
            progress: Progress | None = None, save_dir: Path | None = None) -> RunResult:
        tasks = self.tasks(data)
        chosen = self.select(build, data, seed, progress=progress, save_dir=save_dir)
        # Fresh model, full training split, test read once per task at its selected epoch.
        final = build(**chosen.overrides)
        checkpoints = self.checkpoints(save_dir, "final")
        if not final.iterative:
            epochs = epochs_of(final)
            train(final, data, epochs=epochs or None, progress=progress, stage=f"seed {seed}",
                  checkpoints=checkpoints)
            rows = [Evaluations(tasks, gamma=chosen.gamma).run(final, data, 0, tasks)]
            save_models(final, save_dir, tasks)
        else:
            at: dict[int, tuple[Task, ...]] = {}
            for task in tasks:
                epoch = chosen.selected[task.kind]
                at[epoch] = at.get(epoch, ()) + (task,)
            rows = train(final, data, epochs=max(chosen.selected.values()),
                         evaluations=Evaluations(
                             tasks, at=at, gamma=chosen.gamma,
                             after=lambda _epoch, due: save_models(final, save_dir, due)),
                         checkpoints=checkpoints, progress=progress, stage=f"seed {seed} final")
        metrics = {k: v for row in rows for k, v in row.items() if k != "epoch"}
        return self.result(build, data, seed, final, metrics, chosen.selected,
                           chosen.validation)

    def _validation_curve(self, model, view: AnyShotData, fold: int, seed: int,
                          calibrated: bool, progress: Progress | None,
                          save_dir: Path | None) -> list[dict[str, Any]]:
        """Train ``model`` on fold ``fold``'s view, evaluating it every ``eval_every`` epochs
        (once, for a method without epochs)."""
        ev = self.settings
        tasks = tasks_of(view, ev.tasks)
        stage = f"seed {seed} validation{fold or ''}"  # fold 0 keeps the single-fold names
        if not model.iterative:
            return train(model, view, evaluations=Evaluations(tasks, calibrate=calibrated),
                         progress=progress, stage=stage)
        return train(model, view, epochs=epochs_of(model),
                     evaluations=Evaluations(tasks, every=ev.eval_every, calibrate=calibrated,
                                             patience=ev.patience),
                     checkpoints=self.checkpoints(save_dir, stage.split()[-1]),
                     progress=progress, stage=stage)
