"""Run an experiment config end to end: load -> scale -> (select on validation) -> test once.

This is the one place where training and evaluation are sequenced; the CLI, the benchmarks and
the tests all call :func:`run_experiment` (or :func:`run_seed`).

The ``honest`` protocol with k validation folds (``evaluation.validation.folds``):

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
(a single row, ``epoch`` 0), which records the validation scores and chooses gamma.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from anyshot.checkpoint import Checkpointer
from anyshot.config import ExperimentConfig, load_config
from anyshot.data.dataset import AnyShotData
from anyshot.data.registry import load_dataset
from anyshot.data.transforms import scale_features
from anyshot.errors import ConfigError
from anyshot.evaluation.final_classifier import gzsl_classifier_choices
from anyshot.evaluation.protocols import (
    PEEKING_PROTOCOLS,
    check_tasks,
    evaluate,
    metric_names,
    selection_metric,
    task_names,
)
from anyshot.evaluation.results import RunResult
from anyshot.io import atomic_write_text
from anyshot.methods import Method, make_method
from anyshot.objectives import make_objective
from anyshot.selection import (
    best_epochs,
    evaluations_since_best,
    fold_seeds,
    held_out_fold_scores,
    match_epoch_length,
    mean_curve,
    validation_record,
    validation_views,
)
from anyshot.training.trainer import StopTraining
from anyshot.utils import git_revision, resolve_device

__all__ = ["prepare_data", "build_method", "fold_seeds", "validation_views", "run_seed",
           "run_experiment", "evaluate_run", "Progress"]

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as training advances (stage e.g. 'seed 0 validation')."""


def prepare_data(config: ExperimentConfig) -> AnyShotData:
    """Load the configured dataset and scale its features with training statistics."""
    data = load_dataset(config.data.name, **config.data.params)
    if config.data.shots is not None:
        data = data.with_shots(config.data.shots, seed=config.data.shots_seed)
    return scale_features(data, config.data.scaling)


def build_method(config: ExperimentConfig, seed: int) -> Method:
    objective = None
    if config.objective is not None:
        objective = make_objective(config.objective.name, **config.objective.params)
    return make_method(config.method.name, config.method.params, objective=objective,
                       device=str(resolve_device(config.device)), seed=seed)


def _fit(method: Method, data: AnyShotData, epochs: int | None, on_epoch=None,
         checkpoint: tuple[Checkpointer, Callable[[], dict], Callable[[dict], None]] | None = None
         ) -> Method:
    kwargs = {}
    if checkpoint is not None and method.iterative:
        kwargs = dict(zip(("checkpointer", "checkpoint_state", "on_restore"), checkpoint))
    return method.fit(data, epochs=epochs, on_epoch=on_epoch, **kwargs)


def _checkpoint(save_dir: Path | None, name: str, every: int, state: dict[str, Any]):
    """(checkpointer, state getter, restorer) keeping ``state``'s values across a resume."""
    if save_dir is None or every < 1:
        return None

    def restore(saved: dict) -> None:
        for key, value in saved.items():
            target = state[key]
            if isinstance(target, list):
                target[:] = value
            else:
                target.clear()
                target.update(value)

    return (Checkpointer(Path(save_dir) / f"checkpoints_{name}", every=every),
            lambda: dict(state), restore)


def _epochs(method: Method) -> int:
    return int(getattr(method.config, "epochs", 0) or 0)


def _evaluate(method: Method, data: AnyShotData, tasks, *, calibrate: bool = False,
              gamma: float | None = None) -> dict[str, Any]:
    """:func:`evaluate`, passing the calibration arguments only when they are used, so a wrapper
    of ``evaluate`` with its plain ``(method, data, tasks)`` signature keeps working."""
    kwargs: dict[str, Any] = {}
    if calibrate:
        kwargs["calibrate"] = True
    if gamma is not None:
        kwargs["gamma"] = gamma
    return evaluate(method, data, tasks, **kwargs)


def _curve(method: Method, data: AnyShotData, tasks, eval_every: int, epochs: int,
           progress: Progress | None, stage: str, save_dir: Path | None = None,
           checkpoint_every: int = 0, patience: int | None = None, calibrate: bool = False
           ) -> list[dict[str, Any]]:
    """Train ``method`` on ``data`` and evaluate on its test sets every ``eval_every`` epochs;
    with ``patience``, stop once that many evaluations in a row bring no new best. With
    ``calibrate``, every row also holds calibrated stacking's search (see :func:`evaluate`).
    The checkpoints are named after the last word of ``stage``."""
    curve: list[dict[str, Any]] = []
    ckpt = _checkpoint(save_dir, stage.split()[-1], checkpoint_every, {"curve": curve})
    keys = [selection_metric(t, data, calibrate) for t in tasks]

    def patience_spent() -> bool:
        return patience is not None and evaluations_since_best(curve, keys) >= patience

    def on_epoch(epoch: int, logs: dict[str, float]) -> None:
        if patience_spent():  # a resumed run that had already stopped: keep the curve as it was
            raise StopTraining
        if epoch % eval_every == 0 or epoch == epochs:
            curve.append({"epoch": epoch, **_evaluate(method, data, tasks, calibrate=calibrate)})
        if progress is not None:
            progress(stage, epoch, epochs)
        if patience_spent():
            raise StopTraining

    _fit(method, data, epochs, on_epoch, ckpt)
    return curve


