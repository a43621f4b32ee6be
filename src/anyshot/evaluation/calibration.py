"""Calibrated stacking for generalized zero-/few-shot learning (Chao et al., ECCV 2016).

A classifier trained on real seen features (and synthetic or described unseen ones) is biased
towards the seen classes: in GZSL, unseen test samples are mostly labelled seen and U collapses.
Calibrated stacking subtracts one constant gamma from the seen classes' log-posteriors:

    L(x) = log_softmax(scores(x))                            # (K,) over candidates C = S u U
    y_hat(x; gamma) = argmax_{c in C}  L_c(x) - gamma * [c in S]

gamma = 0 is the plain classifier; gamma -> +inf predicts unseen classes only. gamma is chosen on
the validation problem's harmonic mean H (never on test) and applied once to the test sets.

Only the best seen and the best unseen candidate of a sample can win, whatever gamma is, so the
prediction switches from seen to unseen exactly once, when gamma passes the margin

    m(x) = max_{c in S} L_c(x) - max_{c in U} L_c(x),

which makes the whole H curve over a grid of G gammas an (G, n) comparison instead of G argmaxes
over (n, K) score matrices.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from anyshot.evaluation.final_classifier import Classifier

__all__ = ["GAMMA_GRID", "TEMPERATURES", "CalibratedClassifier", "CalibrationCurve",
           "calibrated_predict", "fit_temperature", "h_curve", "log_softmax"]

GAMMA_GRID: np.ndarray = np.concatenate([[0.0], np.geomspace(1e-2, 1e4, 49)])
"""The gammas searched on validation: 0 (no calibration) and 49 log-spaced values from 0.01 to
10^4, wide enough for the log-likelihood gaps of Gaussian class-conditional classifiers (which
reach hundreds or thousands of nats) as well as for softmax and cosine scores (a few units)."""


class CalibrationCurve(NamedTuple):
    """Per-class accuracies of GZSL with calibrated stacking, one entry per gamma.

    gamma, u, s, h: (G,) float64 -- the gammas, unseen accuracy U, seen accuracy S and
    H = 2 U S / (U + S) (0 where U + S = 0).
    """

    gamma: np.ndarray
    u: np.ndarray
    s: np.ndarray
    h: np.ndarray

    @property
    def best(self) -> int:
        """Index of the first gamma with the largest H (ties go to the smallest gamma)."""
        return int(np.argmax(self.h))


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """(n, K) scores -> (n, K) log-posteriors  L_c = s_c - log sum_k exp(s_k)  (stable)."""
    s = np.asarray(scores, dtype=np.float64)
    m = s.max(axis=1, keepdims=True)
    return s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))


def _check(log_post: np.ndarray, candidates: np.ndarray, seen_mask: np.ndarray) -> None:
    if log_post.ndim != 2:
        raise ValueError(f"log_post must be an (n, K) matrix, got shape {log_post.shape}.")
    K = log_post.shape[1]
    if candidates.shape != (K,) or seen_mask.shape != (K,):
        raise ValueError(f"log_post has {K} columns but candidates has shape "
                         f"{candidates.shape} and "
                         f"seen_mask {seen_mask.shape}; "
                         "give one candidate and one flag per column.")


def calibrated_predict(log_post: np.ndarray, candidates: np.ndarray, seen_mask: np.ndarray,
                       gamma: float | np.ndarray) -> np.ndarray:
    """Calibrated stacking:  y_hat = candidates[argmax_c L_c - gamma * [c in S]].

    Args:
        log_post: (n, K) log-posteriors over the candidates (any per-row shift of the scores
            gives the same predictions; :func:`log_softmax` of the scores is the convention).
        candidates: (K,) class indices of the columns.
        seen_mask: (K,) bool, True for the seen (base) candidates S.
        gamma: a float, or (G,) gammas.

    Returns:
        (n,) predicted class indices for a float gamma, (G, n) for an array of gammas. Ties are
        broken as ``np.argmax`` breaks them (the lower column wins), so gamma = 0 gives exactly
        the uncalibrated ``candidates[argmax L]``.
    """
    L = np.asarray(log_post, dtype=np.float64)
    candidates = np.asarray(candidates)
    seen_mask = np.asarray(seen_mask, dtype=bool)
    _check(L, candidates, seen_mask)
    scalar = np.ndim(gamma) == 0
    g = np.atleast_1d(np.asarray(gamma, dtype=np.float64))[:, None]  # (G, 1)
    if seen_mask.all() or not seen_mask.any():  # nothing to trade off: gamma shifts every column
        pred = np.broadcast_to(candidates[np.argmax(L, axis=1)], (g.shape[0], L.shape[0]))
        return pred[0] if scalar else pred.copy()
    seen_cols, unseen_cols = np.flatnonzero(seen_mask), np.flatnonzero(~seen_mask)
    i_s = seen_cols[np.argmax(L[:, seen_cols], axis=1)]  # (n,) best seen column
    i_u = unseen_cols[np.argmax(L[:, unseen_cols], axis=1)]  # (n,) best unseen column
    rows = np.arange(L.shape[0])
    # (G, n), the same float expression as argmax_c(L_c - g[c in S])
    lhs = L[rows, i_s][None, :] - g
    rhs = L[rows, i_u][None, :]
    seen_wins = (lhs > rhs) | ((lhs == rhs) & (i_s < i_u)[None, :])
    pred = candidates[np.where(seen_wins, i_s[None, :], i_u[None, :])]
    return pred[0] if scalar else pred


def _per_class_accuracy_rows(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(n,) labels, (G, n) predictions -> (G,) per-class mean accuracy of each row, the metric of
    :func:`anyshot.evaluation.metrics.per_class_accuracy` for G predictions at once."""
    classes, inv = np.unique(y_true, return_inverse=True)
    C, G = classes.size, y_pred.shape[0]
    correct = (y_pred == y_true[None, :]).astype(np.float64)  # (G, n)
    idx = (np.arange(G)[:, None] * C + inv[None, :]).ravel()
    per_class = np.bincount(idx, weights=correct.ravel(), minlength=G * C).reshape(G, C)
    return (per_class / np.bincount(inv, minlength=C)[None, :]).mean(axis=1)


