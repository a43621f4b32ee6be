"""Scoring a fitted method on a split's test sets (a validation view's, or the real ones).

    evaluate(method, data, tasks)                  -> {"zsl": .., "gzsl_u": .., "gzsl_s": .., ..}
    evaluate(method, data, tasks, calibrate=True)  also searches calibrated stacking's gamma
    evaluate(method, data, tasks, gamma=x)         applies a gamma chosen elsewhere

Each :class:`~anyshot.evaluation.task.Task` says what is predicted among, what is synthesized
and how its metrics are named. Calibrated stacking (:mod:`anyshot.evaluation.calibration`) adds
``<g>_cal_u``, ``<g>_cal_s`` and ``<g>_cal_h`` (``g`` = gzsl or gfsl) beside the uncalibrated
GZSL metrics; searching gamma also returns ``<g>_gamma`` and the curves over
:data:`~anyshot.evaluation.calibration.GAMMA_GRID` (``<g>_cal_curve`` = H, ``<g>_cal_curve_u``,
``<g>_cal_curve_s``; lists, so curves of several validation folds can be averaged).
Which data selects and which is read once is the protocols' business (:mod:`anyshot.protocols`).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.evaluation.calibration import GAMMA_GRID, h_curve, log_softmax
from anyshot.evaluation.final_classifier import ClassifierSource, gzsl_classifier_choices
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy
from anyshot.evaluation.task import Task, listed, tasks_of, unlisted

__all__ = ["as_tasks", "choose_gzsl_classifier", "evaluate"]


def as_tasks(data: AnyShotData, tasks: Iterable[Task | str]) -> tuple[Task, ...]:
    """Tasks given as :class:`Task` objects or by kind (``zsl``, ``gzsl``, ...) on ``data``."""
    tasks = tuple(tasks)
    if all(isinstance(t, Task) for t in tasks):
        return tasks
    return tasks_of(data, tasks)


def evaluate(method: ClassifierSource, data: AnyShotData, tasks: Iterable[Task | str], *,
             gamma: float | None = None, calibrate: bool = False) -> dict[str, float | list[float]]:
    """Evaluate a fitted method on ``data``'s test sets (a validation view's, or the real ones).

    Returns metrics named by the tasks, e.g. ``{"zsl": .., "gzsl_u": .., "gzsl_s": ..,
    "gzsl_h": ..}`` or with ``fsl``/``gfsl`` in few-shot splits.

    Args:
        tasks: :class:`Task` objects of ``data``, or task kinds.
        calibrate: also search the gamma of calibrated stacking over :data:`GAMMA_GRID` on these
            test sets (use it on validation data): adds ``<g>_cal_u/_cal_s/_cal_h`` at the best
            gamma, ``<g>_gamma`` and the curves ``<g>_cal_curve`` (H), ``<g>_cal_curve_u`` and
            ``<g>_cal_curve_s`` (lists over the grid).
        gamma: apply this gamma (chosen on validation): adds ``<g>_cal_u/_cal_s/_cal_h``.

    The classifier scores each test set once, whatever the number of gammas. When the method's
    ``gzsl_final_classifier`` lists several classifiers (a choice made on validation), the
    generalized metrics of each are returned as ``<metric>@<name>`` and the best one's are
    copied to the plain names (:func:`choose_gzsl_classifier`).
    """
    if calibrate and gamma is not None:
        raise ValueError("evaluate: give either calibrate=True (search gamma on this data) or a "
                         "fixed gamma (chosen elsewhere), not both.")
    if gamma is not None and not np.isfinite(gamma):
        raise ValueError(f"evaluate: gamma must be a finite number, got {gamma!r}.")
    out: dict[str, float | list[float]] = {}
    X, y = data.X, data.y
    with method.reuse_synthesis():  # ZSL and GZSL synthesize the same unseen features
        for task in as_tasks(data, tasks):
            real = task.real_rows
            if not task.generalized:
                clf = method.build_classifier(task, X[real], y[real])
                t = task.test_unseen
                out[task.name] = per_class_accuracy(y[t], clf.predict(X[t]))
                continue
            choices = gzsl_classifier_choices(getattr(method, "config", None))
            for name in choices or [None]:
                # A list of final classifiers: each one's metrics, named "<metric>@<name>".
                kwargs = {} if name is None else {"final_classifier": name}
                clf = method.build_classifier(task, X[real], y[real], **kwargs)
                block = _generalized(clf, data, task, gamma, calibrate)
                out.update(block if name is None else {listed(k, name): v
                                                       for k, v in block.items()})
            if choices:
                choose_gzsl_classifier(out, task, calibrate or gamma is not None)
    return out


def choose_gzsl_classifier(row: dict, task: Task, calibrated: bool) -> None:
    """In an evaluation row holding the generalized metrics of several final classifiers
    (``<metric>@<name>``), copy those of the best one, by the GZSL selection metric (H, or the
    calibrated H), to the plain names and record its name as ``<g>_classifier``; the first
    listed wins a tie. A row without such metrics is left as it is."""
    names = list(dict.fromkeys(unlisted(k)[1] for k in row if unlisted(k)[1] is not None))
    if not names:
        return
    key = task.selection_metric(calibrated)
    best = names[0]
    for name in names[1:]:
        if row[listed(key, name)] > row[listed(key, best)]:
            best = name
    row.update({unlisted(k)[0]: v for k, v in list(row.items()) if unlisted(k)[1] == best})
    row[task.key("classifier")] = best


def _generalized(clf, data: AnyShotData, task: Task, gamma: float | None,
                 calibrate: bool) -> dict[str, float | list[float]]:
    """GZSL metrics of one classifier over the task's candidates (see :func:`evaluate`)."""
    X, y = data.X, data.y
    tu, ts = task.test_unseen, task.test_seen
    key = task.key
    if gamma is None and not calibrate:
        u = per_class_accuracy(y[tu], clf.predict(X[tu]))
        s = per_class_accuracy(y[ts], clf.predict(X[ts]))
        return {key("u"): u, key("s"): s, key("h"): harmonic_mean(u, s)}
    cand = task.candidates
    score_u, score_s = clf.scores(X[tu]), clf.scores(X[ts])
    u = per_class_accuracy(y[tu], cand[np.argmax(score_u, axis=1)])
    s = per_class_accuracy(y[ts], cand[np.argmax(score_s, axis=1)])
    out: dict[str, float | list[float]] = {key("u"): u, key("s"): s, key("h"): harmonic_mean(u, s)}
    curve = h_curve(log_softmax(score_u), y[tu], log_softmax(score_s), y[ts], cand, task.seen,
                    GAMMA_GRID if calibrate else np.array([gamma], dtype=np.float64))
    i = curve.best if calibrate else 0
    out.update({key("cal_u"): float(curve.u[i]), key("cal_s"): float(curve.s[i]),
                key("cal_h"): float(curve.h[i])})
    if calibrate:
        out.update({key("gamma"): float(curve.gamma[i]),
                    key("cal_curve"): curve.h.tolist(),
                    key("cal_curve_u"): curve.u.tolist(),
                    key("cal_curve_s"): curve.s.tolist()})
    return out