def run_seed(config: ExperimentConfig, data: AnyShotData, seed: int,
             progress: Progress | None = None, save_dir: Path | None = None) -> RunResult:
    """One seed of the configured protocol on already prepared data.

    ``honest``: one model per validation fold (all with this seed), selection on the fold mean
    (see the module docstring); ``RunResult.validation`` holds the fold-mean validation scores
    at the selected epochs (and, with calibration, the calibrated ones and ``<g>_gamma``).
    Methods that do not train by epochs are validated the same way with a single evaluation.

    With ``save_dir``, the model each task was tested with is saved to ``save_dir/<task>/``
    (safetensors + JSON), so ``anyshot evaluate`` can re-read it.
    """
    t0 = time.perf_counter()
    ev = config.evaluation
    tasks = check_tasks(ev.tasks)
    calibrated = bool(ev.calibration) and "gzsl" in tasks
    method = build_method(config, seed)
    epochs = _epochs(method)
    protocol = ev.protocol
    if calibrated and protocol == "fixed":
        raise ConfigError("evaluation.calibration needs gamma chosen on validation, and protocol "
                          "'fixed' has none; use protocol 'honest', or turn calibration off.")
    choices = gzsl_classifier_choices(method.config)
    if choices and protocol == "fixed" and "gzsl" in tasks:
        raise ConfigError(f"gzsl_final_classifier lists {choices}, a choice made on validation, "
                          "and protocol 'fixed' has none; use protocol 'honest', or set one name.")
    g = task_names(data)["gzsl"]
    selected: dict[str, int] = {}
    validation: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    every = config.checkpoint_every
    if protocol == "honest":
        views = validation_views(data, ev.validation, seed)
        curves = []
        for fold, val in enumerate(views):
            model = method if fold == 0 else build_method(config, seed)
            if method.iterative:
                # Fold 0 keeps the stage (and checkpoint) name of single-fold runs.
                stage = f"seed {seed} validation{fold or ''}"
                curves.append(_curve(model, val, tasks, ev.eval_every, epochs, progress, stage,
                                     save_dir, every, ev.patience, calibrated))
            else:
                _fit(model, val, None)
                curves.append([{"epoch": 0, **_evaluate(model, val, tasks, calibrate=calibrated)}])
        curve = mean_curve(curves, views[0], calibrated)
        best = best_epochs(curve, tasks, views[0], calibrated)
        validation = validation_record(curve, best, tasks, views[0], calibrated)
        validation.update(held_out_fold_scores(curves, tasks, views[0], calibrated))
        gamma = validation.get(f"{g}_gamma") if calibrated else None
        # Fresh model, full training split, test read once per task at its selected epoch.
        final = build_method(config, seed)
        if f"{g}_classifier" in validation:  # the listed GZSL classifier validation chose
            final.config.gzsl_final_classifier = validation[f"{g}_classifier"]
        if ev.validation.epoch_length == "matched":
            match_epoch_length(final, views)
        if not method.iterative:
            _fit(final, data, epochs or None,
                 (lambda e, _l: progress(f"seed {seed}", e, epochs)) if progress else None,
                 _checkpoint(save_dir, "final", every, {}))
            metrics = _evaluate(final, data, tasks, gamma=gamma)
            _save(final, save_dir, tasks)
        else:
            selected = best
            last = max(selected.values())
            by_epoch: dict[int, list[str]] = {}
            for task, epoch in selected.items():
                by_epoch.setdefault(epoch, []).append(task)

            def on_epoch(epoch: int, logs: dict[str, float]) -> None:
                if epoch in by_epoch:
                    metrics.update(_evaluate(final, data, by_epoch[epoch], gamma=gamma))
                    _save(final, save_dir, by_epoch[epoch])
                if progress is not None:
                    progress(f"seed {seed} final", epoch, last)

            _fit(final, data, last, on_epoch,
                 _checkpoint(save_dir, "final", every, {"metrics": metrics}))
        method = final
    elif protocol == "fixed" or not method.iterative:
        _fit(method, data, epochs or None,
             (lambda e, _l: progress(f"seed {seed}", e, epochs)) if progress else None,
             _checkpoint(save_dir, "final", every, {}))
        row = _evaluate(method, data, tasks, calibrate=calibrated)  # calibrated: test-selection
        metrics = {k: row[k] for t in tasks for k in metric_names(t, data, calibrated)}
        if calibrated:
            validation[f"{g}_gamma"] = row[f"{g}_gamma"]  # chosen on test: the label says so
        if f"{g}_classifier" in row:
            validation[f"{g}_classifier"] = row[f"{g}_classifier"]
        selected = {t: epochs for t in tasks} if method.iterative else {}
        _save(method, save_dir, tasks)
    elif protocol == "test-selection":
        curve = _curve(method, data, tasks, ev.eval_every, epochs, progress,
                       f"seed {seed} test-selection", save_dir, every, ev.patience, calibrated)
        selected = best_epochs(curve, tasks, data, calibrated)
        for task, epoch in selected.items():
            row = next(r for r in curve if r["epoch"] == epoch)
            metrics.update({k: row[k] for k in metric_names(task, data, calibrated)})
            if calibrated and task == "gzsl":
                validation[f"{g}_gamma"] = row[f"{g}_gamma"]
            if task == "gzsl" and f"{g}_classifier" in row:
                validation[f"{g}_classifier"] = row[f"{g}_classifier"]
    history = list(getattr(method, "history_", []))
    return RunResult(
        dataset=data.name,
        method=config.method.name,
        objective=config.objective.name if (config.objective and method.iterative) else None,
        protocol=protocol,
        peeks_at_test=protocol in PEEKING_PROTOCOLS,
        seed=seed,
        metrics=metrics,
        selected_epochs=selected,
        validation=validation,
        config=config.to_dict(),
        git_revision=git_revision(),
        seconds=time.perf_counter() - t0,
        history=history,
    )


