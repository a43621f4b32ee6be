"""A :class:`Task`: what one evaluation predicts among, what it synthesizes and how its scores
are named, built once from a split.

    zsl  / fsl   test samples of unseen classes, classified among the unseen classes only;
                 the k shots of the unseen classes (FSL) join the synthetic features.
    gzsl / gfsl  test samples of every class, classified among all classes; every real
                 training sample joins the synthetic features of the unseen classes.

A split with k shots of the novel classes turns ZSL into FSL and GZSL into GFSL: the code path
is the same, only the names change (``kind`` stays ``zsl`` / ``gzsl``, ``name`` follows the
split). This is the one module that knows which classes are candidates and how a metric is
named; everything else asks a Task.

Metric names of a task (``g`` = gzsl or gfsl):

    zsl / fsl                       per-class mean top-1 accuracy on the unseen test samples
    <g>_u, <g>_s, <g>_h             unseen and seen accuracy, their harmonic mean
    <g>_cal_u, _cal_s, _cal_h       the same under calibrated stacking
    <g>_gamma                       the calibration gamma chosen on validation
    <g>_cal_curve[_u|_s]            H (U, S) over the gamma grid (validation rows)
    <g>_classifier                  the final classifier chosen among several listed
    <metric>@<name>                 a metric of the listed final classifier <name>
    <metric>_held_out               a validation choice scored on a fold that did not make it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError

__all__ = ["KINDS", "Task", "check_tasks", "held_out", "listed", "tasks_of", "unlisted"]

KINDS = ("zsl", "gzsl")


def check_tasks(kinds: Iterable[str]) -> tuple[str, ...]:
    """Task kinds of a config (``fsl``/``gfsl`` are read as ``zsl``/``gzsl``), in order, once
    each; an unknown name is an error naming the valid ones."""
    out = []
    for t in kinds:
        key = {"fsl": "zsl", "gfsl": "gzsl"}.get(t, t)
        if key not in KINDS:
            raise ConfigError(f"unknown task {t!r}; valid tasks: zsl, gzsl (fsl, gfsl with shots).")
        out.append(key)
    return tuple(dict.fromkeys(out))


def listed(key: str, classifier: str) -> str:
    """The name of metric ``key`` of the listed final classifier ``classifier``."""
    return f"{key}@{classifier}"


def unlisted(key: str) -> tuple[str, str | None]:
    """(metric, classifier) of a name made by :func:`listed`; (key, None) for a plain one."""
    metric, _, name = key.partition("@")
    return metric, (name or None)


def held_out(key: str) -> str:
    """The name of metric ``key`` scored on held-out folds."""
    return f"{key}_held_out"


@dataclass(frozen=True)
class Task:
    """One evaluation task on one split.

    Attributes:
        kind: ``zsl`` or ``gzsl`` (what the code does).
        name: ``zsl``/``fsl`` or ``gzsl``/``gfsl`` (what the split calls it; metric prefix).
        candidates: (k,) sorted classes the classifier predicts among.
        synthesized: (u,) sorted classes whose features a generative method synthesizes.
        real_rows: indices of the samples whose real features join the classifier's training
            set (the shots for ZSL/FSL, every training sample for GZSL/GFSL).
        test_unseen / test_seen: indices of the test samples it is scored on (``test_seen`` is
            empty for ZSL/FSL).
        seen: (k,) bool, which candidates are seen classes (calibrated stacking lowers them).
    """

    kind: str
    name: str
    candidates: np.ndarray
    synthesized: np.ndarray
    real_rows: np.ndarray
    test_unseen: np.ndarray
    test_seen: np.ndarray
    seen: np.ndarray

    @classmethod
    def of(cls, data: AnyShotData, kind: str) -> "Task":
        """The task ``kind`` (``zsl``, ``gzsl``, ``fsl`` or ``gfsl``) on ``data``'s split."""
        (kind,) = check_tasks([kind])
        few = data.shots.size > 0
        if kind == "zsl":
            cand = np.asarray(data.unseen, dtype=np.int64)
            return cls("zsl", "fsl" if few else "zsl", cand, cand, data.shots, data.test_unseen,
                       data.test_seen[:0], np.zeros(cand.size, dtype=bool))
        cand = np.union1d(data.seen, data.unseen).astype(np.int64)
        return cls("gzsl", "gfsl" if few else "gzsl", cand,
                   np.asarray(data.unseen, dtype=np.int64), data.trainval, data.test_unseen,
                   data.test_seen, np.isin(cand, data.seen))

    @classmethod
    def over(cls, candidates: np.ndarray, synthesized: np.ndarray, seen_classes: np.ndarray,
             generalized: bool, few_shot: bool = False) -> "Task":
        """A prediction task with no split behind it (a saved model): ``candidates`` to predict
        among, ``synthesized`` of them generated; no real or test rows."""
        cand = np.asarray(candidates, dtype=np.int64)
        none = np.zeros(0, dtype=np.int64)
        kind = "gzsl" if generalized else "zsl"
        name = {"zsl": "fsl", "gzsl": "gfsl"}[kind] if few_shot else kind
        return cls(kind, name, cand, np.asarray(synthesized, dtype=np.int64), none, none, none,
                   np.isin(cand, seen_classes))

    @property
    def generalized(self) -> bool:
        return self.kind == "gzsl"

    # ------------------------------------------------------------------ metric names
    def key(self, part: str = "") -> str:
        """``name`` or ``name_part``: e.g. ``key("cal_h")`` is ``gzsl_cal_h``."""
        return f"{self.name}_{part}" if part else self.name

    def selection_metric(self, calibrated: bool = False) -> str:
        """The metric that selects this task's epoch: the ZSL accuracy, or the GZSL H (the H of
        calibrated stacking when ``calibrated``)."""
        if not self.generalized:
            return self.name
        return self.key("cal_h" if calibrated else "h")

    def metric_names(self, calibrated: bool = False) -> list[str]:
        """The scalar test metrics, e.g. ``["gzsl_u", "gzsl_s", "gzsl_h"]`` (and the calibrated
        three when ``calibrated``)."""
        if not self.generalized:
            return [self.name]
        parts = ("u", "s", "h", "cal_u", "cal_s", "cal_h") if calibrated else ("u", "s", "h")
        return [self.key(p) for p in parts]


def tasks_of(data: AnyShotData, kinds: Iterable[str]) -> tuple[Task, ...]:
    """The configured tasks on ``data``'s split, in order."""
    return tuple(Task.of(data, k) for k in check_tasks(kinds))
