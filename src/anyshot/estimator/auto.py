"""``method="auto"``: the estimator's choice of method, made on validation folds of the user's
own training classes.

    for each candidate (cheap ones first, within ``max_time``):
        Honest.select on k folds (seen classes held out to play unseen)   # epochs, gamma, ...
        per-fold held-out score s_c,f: every choice made on the other folds, scored on fold f
    incumbent = the first candidate (the factorised Gaussian, best on average on real data)
    for each later candidate c, in order, on the n folds c and the incumbent both have:
        d_f = s_c,f - s_incumbent,f
        c becomes the incumbent if  mean(d) - t(0.975, n - 1) * se(d) > 0  and  mean(d) > min_gain
    the last incumbent is refitted on all training data.

Held-out scores compare methods with and without epochs fairly (the epoch of a GAN is not
chosen on the fold that scores it). The rule is a guard against noise: with a handful of folds
an argmax over candidates picks a worse method about as often as a better one, so the incumbent
stands unless the lower end of a two-sided 95% Student-t interval for the paired gain is above
zero. The t quantile, not a fixed 2, matters with few folds: three folds give two degrees of
freedom (t = 4.30), and their standard error is itself a guess. A challenger is compared with
the incumbent, not only with the default, so a gain measured on three folds never outranks a
larger one established on many. The closed-form candidates are cheap and validated on more
folds (:data:`CLOSED_FORM_FOLDS`) than the generative ones and the random-forest DAP
(:data:`FEW_FOLD_CANDIDATES`). The factorised Gaussian with soft codes is left out where every
attribute is 0 or 1: it is then the default itself (:func:`drop_redundant`).

The score is the ZSL accuracy of the held-out classes (``generalized=False``) or the calibrated
GZSL H (``generalized=True``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from anyshot.data.dataset import AnyShotData
from anyshot.errors import AnyShotError
from anyshot.evaluation.calibration import CalibratedClassifier, fit_temperature, log_softmax
from anyshot.evaluation.task import Task, held_out
from anyshot.protocols.base import MethodFactory
from anyshot.protocols.folds import held_out_fold_values
from anyshot.protocols.honest import Honest, Selection
from anyshot.protocols.settings import EvaluationConfig, ValidationConfig
from anyshot.training import fit

__all__ = ["AUTO_CANDIDATES", "CLOSED_FORM_FOLDS", "FEW_FOLD_CANDIDATES", "SOFT_CODE_CANDIDATES",
           "CandidateResult", "auto_select", "choose", "drop_redundant", "poor_fit_problems",
           "validation_settings", "validation_temperature"]

#: (name, preset) of the candidates of ``method="auto"``, cheap ones first; the first is the
#: default that a challenger must clearly beat.
AUTO_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("factorised-gaussian", "factorised-gaussian/tabular"),
    ("factorised-gaussian-unscaled", "factorised-gaussian/tabular-unscaled"),
    ("dap", "dap/tabular"),
    ("attribute-regression", "attribute-regression/tabular"),
    ("dap-logistic", "dap/tabular-logistic"),
    ("factorised-gaussian-soft", "factorised-gaussian/tabular-soft"),
    ("clswgan", "clswgan/tabular"),
    ("dap-random-forest", "dap/tabular-random-forest"),
    ("srwgan", "srwgan/tabular"),
)

#: Candidates that equal an earlier one where every attribute is 0 or 1 (soft codes are then the
#: binarised ones): left out for such tables.
SOFT_CODE_CANDIDATES = frozenset({"factorised-gaussian-soft"})


def drop_redundant(candidates: list, attributes: np.ndarray) -> list:
    """``candidates`` ((name, ...) tuples) without :data:`SOFT_CODE_CANDIDATES` when every
    attribute value is 0 or 1."""
    if np.isin(np.asarray(attributes), (0.0, 1.0)).all():
        return [c for c in candidates if c[0] not in SOFT_CODE_CANDIDATES]
    return candidates


#: Validation folds of the closed-form candidates (a fit takes about a second or less); the
#: generative ones and :data:`FEW_FOLD_CANDIDATES` use the estimator's ``folds``.
CLOSED_FORM_FOLDS = 30

#: Candidates without epochs whose fits take seconds (a forest per attribute): validated on the
#: estimator's ``folds``, as the generative ones are.
FEW_FOLD_CANDIDATES = frozenset({"dap-random-forest"})


class OutOfTime(AnyShotError):
    """A candidate's validation ran past the time budget."""