def _save(method: Method, save_dir: Path | None, tasks) -> None:
    if save_dir is not None:
        for task in tasks:
            method.save(Path(save_dir) / task)


def run_experiment(config: ExperimentConfig, progress: Progress | None = None,
                   data: AnyShotData | None = None, run_dir: Path | None = None,
                   resume: bool = False) -> list[RunResult]:
    """Every seed of the config; returns one :class:`RunResult` per seed.

    With ``run_dir``, writes ``config.yaml``, ``results.jsonl`` (one line per seed, appended as
    each seed finishes), the tested models under ``seed_<s>/<task>/`` and training checkpoints
    every ``config.checkpoint_every`` epochs. ``resume=True`` continues an interrupted run in
    ``run_dir``: finished seeds are kept, a seed in progress restarts from its last checkpoint,
    and the numbers equal those of an uninterrupted run.
    """
    data = prepare_data(config) if data is None else data
    results: list[RunResult] = []
    if run_dir is not None:
        run_dir = Path(run_dir)
        done = run_dir / "results.jsonl"
        if resume and done.is_file():
            results = [RunResult(**json.loads(line)) for line in done.read_text().splitlines()
                       if line.strip()]
        elif not resume and (done.is_file() or any(run_dir.glob("seed_*"))):
            raise ConfigError(f"run directory {str(run_dir)!r} already holds a run; resume it with "
                              "--resume, or choose another --out.")
        atomic_write_text(run_dir / "config.yaml",
                          yaml.safe_dump(config.to_dict(), sort_keys=False))
    finished = {r.seed for r in results}
    for seed in config.evaluation.seeds:
        if seed in finished:
            continue
        save = None if run_dir is None else run_dir / f"seed_{seed}"
        result = run_seed(config, data, seed, progress, save)
        results.append(result)
        if run_dir is not None:
            lines = "".join(json.dumps({k: v for k, v in r.to_dict().items() if k != "history"},
                                       sort_keys=True) + "\n" for r in results)
            atomic_write_text(run_dir / "results.jsonl", lines)
            # Per-epoch training metrics of the tested model, one JSON object per line.
            atomic_write_text(save / "history.jsonl",
                              "".join(json.dumps(row) + "\n" for row in result.history))
    return results


def evaluate_run(run_dir: Path, device: str = "cpu") -> list[RunResult]:
    """Re-read a run directory's config and saved models and evaluate them on the test sets."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / "config.yaml")
    data = prepare_data(config)
    tasks = check_tasks(config.evaluation.tasks)
    stored = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()
              if line.strip()]
    out = []
    g = task_names(data)["gzsl"]
    for rec in stored:
        metrics: dict[str, float] = {}
        # The gamma the run chose (calibrated stacking), applied again as it was on test.
        gamma = (rec.get("validation", {}).get(f"{g}_gamma")
                 if config.evaluation.calibration else None)
        for task in tasks:
            method = Method.load(run_dir / f"seed_{rec['seed']}" / task, device=device)
            metrics.update(_evaluate(method, data, [task], gamma=gamma))
        rec = {**rec, "metrics": metrics}
        out.append(RunResult(**rec))
    return out
