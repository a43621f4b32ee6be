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

    @property
    def ratio_ok(self) -> np.ndarray:
        """First test of a good match: ``ratio < 1``."""
        return self.ratio < 1

    @property
    def share_ok(self) -> np.ndarray:
        """Second test: at least half of the class's synthetic points nearest its own class."""
        return self.own_share >= 0.5

    @property
    def good(self) -> np.ndarray:
        return self.ratio_ok & self.share_ok

    def failures(self) -> list[str]:
        """Per class, the tests it fails in words ('' when it passes both): what the report's
        caption and table both say, so they cannot disagree."""
        out = []
        for ratio, share, r_ok, s_ok in zip(self.ratio, self.own_share, self.ratio_ok,
                                            self.share_ok):
            failed = ([] if r_ok else [f"ratio {ratio:.2f}, not below 1"]) + \
                     ([] if s_ok else [f"{share * 100:.0f}% of its synthetic points nearest "
                                       "its own class, under half"])
            out.append("; ".join(failed))
        return out


#: The two tests of a good match, as the report states them.
MATCH_TESTS = ("ratio < 1, the synthetic mean nearer the real class mean than the nearest other "
               "class mean is", "at least half of the synthetic points nearest their own class")


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