@dataclass
class CandidateResult:
    """One candidate's validation: its held-out score per fold and what it chose.

    ``status``: ``chosen``, ``validated``, ``skipped: ...`` or ``stopped: ...``."""

    name: str
    factory: MethodFactory | None
    status: str = "validated"
    per_fold: list[float] = field(default_factory=list)
    seconds: float = 0.0
    selection: Selection | None = None
    reason: str = ""

    @property
    def score(self) -> float:
        return float(np.mean(self.per_fold)) if self.per_fold else float("nan")

    @property
    def spread(self) -> float:
        return float(np.std(self.per_fold, ddof=1)) if len(self.per_fold) > 1 else 0.0

    def row(self) -> dict[str, Any]:
        """The candidate's line of ``selection_``."""
        return {"method": self.name, "score": self.score, "spread": self.spread,
                "folds": len(self.per_fold), "seconds": round(self.seconds, 2),
                "status": self.status, "reason": self.reason}


def validation_settings(folds: int, generalized: bool, calibration: bool, eval_every: int,
                        unseen_fraction: float) -> EvaluationConfig:
    """The honest protocol's settings for the estimator's folds."""
    return EvaluationConfig(
        protocol="honest", tasks=["zsl", "gzsl"] if generalized else ["zsl"],
        eval_every=eval_every, calibration=bool(calibration and generalized),
        validation=ValidationConfig(unseen_fraction=unseen_fraction, folds=folds))


def score_key(view: AnyShotData, generalized: bool, calibrated: bool) -> str:
    """The held-out score that ranks candidates."""
    task = Task.of(view, "gzsl" if generalized else "zsl")
    return held_out(task.selection_metric(calibrated))


def auto_select(data: AnyShotData, candidates: list[tuple[str, MethodFactory, int, int]], *,
                seed: int, generalized: bool, calibration: bool, unseen_fraction: float,
                max_time: float | None, level: float = 0.975, min_gain: float = 0.01
                ) -> tuple[list[CandidateResult], int]:
    """Validate ``candidates`` ((name, factory, folds, epochs between evaluations), default
    first) on ``data``'s folds and choose one (:func:`choose`); returns every candidate's result
    and the chosen index."""
    start = time.perf_counter()
    results: list[CandidateResult] = []
    for name, factory, folds, eval_every in candidates:
        elapsed = time.perf_counter() - start
        if max_time is not None and results and elapsed >= max_time:
            results.append(CandidateResult(name, factory, status="skipped: time budget",
                                           reason=f"{elapsed:.0f} s of max_time={max_time:g} "
                                                  "spent before it"))
            continue
        settings = validation_settings(folds, generalized, calibration, eval_every,
                                       unseen_fraction)
        t0 = time.perf_counter()

        def budget(_stage: str, _done: int, _total: int, t0: float = start) -> None:
            if max_time is not None and results and time.perf_counter() - t0 > max_time:
                raise OutOfTime("time budget")

        try:
            selection = Honest(settings).select(factory, data, seed, progress=budget)
        except OutOfTime:
            results.append(CandidateResult(name, factory, status="stopped: time budget",
                                           seconds=time.perf_counter() - t0,
                                           reason=f"max_time={max_time:g} s reached"))
            continue
        calibrated = settings.calibration
        key = score_key(selection.views[0], generalized, calibrated)
        values = held_out_fold_values(selection.curves, settings.tasks, selection.views[0],
                                      calibrated).get(key, [])
        results.append(CandidateResult(name, factory, per_fold=values,
                                       seconds=time.perf_counter() - t0, selection=selection))
    chosen = choose(results, level, min_gain)
    return results, chosen