def h_curve(log_post_unseen: np.ndarray, y_unseen: np.ndarray, log_post_seen: np.ndarray,
            y_seen: np.ndarray, candidates: np.ndarray, seen_mask: np.ndarray,
            gammas: np.ndarray = GAMMA_GRID) -> CalibrationCurve:
    """U, S and H of calibrated stacking at every gamma of ``gammas``.

        U(gamma) = per-class accuracy of y_hat(x; gamma) on the unseen test samples,
        S(gamma) = the same on the seen test samples,  H = 2 U S / (U + S).

    Args:
        log_post_unseen: (n_u, K) log-posteriors of the unseen test samples; y_unseen: (n_u,).
        log_post_seen: (n_s, K) log-posteriors of the seen test samples; y_seen: (n_s,).
        candidates: (K,) class indices; seen_mask: (K,) bool, True for seen candidates.
        gammas: (G,) gammas, by default :data:`GAMMA_GRID`.
    """
    gammas = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    y_unseen, y_seen = np.asarray(y_unseen).ravel(), np.asarray(y_seen).ravel()
    if y_unseen.size == 0 or y_seen.size == 0:
        raise ValueError("h_curve needs unseen and seen test samples (one of the sets is empty).")
    for name, L, y in (("log_post_unseen", log_post_unseen, y_unseen),
                       ("log_post_seen", log_post_seen, y_seen)):
        if np.shape(L)[0] != y.size:
            raise ValueError(f"{name} has {np.shape(L)[0]} rows but its labels have {y.size}.")
    u = _per_class_accuracy_rows(y_unseen, calibrated_predict(log_post_unseen, candidates,
                                                              seen_mask, gammas))
    s = _per_class_accuracy_rows(y_seen, calibrated_predict(log_post_seen, candidates,
                                                            seen_mask, gammas))
    total = u + s
    h = np.where(total > 0, 2.0 * u * s / np.where(total > 0, total, 1.0), 0.0)
    return CalibrationCurve(gammas, u, s, h)


class CalibratedClassifier(Classifier):
    """Calibrated stacking and a temperature applied to a classifier: scores

        ( log_softmax(s(x)) - gamma * [c in S] ) / T,

    so ``predict`` is :func:`calibrated_predict` at ``gamma`` (T > 0 changes no argmax) and
    ``predict_proba``, their softmax, sums to 1 over the candidates with a confidence that T
    (chosen on validation, :func:`fit_temperature`) brings in line with the accuracy.

    Args:
        inner: the classifier over the candidates.
        seen_mask: (K,) bool, True for the seen candidates S (all False for ZSL).
        gamma: the calibration gamma (chosen on validation); 0 for none.
        temperature: T.
    """

    def __init__(self, inner: Classifier, seen_mask: np.ndarray, gamma: float = 0.0,
                 temperature: float = 1.0) -> None:
        self.inner = inner
        self.candidates = inner.candidates
        self.seen_mask = np.asarray(seen_mask, dtype=bool)
        self.gamma = float(gamma)
        self.temperature = float(temperature)

    def scores(self, X: np.ndarray) -> np.ndarray:
        calibrated = log_softmax(self.inner.scores(X)) - self.gamma * self.seen_mask[None, :]
        return calibrated / self.temperature

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return self.inner.state_tensors()


#: The temperatures searched on validation.
TEMPERATURES: np.ndarray = np.geomspace(0.01, 100.0, 161)


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T of :data:`TEMPERATURES` whose confidence matches the accuracy on
    validation rows: the mean top probability of softmax(scores / T) closest to the share of
    rows whose top class is the label (T never changes which class is on top). scores (n, K),
    labels (n,) column indices; the first of equal ones wins; 1.0 for no rows."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return 1.0
    accuracy = float((scores.argmax(1) == labels).mean())
    gaps = [abs(float(np.exp(log_softmax(scores / t)).max(1).mean()) - accuracy)
            for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(gaps))])
