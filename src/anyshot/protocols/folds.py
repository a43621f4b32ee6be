"""Model selection on validation folds, the machinery of the ``honest`` protocol
(:mod:`anyshot.protocols.honest`): the folds of a run seed, the fold-mean evaluation curve, the
epoch each task selects on it and what those choices are worth on a fold that did not make them.

    fold seeds      seed, then the children of SeedSequence(seed)      (never seed + f)
    curve           mean_f curve_f over the epochs every fold evaluated
    epoch_t         the first argmax over epochs of task t's selection metric
    held out        for each fold f, the choices made on the other folds' mean curve, scored
                    on fold f; the mean over f (what the choices are worth where not made)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.evaluation.calibration import GAMMA_GRID
from anyshot.evaluation.scoring import as_tasks, choose_gzsl_classifier
from anyshot.evaluation.task import Task, held_out, listed
from anyshot.protocols.settings import ValidationConfig

__all__ = ["best_epochs", "evaluations_since_best", "fold_seeds", "held_out_fold_scores",
           "held_out_fold_values", "matched_steps", "mean_curve", "validation_fold",
           "validation_record", "validation_views"]


def evaluations_since_best(curve: list[dict[str, float]], keys: list[str]) -> int:
    """How many evaluations of ``curve`` came after the last new best of any of ``keys``."""
    best = {k: -np.inf for k in keys}
    since = 0
    for row in curve:
        improved = [k for k in keys if row[k] > best[k]]
        for k in improved:
            best[k] = row[k]
        since = 0 if improved else since + 1
    return since


def best_epochs(curve: list[dict[str, Any]], tasks, data: AnyShotData,
                calibrated: bool = False) -> dict[str, int]:
    """Per task (by kind), the first epoch with the best selection metric."""
    best = {}
    for task in as_tasks(data, tasks):
        key = task.selection_metric(calibrated)
        scores = np.array([row[key] for row in curve])
        best[task.kind] = int(curve[int(np.argmax(scores))]["epoch"])
    return best


def fold_seeds(seed: int, folds: int) -> list[int]:
    """The seeds of the ``folds`` validation problems of run seed ``seed``.

    Fold 0 keeps ``seed`` itself, so ``folds: 1`` draws the same validation problem as before
    folds existed. Fold f >= 1 uses the first 64-bit word of ``SeedSequence(seed,
    spawn_key=(f,))`` (the f-th child of ``numpy.random.SeedSequence(seed).spawn``): a stream
    of its own, not ``seed + f`` (which would hand seed 0's fold 1 to seed 1's fold 0).
    """
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 1:
        raise ConfigError(f"folds must be a positive integer, got {folds!r}.")
    return [int(seed)] + [
        int(np.random.SeedSequence(int(seed), spawn_key=(f,)).generate_state(1, np.uint64)[0])
        for f in range(1, folds)
    ]


def validation_fold(data: AnyShotData, vcfg: ValidationConfig, seed: int,
                    fold: int = 0) -> AnyShotData:
    """Validation problem ``fold`` of run seed ``seed``, carved from trainval only.

    With ``use_dataset_val`` and a dataset that names its validation classes
    (``meta["val_unseen_classes"]``, xlsa17), fold 0 holds out exactly those classes and every
    other fold draws the same number of seen classes at random with its own seed.
    """
    if not 0 <= fold < vcfg.folds:
        raise ValueError(f"fold {fold} is outside the {vcfg.folds} validation folds.")
    given = data.meta.get("val_unseen_classes") if vcfg.use_dataset_val else None
    fraction = vcfg.unseen_fraction
    if given is not None and fold > 0:
        fraction = np.unique(np.asarray(given)).size / data.seen.size
    return data.validation_view(
        unseen_fraction=fraction, holdout_fraction=vcfg.holdout_fraction,
        seed=fold_seeds(seed, fold + 1)[fold], val_unseen=given if fold == 0 else None)


def validation_views(data: AnyShotData, vcfg: ValidationConfig, seed: int) -> list[AnyShotData]:
    """The ``vcfg.folds`` validation problems of run seed ``seed`` (:func:`validation_fold`)."""
    return [validation_fold(data, vcfg, seed, fold) for fold in range(vcfg.folds)]


def mean_curve(curves: list[list[dict[str, Any]]], data: AnyShotData,
                calibrated: bool) -> list[dict[str, Any]]:
    """Fold-mean evaluation curve: rows of the epochs every fold evaluated (folds that early
    stopping ended sooner shorten the search), each value the mean over folds (lists
    elementwise). With several GZSL final classifiers listed, each row then takes the best one's
    metrics (:func:`~anyshot.evaluation.scoring.choose_gzsl_classifier`, on the fold means).
    With ``calibrated``, the GZSL gamma is re-chosen on the fold-mean H curve:

        i* = argmax_i mean_f H_f(gamma_i),  <g>_cal_h = mean_f H_f(gamma_i*),
        <g>_cal_u = mean_f U_f(gamma_i*),   <g>_cal_s = mean_f S_f(gamma_i*),  <g>_gamma = gamma_i*.
    """
    by_epoch = [{row["epoch"]: row for row in curve} for curve in curves]
    common = sorted(set.intersection(*(set(rows) for rows in by_epoch)))
    if not common:
        raise RuntimeError("the validation folds have no evaluated epoch in common.")
    gz = Task.of(data, "gzsl")
    out = []
    for epoch in common:
        rows = [rows[epoch] for rows in by_epoch]
        mean: dict[str, Any] = {"epoch": epoch}
        for key in rows[0]:
            if key != "epoch" and not isinstance(rows[0][key], str):
                value = np.mean(np.array([row[key] for row in rows], dtype=np.float64), axis=0)
                mean[key] = value.tolist() if value.ndim else float(value)
        # Each listed final classifier ("@<name>") is calibrated on its own curve, then the
        # best is chosen on the fold means; the plain keys, where the folds may each have
        # copied another classifier's, are then overwritten, so only the listed ones count.
        names = sorted({k.split("@", 1)[1] for k in mean if "@" in k})
        for name in names or [None]:
            def key(part: str, name: str | None = name) -> str:
                return gz.key(part) if name is None else listed(gz.key(part), name)

            if calibrated and key("cal_curve") in mean:
                i = int(np.argmax(mean[key("cal_curve")]))
                mean.update({key("cal_u"): mean[key("cal_curve_u")][i],
                             key("cal_s"): mean[key("cal_curve_s")][i],
                             key("cal_h"): mean[key("cal_curve")][i],
                             key("gamma"): float(GAMMA_GRID[i])})
        choose_gzsl_classifier(mean, gz, calibrated)
        out.append(mean)
    return out


def validation_record(curve: list[dict[str, Any]], selected: dict[str, int], tasks,
                       data: AnyShotData, calibrated: bool) -> dict[str, Any]:
    """The fold-mean validation scores at each task's selected epoch: its uncalibrated selection
    metric, with calibration ``<g>_cal_u/_cal_s/_cal_h`` and the chosen ``<g>_gamma``, and the
    GZSL final classifier chosen among several listed (``<g>_classifier``, a name)."""
    record: dict[str, Any] = {}
    by_kind = {t.kind: t for t in as_tasks(data, tasks)}
    for kind, epoch in selected.items():
        task = by_kind[kind]
        row = next(r for r in curve if r["epoch"] == epoch)
        key = task.selection_metric()
        record[key] = row[key]
        if calibrated and task.generalized:
            record.update({k: row[k] for k in map(task.key, ("cal_u", "cal_s", "cal_h", "gamma"))})
        if task.generalized and task.key("classifier") in row:
            record[task.key("classifier")] = row[task.key("classifier")]
    return record


def held_out_fold_scores(curves: list[list[dict[str, Any]]], tasks, data: AnyShotData,
                         calibrated: bool) -> dict[str, float]:
    """What the choices made on validation are worth on a fold that did not make them.

    The fold-mean score at the selected epoch is optimistic: the epoch (and, for GZSL, the final
    classifier among several listed and the calibration gamma) is the best of many on the very
    folds it is scored on, while a method without choices has nothing to gain from them. Here,
    for each fold f, every choice is made on the mean curve of the other folds
    (:func:`mean_curve`, :func:`best_epochs`) and scored on fold f:

        <metric>_held_out = mean_f  metric_f(epoch, classifier, gamma chosen on folds != f)

    for each task's selection metric (``zsl_held_out``, ``gzsl_h_held_out`` or, calibrated,
    ``gzsl_cal_h_held_out``). Folds that never reached the chosen epoch (early stopping) are
    left out. Empty with fewer than two folds.
    """
    values = held_out_fold_values(curves, tasks, data, calibrated)
    return {k: float(np.mean(v)) for k, v in values.items()}


def held_out_fold_values(curves: list[list[dict[str, Any]]], tasks, data: AnyShotData,
                         calibrated: bool) -> dict[str, list[float]]:
    """The per-fold values behind :func:`held_out_fold_scores`: for each task's selection
    metric (named ``<metric>_held_out``), fold f's score of the choices made on the other folds,
    in fold order (a fold that never reached the chosen epoch is left out)."""
    if len(curves) < 2:
        return {}
    tasks = as_tasks(data, tasks)
    by_kind = {t.kind: t for t in tasks}
    scores: dict[str, list[float]] = {}
    for f, curve in enumerate(curves):
        others = mean_curve(curves[:f] + curves[f + 1:], data, calibrated)
        rows = {row["epoch"]: row for row in curve}
        for kind, epoch in best_epochs(others, tasks, data, calibrated).items():
            if epoch not in rows:
                continue
            task = by_kind[kind]
            row = rows[epoch]
            chosen = next(r for r in others if r["epoch"] == epoch)
            key = task.selection_metric(calibrated)
            name = chosen.get(task.key("classifier")) if task.generalized else None

            def named(k: str) -> str:
                return k if name is None else listed(k, name)

            if task.generalized and calibrated:
                i = int(np.argmin(np.abs(GAMMA_GRID - chosen[task.key("gamma")])))
                value = row[named(task.key("cal_curve"))][i]
            else:
                value = row[named(key)]
            scores.setdefault(held_out(key), []).append(float(value))
    return scores


def matched_steps(config: Any, iterative: bool, views: list[AnyShotData]) -> int | None:
    """Generator steps per epoch that make an epoch of a model with ``config`` as much training
    as one of the validation folds (the mean over folds); ``None`` where the config fixes
    ``steps_per_epoch`` itself or the method does not train in batches."""
    if not iterative or getattr(config, "steps_per_epoch", 0) is not None:
        return None
    steps = [config.epoch_steps(v.trainval.size) for v in views]
    return int(round(float(np.mean(steps))))