def choose(results: list[CandidateResult], level: float = 0.975, min_gain: float = 0.01) -> int:
    """The index of the chosen candidate. The first is the incumbent; each later validated
    candidate, in order, replaces the incumbent if on the folds both have its mean paired gain
    is above ``min_gain`` and the lower end of the Student-t interval at ``level`` (one side;
    two-sided 95% by default) is above zero. Marks every result's status and reason."""
    default = results[0]
    if len(results) == 1:
        default.status, default.reason = "chosen", "the only candidate"
        return 0
    if not default.per_fold:
        raise AnyShotError("the default candidate has no validation score (too few seen classes "
                           "for two validation folds?); name a method instead of 'auto'.")
    best = 0
    for i, res in enumerate(results[1:], start=1):
        if not res.per_fold:
            continue
        incumbent = results[best]
        n = min(len(res.per_fold), len(incumbent.per_fold))
        diff = np.asarray(res.per_fold[:n]) - np.asarray(incumbent.per_fold[:n])
        gain = float(diff.mean())
        if n > 1:
            se = float(diff.std(ddof=1) / np.sqrt(n))
            need = float(stats.t.ppf(level, n - 1)) * se
        else:
            se = need = float("inf")
        res.reason = (f"{gain * 100:+.1f} points against {incumbent.name} on {n} folds "
                      f"(s.e. {se * 100:.1f}; needs > {max(need, min_gain) * 100:.1f})")
        if gain > need and gain > min_gain:
            best = i
    for i, res in enumerate(results):
        if i == best:
            res.status = "chosen"
            if i == 0:
                res.reason = (f"the default; no candidate beat it beyond the "
                              f"{200 * level - 100:g}% interval of the paired gain on the "
                              "same folds")
        elif res.status == "chosen":
            res.status = "validated"
    return best


def poor_fit_problems(selection: Selection, kind: str, calibrated: bool) -> list[str]:
    """What the validation folds say is wrong with a fit: held-out ZSL near chance (within a
    quarter of the way from chance to perfect), or GZSL seen or unseen accuracy under 10%."""
    view = selection.views[0]
    chance = 1.0 / max(view.unseen.size, 1)
    zsl = selection.validation.get(Task.of(view, "zsl").selection_metric())
    problems = []
    if zsl is not None and view.unseen.size > 1 and zsl < chance + (1 - chance) / 4:
        problems.append(f"ZSL accuracy on held-out seen classes {zsl * 100:.1f}% is near "
                        f"chance ({chance * 100:.0f}%)")
    if kind == "gzsl":
        g = Task.of(view, "gzsl")
        for part, label in (("u", "unseen"), ("s", "seen")):
            value = selection.validation.get(g.key(f"cal_{part}" if calibrated else part))
            if value is not None and value < 0.10:
                problems.append(f"GZSL {label} accuracy on the folds is {value * 100:.1f}%")
    return problems


def validation_temperature(chosen: CandidateResult, kind: str, epochs: int | None,
                           gamma: float | None) -> tuple[float, dict[str, float]]:
    """The temperature of ``predict_proba``, chosen on the validation folds so that its mean top
    probability matches the accuracy (:func:`~anyshot.evaluation.calibration.fit_temperature`):
    the chosen method refitted on each fold (the first only, for a generative one) at the
    chosen epoch, its calibrated scores on the fold's held-out rows. Returns T and, on those
    rows, the mean top probability and the accuracy it tracks."""
    sel = chosen.selection
    scores, labels = [], []
    for view in sel.views[:1 if chosen.factory().iterative else 3]:
        model = fit(chosen.factory(**sel.overrides), view, epochs=epochs)
        task = Task.of(view, kind)
        clf = CalibratedClassifier(
            model.build_classifier(task, view.X[task.real_rows], view.y[task.real_rows]),
            task.seen, gamma or 0.0)
        rows = np.concatenate([task.test_unseen, task.test_seen])
        scores.append(clf.scores(view.X[rows]))
        labels.append(np.searchsorted(task.candidates, view.y[rows]))
    s, y = np.concatenate(scores), np.concatenate(labels)
    t = fit_temperature(s, y)
    proba = np.exp(log_softmax(s / t))
    return t, {"proba_mean_top": float(proba.max(1).mean()),
               "proba_accuracy": float((proba.argmax(1) == y).mean())}
