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
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy
from anyshot.methods.base import Method

__all__ = ["PROTOCOLS", "TASKS", "evaluate", "selection_metric", "task_names", "PEEKING_PROTOCOLS"]

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


def selection_metric(task: str, data: AnyShotData) -> str:
    """The metric that selects the epoch of ``task``: the ZSL accuracy, or the GZSL H."""
    names = task_names(data)
    return names["zsl"] if task == "zsl" else f"{names['gzsl']}_h"


def evaluate(method: Method, data: AnyShotData, tasks: Iterable[str]) -> dict[str, float]:
    """Evaluate a fitted method on ``data``'s test sets (a validation view's, or the real ones).

    Returns metrics named after the split's tasks, e.g. ``{"zsl": .., "gzsl_u": .., "gzsl_s": ..,
    "gzsl_h": ..}`` or with ``fsl``/``gfsl`` in few-shot splits.
    """
    with method.reuse_synthesis():  # ZSL and GZSL synthesize the same unseen features
        return _evaluate(method, data, tasks)


def _evaluate(method: Method, data: AnyShotData, tasks: Iterable[str]) -> dict[str, float]:
    names = task_names(data)
    out: dict[str, float] = {}
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
            clf = method.build_classifier(cand, data.unseen, X[tv], y[tv])
            tu, ts = data.test_unseen, data.test_seen
            u = per_class_accuracy(y[tu], clf.predict(X[tu]))
            s = per_class_accuracy(y[ts], clf.predict(X[ts]))
            g = names["gzsl"]
            out.update({f"{g}_u": u, f"{g}_s": s, f"{g}_h": harmonic_mean(u, s)})
    return out
