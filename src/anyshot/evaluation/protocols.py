"""Evaluation protocols: which data trains, which selects, which is read once.

Tasks (named after the split: a split with k shots of the novel classes turns ZSL into FSL and
GZSL into GFSL; the code path is the same):

* ``zsl`` / ``fsl``: classify test samples of unseen classes among the unseen classes only.
  Metric ``zsl`` (or ``fsl``): per-class mean top-1 accuracy.
* ``gzsl`` / ``gfsl``: classify test samples of all classes among all classes. Metrics
  ``gzsl_u`` (unseen accuracy U), ``gzsl_s`` (seen accuracy S) and ``gzsl_h`` (harmonic mean H).

Protocols:

* ``honest`` (default): a validation problem is carved from the training classes
  (:meth:`AnyShotData.validation_view`); the method trains on it and is evaluated on the
  validation sets every ``eval_every`` epochs; the best epoch per task is chosen there. A fresh
  model then trains on the full training split for that many epochs, and the test sets are read
  once, at the chosen epochs.
* ``fixed``: train for the configured number of epochs and read the test sets once at the end.
  No selection at all; also honest.
* ``test-selection``: evaluates on the test sets every ``eval_every`` epochs and reports the best
  epoch. This peeks at test (it is what many papers' code does); it is opt-in and every result
  line says "PEEKS AT TEST".

Calibrated stacking (:mod:`anyshot.evaluation.calibration`, ``evaluation.calibration: true``)
adds ``<g>_cal_u``, ``<g>_cal_s`` and ``<g>_cal_h`` (``g`` = gzsl or gfsl) beside the
uncalibrated GZSL metrics. ``evaluate(..., calibrate=True)`` searches gamma on the data it is
given (the validation problem; the test sets only under ``test-selection``) and also returns
``<g>_gamma`` and the curves over :data:`GAMMA_GRID` (``<g>_cal_curve`` = H, ``<g>_cal_curve_u``,
``<g>_cal_curve_s``; lists, so curves of several validation folds can be averaged);
``evaluate(..., gamma=x)`` applies a gamma chosen elsewhere.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.evaluation.calibration import GAMMA_GRID, h_curve, log_softmax
from anyshot.evaluation.final_classifier import ClassifierSource, gzsl_classifier_choices
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy

__all__ = ["PROTOCOLS", "TASKS", "choose_gzsl_classifier", "evaluate", "metric_names",
           "selection_metric", "task_names", "PEEKING_PROTOCOLS"]

TASKS = ("zsl", "gzsl")
PROTOCOLS = ("honest", "fixed", "test-selection")
PEEKING_PROTOCOLS = ("test-selection",)


def check_tasks(tasks: Iterable[str]) -> tuple[str, ...]:
    out = []
    for t in tasks:
        key = {"fsl": "zsl", "gfsl": "gzsl"}.get(t, t)
        if key not in TASKS:
            raise ConfigError(f"unknown task {t!r}; valid tasks: zsl, gzsl (fsl, gfsl with shots).")
        out.append(key)
    return tuple(dict.fromkeys(out))


def task_names(data: AnyShotData) -> dict[str, str]:
    """Display names of the two tasks for this split: zsl/gzsl, or fsl/gfsl with shots."""
    few = data.shots.size > 0
    return {"zsl": "fsl" if few else "zsl", "gzsl": "gfsl" if few else "gzsl"}


def selection_metric(task: str, data: AnyShotData, calibrated: bool = False) -> str:
    """The metric that selects the epoch of ``task``: the ZSL accuracy, or the GZSL H
    (the H of calibrated stacking, ``<g>_cal_h``, when ``calibrated``)."""
    names = task_names(data)
    if task == "zsl":
        return names["zsl"]
    return f"{names['gzsl']}_cal_h" if calibrated else f"{names['gzsl']}_h"


def metric_names(task: str, data: AnyShotData, calibrated: bool = False) -> list[str]:
    """The scalar test metrics of ``task`` on this split, e.g. ``["gzsl_u", "gzsl_s", "gzsl_h"]``
    (plus ``gzsl_cal_u``, ``gzsl_cal_s``, ``gzsl_cal_h`` when ``calibrated``)."""
    names = task_names(data)
    if task == "zsl":
        return [names["zsl"]]
    g = names["gzsl"]
    return [f"{g}_{m}" for m in (("u", "s", "h", "cal_u", "cal_s", "cal_h") if calibrated
                                 else ("u", "s", "h"))]


def evaluate(method: ClassifierSource, data: AnyShotData, tasks: Iterable[str], *,
             gamma: float | None = None, calibrate: bool = False) -> dict[str, float | list[float]]:
    """Evaluate a fitted method on ``data``'s test sets (a validation view's, or the real ones).

    Returns metrics named after the split's tasks, e.g. ``{"zsl": .., "gzsl_u": .., "gzsl_s": ..,
    "gzsl_h": ..}`` or with ``fsl``/``gfsl`` in few-shot splits.

    Args:
        calibrate: also search the gamma of calibrated stacking over :data:`GAMMA_GRID` on these
            test sets (use it on validation data): adds ``<g>_cal_u/_cal_s/_cal_h`` at the best
            gamma, ``<g>_gamma`` and the curves ``<g>_cal_curve`` (H), ``<g>_cal_curve_u`` and
            ``<g>_cal_curve_s`` (lists over the grid).
        gamma: apply this gamma (chosen on validation): adds ``<g>_cal_u/_cal_s/_cal_h``.

    The classifier scores each test set once, whatever the number of gammas. When the method's
    ``gzsl_final_classifier`` lists several classifiers (a choice made on validation), the
    generalized metrics of each are returned as ``<metric>@<name>``
    (:func:`anyshot.selection.mean_curve` chooses among them).
    """
    if calibrate and gamma is not None:
        raise ValueError("evaluate: give either calibrate=True (search gamma on this data) or a "
                         "fixed gamma (chosen elsewhere), not both.")
    if gamma is not None and not np.isfinite(gamma):
        raise ValueError(f"evaluate: gamma must be a finite number, got {gamma!r}.")
    with method.reuse_synthesis():  # ZSL and GZSL synthesize the same unseen features
        return _evaluate(method, data, tasks, gamma, calibrate)


def _evaluate(method: ClassifierSource, data: AnyShotData, tasks: Iterable[str],
              gamma: float | None = None, calibrate: bool = False
              ) -> dict[str, float | list[float]]:
    names = task_names(data)
    out: dict[str, float | list[float]] = {}
    shots = data.shots
    X, y = data.X, data.y
    for task in check_tasks(tasks):
        if task == "zsl":
            clf = method.build_classifier(data.unseen, data.unseen, X[shots], y[shots])
            t = data.test_unseen
            out[names["zsl"]] = per_class_accuracy(y[t], clf.predict(X[t]))
        else:
            cand = np.union1d(data.seen, data.unseen)
            tv = data.trainval
            choices = gzsl_classifier_choices(getattr(method, "config", None))
            for name in choices or [None]:
                # A list of final classifiers: each one's metrics, named "<metric>@<name>".
                kwargs = {} if name is None else {"final_classifier": name}
                clf = method.build_classifier(cand, data.unseen, X[tv], y[tv], **kwargs)
                block = _generalized(clf, data, cand, names["gzsl"], gamma, calibrate)
                out.update(block if name is None else {f"{k}@{name}": v for k, v in block.items()})
            if choices:
                choose_gzsl_classifier(out, names["gzsl"], calibrate or gamma is not None)
    return out


def choose_gzsl_classifier(row: dict, g: str, calibrated: bool) -> None:
    """In an evaluation row holding the generalized metrics of several final classifiers
    (``<metric>@<name>``), copy those of the best one, by the GZSL selection metric (H, or the
    calibrated H), to the plain names and record its name as ``<g>_classifier``; the first
    listed wins a tie. A row without such metrics is left as it is."""
    names = list(dict.fromkeys(k.split("@", 1)[1] for k in row if "@" in k))
    if not names:
        return
    key = f"{g}_cal_h" if calibrated else f"{g}_h"
    best = names[0]
    for name in names[1:]:
        if row[f"{key}@{name}"] > row[f"{key}@{best}"]:
            best = name
    row.update({k.split("@", 1)[0]: v for k, v in list(row.items()) if k.endswith(f"@{best}")})
    row[f"{g}_classifier"] = best


def _generalized(clf, data: AnyShotData, cand: np.ndarray, g: str, gamma: float | None,
                 calibrate: bool) -> dict[str, float | list[float]]:
    """GZSL metrics of one classifier over all classes ``cand`` (see :func:`evaluate`)."""
    X, y = data.X, data.y
    tu, ts = data.test_unseen, data.test_seen
    if gamma is None and not calibrate:
        u = per_class_accuracy(y[tu], clf.predict(X[tu]))
        s = per_class_accuracy(y[ts], clf.predict(X[ts]))
        return {f"{g}_u": u, f"{g}_s": s, f"{g}_h": harmonic_mean(u, s)}
    score_u, score_s = clf.scores(X[tu]), clf.scores(X[ts])
    u = per_class_accuracy(y[tu], cand[np.argmax(score_u, axis=1)])
    s = per_class_accuracy(y[ts], cand[np.argmax(score_s, axis=1)])
    out: dict[str, float | list[float]] = {f"{g}_u": u, f"{g}_s": s, f"{g}_h": harmonic_mean(u, s)}
    curve = h_curve(log_softmax(score_u), y[tu], log_softmax(score_s), y[ts], cand,
                    np.isin(cand, data.seen),
                    GAMMA_GRID if calibrate else np.array([gamma], dtype=np.float64))
    i = curve.best if calibrate else 0
    out.update({f"{g}_cal_u": float(curve.u[i]), f"{g}_cal_s": float(curve.s[i]),
                f"{g}_cal_h": float(curve.h[i])})
    if calibrate:
        out.update({f"{g}_gamma": float(curve.gamma[i]),
                    f"{g}_cal_curve": curve.h.tolist(),
                    f"{g}_cal_curve_u": curve.u.tolist(),
                    f"{g}_cal_curve_s": curve.s.tolist()})
    return out
