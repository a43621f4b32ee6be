"""How well synthetic features match the real ones, class by class, in the full feature space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ClassMatch:
    """How well the synthetic features of each class match its real ones, in the space the
    final classifier sees (arrays of length k, one entry per class).

    Attributes:
        offset: distance between the real and the synthetic class mean.
        nearest: distance from the real class mean to the nearest other class's real mean.
        ratio: ``offset / nearest``; below 1 the synthetic centre is nearer its own class than
            the nearest other class is.
        spread: RMS distance of synthetic points to their mean over that of the real points.
        own_share: share of synthetic points whose nearest real class mean is their own class's.
    """

    offset: np.ndarray
    nearest: np.ndarray
    ratio: np.ndarray
    spread: np.ndarray
    own_share: np.ndarray


def class_match(real: np.ndarray, y_real: np.ndarray, synth: np.ndarray, y_synth: np.ndarray,
                classes: np.ndarray) -> ClassMatch:
    """Per-class agreement of synthetic (n_s, d) and real (n_r, d) features, vectorised.

    Every class of ``classes`` needs at least one real and one synthetic point.
    """
    classes = np.asarray(classes)
    k = classes.size
    ir, is_ = np.searchsorted(classes, y_real), np.searchsorted(classes, y_synth)
    nr, ns = np.bincount(ir, minlength=k), np.bincount(is_, minlength=k)
    mu_r = np.zeros((k, real.shape[1]))
    mu_s = np.zeros((k, real.shape[1]))
    np.add.at(mu_r, ir, real)
    np.add.at(mu_s, is_, synth)
    mu_r /= nr[:, None]
    mu_s /= ns[:, None]
    offset = np.linalg.norm(mu_s - mu_r, axis=1)
    between = np.linalg.norm(mu_r[:, None, :] - mu_r[None, :, :], axis=2)
    np.fill_diagonal(between, np.inf)
    nearest = between.min(axis=1) if k > 1 else np.full(k, np.inf)
    rms_r = np.sqrt(np.bincount(ir, ((real - mu_r[ir]) ** 2).sum(1), minlength=k) / nr)
    rms_s = np.sqrt(np.bincount(is_, ((synth - mu_s[is_]) ** 2).sum(1), minlength=k) / ns)
    to_means = ((synth[:, None, :] - mu_r[None, :, :]) ** 2).sum(2)
    own = np.bincount(is_, (to_means.argmin(1) == is_).astype(np.float64), minlength=k) / ns
    return ClassMatch(offset, nearest, offset / nearest,
                      np.divide(rms_s, rms_r, out=np.full(k, np.inf), where=rms_r > 0), own)
