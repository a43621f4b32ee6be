"""The in-memory dataset every loader produces: :class:`AnyShotData`.

One object holds the features ``X`` (n, d), integer labels ``y`` (n,) indexing the rows of the
class-attribute table ``attributes`` (C, m), the class names, and the split: seen / unseen
classes and the sample index sets ``trainval``, ``test_seen`` and ``test_unseen``.

``trainval`` holds the samples a method may train on. In zero-shot splits these are seen-class
samples only; in few-shot splits (FSL/GFSL) they also hold the k labelled "shots" of each unseen
class. The test index sets are read once, at the end of an honest run.

:meth:`AnyShotData.validation_view` carves a validation problem out of ``trainval`` alone:
some seen classes are held out to play the unseen classes (class-disjoint, for ZSL-style
selection) and a fraction of the remaining seen samples are held out for GZSL seen accuracy.
The view is itself an :class:`AnyShotData`, so the whole pipeline runs on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from anyshot.errors import DataError

__all__ = ["AnyShotData"]


def _as_index(name: str, idx: Any, n: int) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise DataError(f"{name} must hold integer indices, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64).ravel()
    if arr.min() < 0 or arr.max() >= n:
        raise DataError(
            f"{name} has indices in [{arr.min()}, {arr.max()}] but there are only {n} samples "
            f"(valid 0..{n - 1}). If the indices come from a MATLAB file they are probably "
            "1-based: subtract 1."
        )
    return arr


@dataclass(frozen=True)
class AnyShotData:
    """Features, labels, class attributes and the split of one any-shot problem.

    Attributes:
        X: (n, d) float32 features.
        y: (n,) int64 class indices into ``attributes`` rows.
        attributes: (C, m) float32 class-attribute table.
        class_names: C names, one per attribute row.
        seen: sorted int64 indices of the seen classes.
        unseen: sorted int64 indices of the unseen (novel) classes.
        trainval: sample indices a method may train on (seen samples, plus k shots of each
            unseen class in few-shot splits).
        test_seen: held-out samples of seen classes (GZSL seen accuracy S).
        test_unseen: samples of unseen classes (ZSL accuracy, GZSL unseen accuracy U).
        name: a short dataset name, recorded with every result.
        meta: free-form provenance (files read, group name, scaling, ...).
    """

    X: np.ndarray
    y: np.ndarray
    attributes: np.ndarray
    class_names: tuple[str, ...]
    seen: np.ndarray
    unseen: np.ndarray
    trainval: np.ndarray
    test_seen: np.ndarray
    test_unseen: np.ndarray
    name: str = "data"
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        X: Any,
        y: Any,
        attributes: Any,
        *,
        seen: Any,
        unseen: Any,
        trainval: Any,
        test_seen: Any,
        test_unseen: Any,
        class_names: Any = None,
        name: str = "data",
        meta: dict[str, Any] | None = None,
    ) -> "AnyShotData":
        """Validate every input and build the dataset; raises :class:`DataError` on bad input."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise DataError(f"X must be a 2-D array (n_samples, n_features), got shape {X.shape}.")
        if X.dtype.kind not in "fiu":
            raise DataError(f"X must be numeric, got dtype {X.dtype}.")
        X = X.astype(np.float32, copy=False)
        bad = ~np.isfinite(X)
        if bad.any():
            rows = np.unique(np.nonzero(bad)[0])
            raise DataError(
                f"X has {int(bad.sum())} NaN/inf values in {rows.size} rows (first rows: "
                f"{rows[:5].tolist()}). Remove or impute those samples before loading."
            )
        y = np.asarray(y)
        if y.ndim != 1:
            y = y.ravel() if y.ndim == 2 and 1 in y.shape else y
        if y.ndim != 1:
            raise DataError(f"y must be 1-D with one label per sample, got shape {y.shape}.")
        if y.shape[0] != X.shape[0]:
            raise DataError(
                f"X has {X.shape[0]} rows but y has {y.shape[0]} labels; "
                "they must match one to one."
            )
        if y.dtype.kind not in "iu":
            raise DataError(
                f"y must hold integer class indices into the attribute rows, got dtype {y.dtype}. "
                "Map class names to row numbers first (AnyShotClassifier does this for you)."
            )
        y = y.astype(np.int64)
        A = np.asarray(attributes)
        if A.ndim != 2:
            raise DataError(
                f"attributes must be a 2-D table (n_classes, n_attributes), got shape {A.shape}."
            )
        A = A.astype(np.float32)
        if not np.isfinite(A).all():
            rows = np.unique(np.nonzero(~np.isfinite(A))[0])
            raise DataError(
                f"attributes has NaN/inf values in class rows {rows[:10].tolist()}; every class "
                "needs a complete attribute vector."
            )
        C = A.shape[0]
        if y.size and (y.min() < 0 or y.max() >= C):
            missing = np.unique(y[(y < 0) | (y >= C)])
            hint = ""
            if y.min() >= 1 and y.max() == C:
                hint = " The labels look 1-based (1..C): subtract 1."
            raise DataError(
                f"labels {missing[:10].tolist()} have no attribute row: the attribute table has "
                f"{C} rows (valid labels 0..{C - 1}).{hint}"
            )
        if class_names is None:
            class_names = tuple(str(i) for i in range(C))
        else:
            class_names = tuple(str(c) for c in class_names)
            if len(class_names) != C:
                raise DataError(
                    f"class_names has {len(class_names)} entries but attributes has {C} rows."
                )
            if len(set(class_names)) != C:
                dup = sorted({c for c in class_names if class_names.count(c) > 1})
                raise DataError(f"duplicate class names {dup[:10]}; "
                                "each class needs a unique name.")
        n = X.shape[0]
        seen_arr = np.unique(_as_index("seen", seen, C))
        unseen_arr = np.unique(_as_index("unseen", unseen, C))
        overlap = np.intersect1d(seen_arr, unseen_arr)
        if overlap.size:
            raise DataError(
                f"classes {[class_names[i] for i in overlap[:10]]} are both seen and unseen; "
                "each class must be in exactly one of the two sets."
            )
        parts = {
            "trainval": _as_index("trainval", trainval, n),
            "test_seen": _as_index("test_seen", test_seen, n),
            "test_unseen": _as_index("test_unseen", test_unseen, n),
        }
        data = cls(
            X=X,
            y=y,
            attributes=A,
            class_names=class_names,
            seen=seen_arr,
            unseen=unseen_arr,
            name=name,
            meta=dict(meta or {}),
            **parts,
        )
        data.check()
        return data

    def check(self) -> None:
        """Check the split's consistency; raises :class:`DataError` naming the problem."""
        if self.seen.size == 0:
            raise DataError("the split has no seen classes; at least one class must be seen.")
        if self.trainval.size == 0:
            raise DataError("trainval is empty: there is nothing to train on.")
        y_tv = self.y[self.trainval]
        seen_set = set(self.seen.tolist())
        unseen_set = set(self.unseen.tolist())
        stray = sorted(set(np.unique(y_tv).tolist()) - seen_set - unseen_set)
        if stray:
            raise DataError(
                f"trainval holds samples of classes "
                f"{[self.class_names[i] for i in stray[:10]]} that "
                "are neither seen nor unseen; add them to one of the two sets."
            )
        counts = np.bincount(y_tv, minlength=self.n_classes)
        empty = [int(c) for c in self.seen if counts[c] == 0]
        if empty:
            raise DataError(
                f"seen classes {[self.class_names[i] for i in empty[:10]]} have no training "
                "samples in trainval; drop them from the seen set or add samples."
            )
        for part, allowed, label in (
            ("test_seen", seen_set, "seen"),
            ("test_unseen", unseen_set, "unseen"),
        ):
            idx = getattr(self, part)
            wrong = sorted(set(np.unique(self.y[idx]).tolist()) - allowed)
            if wrong:
                raise DataError(
                    f"{part} holds samples of classes {[self.class_names[i] for i in wrong[:10]]} "
                    f"that are not {label} classes."
                )
        leak = np.intersect1d(self.trainval, np.concatenate([self.test_seen, self.test_unseen]))
        if leak.size:
            raise DataError(
                f"{leak.size} samples are in both trainval and a test set (first: "
                f"{leak[:5].tolist()}); train and test samples must be disjoint."
            )

    # ------------------------------------------------------------------ properties
    @property
    def n_classes(self) -> int:
        return int(self.attributes.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_attributes(self) -> int:
        return int(self.attributes.shape[1])

    @property
    def shots(self) -> np.ndarray:
        """Indices of the labelled unseen-class samples in trainval (empty in zero-shot splits)."""
        return self.trainval[np.isin(self.y[self.trainval], self.unseen)]

    @property
    def train_seen(self) -> np.ndarray:
        """Indices of the seen-class samples in trainval."""
        return self.trainval[np.isin(self.y[self.trainval], self.seen)]

    def summary(self) -> str:
        k = self.shots.size / max(self.unseen.size, 1)
        shots = (f"shots per unseen class ~{k:g}" if self.shots.size
                 else "zero-shot: no samples of unseen classes")
        return (
            f"{self.name}: {self.X.shape[0]} samples x {self.n_features} features, "
            f"{self.n_classes} classes x {self.n_attributes} attributes; "
            f"{self.seen.size} seen / {self.unseen.size} unseen; trainval {self.trainval.size}"
            f" ({shots}), test_seen {self.test_seen.size}, "
            f"test_unseen {self.test_unseen.size}"
        )

    # ------------------------------------------------------------------ derived datasets
    def with_features(self, X: np.ndarray, **meta: Any) -> "AnyShotData":
        """Same split, new features (after a transform such as scaling)."""
        if X.shape[0] != self.X.shape[0]:
            raise DataError("a feature transform must keep the number of samples")
        return replace(self, X=np.ascontiguousarray(X, dtype=np.float32),
                       meta={**self.meta, **meta})

    def with_shots(self, k: int, seed: int = 0) -> "AnyShotData":
        """A k-shot split (FSL/GFSL): k samples of each unseen class move from ``test_unseen``
        into ``trainval``, drawn reproducibly from ``seed``; the rest stay test samples.

        Any shots the split already had are returned to the pool first, so ``with_shots(0)``
        gives the zero-shot split back.
        """
        k = int(k)
        if k < 0:
            raise DataError(f"k (shots per unseen class) must be >= 0, got {k}.")
        pool = np.concatenate([self.test_unseen, self.shots])
        yp = self.y[pool]
        counts = np.bincount(yp, minlength=self.n_classes)[self.unseen]
        if k and counts.min() <= k:
            worst = self.unseen[np.argmin(counts)]
            raise DataError(
                f"k={k} shots need more than k samples of every unseen class, but class "
                f"{self.class_names[worst]!r} has only {counts.min()} (k must be at most "
                f"{counts.min() - 1} so that a test sample remains)."
            )
        rng = np.random.default_rng(seed)
        order = np.lexsort((rng.random(pool.size), yp))
        pool, yp = pool[order], yp[order]
        rank = np.arange(pool.size) - np.searchsorted(yp, yp, side="left")
        shot = rank < k
        return AnyShotData.create(
            self.X, self.y, self.attributes, seen=self.seen, unseen=self.unseen,
            trainval=np.sort(np.concatenate([self.train_seen, pool[shot]])),
            test_seen=self.test_seen, test_unseen=np.sort(pool[~shot]),
            class_names=self.class_names, name=self.name,
            meta={**self.meta, "shots": k, "shots_seed": seed},
        )

    def validation_unseen_count(self, unseen_fraction: float) -> int:
        """Seen classes a validation problem holds out: ``round(unseen_fraction * n_seen)``, at
        least one, leaving at least one seen.

        Raises:
            DataError: fewer than two seen classes.
        """
        n_seen = int(self.seen.size)
        if n_seen < 2:
            raise DataError(f"validation needs at least two seen classes (one to hold out as "
                            f"unseen); {self.name} has {n_seen}.")
        return min(max(int(round(unseen_fraction * n_seen)), 1), n_seen - 1)

    def validation_view(
        self,
        *,
        unseen_fraction: float = 0.2,
        holdout_fraction: float = 0.2,
        seed: int = 0,
        val_unseen: Any = None,
    ) -> "AnyShotData":
        """A validation problem carved from ``trainval`` only; the test sets are not touched.

        Args:
            unseen_fraction: share of the seen classes held out to act as unseen classes
                (at least one, and at least one seen class stays seen).
            holdout_fraction: share of each remaining seen class's samples held out as the
                validation "test_seen" set (GZSL seen accuracy).
            seed: draws the held-out classes and samples reproducibly.
            val_unseen: explicit class indices to hold out instead of a random draw (for
                example the xlsa17 ``val`` classes).

        In few-shot splits the shots of the held-out classes are drawn from their samples
        with the same k as the real split, so validation mirrors the real task.
        """
        rng = np.random.default_rng(seed)
        seen = self.seen
        if val_unseen is None:
            n_hold = self.validation_unseen_count(unseen_fraction)
            v_unseen = np.sort(rng.choice(seen, size=n_hold, replace=False))
        else:
            v_unseen = np.unique(np.asarray(val_unseen, dtype=np.int64))
            if not np.isin(v_unseen, seen).all():
                raise DataError("val_unseen classes must all be seen classes of the real split.")
        v_seen = np.setdiff1d(seen, v_unseen)
        tv = self.train_seen
        y_tv = self.y[tv]
        # Held-out seen samples: a per-class fraction, chosen by a random key sorted within class.
        # Time-ordered data (rows of a class follow one another in time, as in TEP runs) holds
        # out the last rows of each class instead, and drops the ``window - 1`` rows before them:
        # a held-out window then shares no sample with a training window (random rows would
        # leave near-copies of every held-out window in training).
        ordered = bool(self.meta.get("time_ordered", False))
        gap = max(int(self.meta.get("window", 1)) - 1, 0) if ordered else 0
        in_vseen = np.isin(y_tv, v_seen)
        cand = tv[in_vseen]
        keys = cand.astype(np.float64) if ordered else rng.random(cand.size)
        order = np.lexsort((keys, self.y[cand]))
        cand = cand[order]
        yc = self.y[cand]
        starts = np.searchsorted(yc, yc, side="left")
        rank = np.arange(cand.size) - starts
        counts = np.bincount(yc, minlength=self.n_classes)[yc]
        n_out = np.floor(holdout_fraction * counts).astype(np.int64)
        n_out = np.where(counts >= 2, np.maximum(n_out, 1), 0)
        if ordered:
            is_out = rank >= counts - n_out
            is_kept = rank < counts - n_out - gap
        else:
            is_out = rank < n_out
            is_kept = ~is_out
        v_test_seen = np.sort(cand[is_out])
        v_train = cand[is_kept]
        # The held-out classes' samples: k shots stay in training (few-shot), the rest is test.
        k = int(round(self.shots.size / self.unseen.size)) if self.unseen.size else 0
        pool = tv[~in_vseen]
        keys = rng.random(pool.size)
        order = np.lexsort((keys, self.y[pool]))
        pool = pool[order]
        yp = self.y[pool]
        rank = np.arange(pool.size) - np.searchsorted(yp, yp, side="left")
        is_shot = rank < k
        v_trainval = np.sort(np.concatenate([v_train, pool[is_shot]]))
        v_test_unseen = np.sort(pool[~is_shot])
        return AnyShotData.create(
            self.X,
            self.y,
            self.attributes,
            seen=v_seen,
            unseen=v_unseen,
            trainval=v_trainval,
            test_seen=v_test_seen,
            test_unseen=v_test_unseen,
            class_names=self.class_names,
            name=f"{self.name}[validation]",
            meta={**self.meta, "validation_of": self.name, "validation_seed": seed},
        )
