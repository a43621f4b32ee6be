"""Model selection on validation folds: the folds of a run seed, the fold-mean evaluation
curve and the epoch each task selects on it (see :mod:`anyshot.experiment` for the protocol).

    fold seeds      seed, then the children of SeedSequence(seed)      (never seed + f)
    curve           mean_f curve_f over the epochs every fold evaluated
    epoch_t         the first argmax over epochs of task t's selection metric
    held out        for each fold f, the choices made on the other folds' mean curve, scored
                    on fold f; the mean over f (what the choices are worth where not made)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyshot.config import ValidationConfig
from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.evaluation.calibration import GAMMA_GRID
from anyshot.evaluation.protocols import choose_gzsl_classifier, selection_metric, task_names
from anyshot.methods import Method

__all__ = ["best_epochs", "evaluations_since_best", "fold_seeds", "held_out_fold_scores",
           "match_epoch_length", "mean_curve", "validation_fold", "validation_record",
           "validation_views"]


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
    """Per task, the first epoch with the best selection metric."""
    best = {}
    for task in tasks:
        key = selection_metric(task, data, calibrated)
        scores = np.array([row[key] for row in curve])
        best[task] = int(curve[int(np.argmax(scores))]["epoch"])
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
    metrics (:func:`~anyshot.evaluation.protocols.choose_gzsl_classifier`, on the fold means).
    With ``calibrated``, the GZSL gamma is re-chosen on the fold-mean H curve:

        i* = argmax_i mean_f H_f(gamma_i),  <g>_cal_h = mean_f H_f(gamma_i*),
        <g>_cal_u = mean_f U_f(gamma_i*),   <g>_cal_s = mean_f S_f(gamma_i*),  <g>_gamma = gamma_i*.
    """
    by_epoch = [{row["epoch"]: row for row in curve} for curve in curves]
    common = sorted(set.intersection(*(set(rows) for rows in by_epoch)))
    if not common:
        raise RuntimeError("the validation folds have no evaluated epoch in common.")
    g = task_names(data)["gzsl"]
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
        listed = sorted({"@" + k.split("@", 1)[1] for k in mean if "@" in k})
        for suffix in listed or [""]:
            if calibrated and f"{g}_cal_curve{suffix}" in mean:
                i = int(np.argmax(mean[f"{g}_cal_curve{suffix}"]))
                mean.update({f"{g}_cal_u{suffix}": mean[f"{g}_cal_curve_u{suffix}"][i],
                             f"{g}_cal_s{suffix}": mean[f"{g}_cal_curve_s{suffix}"][i],
                             f"{g}_cal_h{suffix}": mean[f"{g}_cal_curve{suffix}"][i],
                             f"{g}_gamma{suffix}": float(GAMMA_GRID[i])})
        choose_gzsl_classifier(mean, g, calibrated)
        out.append(mean)
    return out


def validation_record(curve: list[dict[str, Any]], selected: dict[str, int], tasks,
                       data: AnyShotData, calibrated: bool) -> dict[str, Any]:
    """The fold-mean validation scores at each task's selected epoch: its uncalibrated selection
    metric, with calibration ``<g>_cal_u/_cal_s/_cal_h`` and the chosen ``<g>_gamma``, and the
    GZSL final classifier chosen among several listed (``<g>_classifier``, a name)."""
    record: dict[str, Any] = {}
    g = task_names(data)["gzsl"]
    for task, epoch in selected.items():
        row = next(r for r in curve if r["epoch"] == epoch)
        key = selection_metric(task, data)
        record[key] = row[key]
        if calibrated and task == "gzsl":
            record.update({k: row[k] for k in (f"{g}_cal_u", f"{g}_cal_s", f"{g}_cal_h",
                                                f"{g}_gamma")})
        if task == "gzsl" and f"{g}_classifier" in row:
            record[f"{g}_classifier"] = row[f"{g}_classifier"]
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
    if len(curves) < 2:
        return {}
    g = task_names(data)["gzsl"]
    scores: dict[str, list[float]] = {}
    for f, curve in enumerate(curves):
        others = mean_curve(curves[:f] + curves[f + 1:], data, calibrated)
        rows = {row["epoch"]: row for row in curve}
        for task, epoch in best_epochs(others, tasks, data, calibrated).items():
            if epoch not in rows:
                continue
            row = rows[epoch]
            chosen = next(r for r in others if r["epoch"] == epoch)
            key = selection_metric(task, data, calibrated)
            suffix = ""
            if task == "gzsl" and f"{g}_classifier" in chosen:
                suffix = "@" + chosen[f"{g}_classifier"]
            if task == "gzsl" and calibrated:
                i = int(np.argmin(np.abs(GAMMA_GRID - chosen[f"{g}_gamma"])))
                value = row[f"{g}_cal_curve{suffix}"][i]
            else:
                value = row[f"{key}{suffix}"]
            scores.setdefault(f"{key}_held_out", []).append(float(value))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def match_epoch_length(method: Method, views: list[AnyShotData]) -> None:
    """Make an epoch of ``method`` as many generator steps as one of the validation folds (the
    mean over folds), unless its config fixes ``steps_per_epoch`` or it has no batches."""
    cfg = method.config
    if not method.iterative or getattr(cfg, "steps_per_epoch", 0) is not None:
        return
    steps = [cfg.epoch_steps(v.trainval.size) for v in views]
    cfg.steps_per_epoch = int(round(float(np.mean(steps))))
