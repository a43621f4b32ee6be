"""Loader for the any-shot split files published with the official SRWGAN code.

A split file ``SplitsOf{Zero,One,Five}SL.mat`` (FLO, Oxford 102 flowers) holds

    trainval_index     (1, n_tv)   0-based rows of the features file a method may train on; in
                                   the one-/five-shot files it also holds k samples of every
                                   unseen class (the "shots")
    test_seen_index    (1, n_s)    0-based rows, seen-class test samples
    test_unseen_index  (1, n_u)    0-based rows, unseen-class test samples
    attributes         (C, m)      class attributes, one row per class (FLO: 102 x 1024)

The split files hold no features and no labels: those come from the user's features file, a
.mat with

    features   (N, d) or (d, N)    (the xlsa17 ``res101.mat`` stores it as 2048 x N)
    labels     (N,) / (N, 1)       class of each row, 0-based (0..C-1) or 1-based (1..C)

The orientation of ``features`` is detected by matching one of its dimensions to N, the number
of labels. The label base is detected from the range: a minimum of 0 means 0-based; otherwise a
maximum equal to C (the number of attribute rows) means 1-based (the xlsa17 convention, e.g. the
FLO ``res101.mat``). Any other range is ambiguous and an error; pass ``label_base`` explicitly.

This module also holds :func:`read_mat`, the ``scipy.io.loadmat`` wrapper every .mat loader of
anyshot uses, so that missing files, MATLAB v7.3 (HDF5) files and missing keys all produce a
:class:`~anyshot.errors.DataError` that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io as sio

from anyshot.data.dataset import AnyShotData
from anyshot.errors import DataError

__all__ = ["load_anyshot_mat", "read_mat"]

_SPLIT_KEYS = ("trainval_index", "test_seen_index", "test_unseen_index", "attributes")
_FEATURE_KEYS = ("features", "labels")


def read_mat(
    path: str | Path,
    keys: Sequence[str] = (),
    *,
    missing_hint: str = "",
) -> dict[str, np.ndarray]:
    """Read a MATLAB (v5/v7) file with ``scipy.io.loadmat`` and check that ``keys`` are present.

    Args:
        path: the .mat file.
        keys: variables the file must hold.
        missing_hint: appended to the error when the file does not exist (what the file is and
            where to get it).

    Returns:
        The variables of the file (MATLAB header entries ``__header__`` etc. removed).

    Raises:
        DataError: the file is missing, unreadable, a v7.3 (HDF5) file, or lacks one of ``keys``.
    """
    path = Path(path)
    if not path.is_file():
        where = "is a directory, not a file" if path.is_dir() else "not found"
        raise DataError(f"{path} {where}." + (f" {missing_hint}" if missing_hint else ""))
    try:
        raw = sio.loadmat(str(path))
    except NotImplementedError as exc:
        raise DataError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which scipy.io.loadmat cannot read and anyshot "
            "does not read either (h5py is not a dependency). Re-save it in MATLAB as v7 with "
            "save(filename, '-v7'), or load it with h5py yourself and call AnyShotData.create."
        ) from exc
    except Exception as exc:  # scipy raises ValueError, TypeError, OSError, struct.error, ...
        raise DataError(
            f"{path} could not be read as a MATLAB .mat file ({type(exc).__name__}: {exc}). "
            "Check that the file is complete (not a partial download) and really a .mat file."
        ) from exc
    data = {k: v for k, v in raw.items() if not k.startswith("__")}
    missing = [k for k in keys if k not in data]
    if missing:
        raise DataError(
            f"{path} has no variable(s) {missing}; it holds {sorted(data)}. "
            f"Expected the variables {list(keys)}: is this the right file?"
        )
    return data


def _indices(name: str, arr: np.ndarray, n: int, split_file: Path) -> np.ndarray:
    """A split file's 0-based index vector as int64, checked against ``n`` feature rows."""
    a = np.asarray(arr)
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    where = f"{name} in {split_file}"
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise DataError(f"{where} holds non-integer values; expected row indices.")
    elif a.dtype.kind not in "iu":
        raise DataError(f"{where} has dtype {a.dtype}; expected integer row indices.")
    # Widen before any arithmetic: the files store uint16, where mistakes wrap around silently.
    a = a.astype(np.int64).ravel()
    if a.min() < 0:
        raise DataError(f"{name} in {split_file} holds negative index {int(a.min())}.")
    if a.max() >= n:
        hint = (
            " The largest index equals the number of rows, so the indices may be 1-based; the "
            "SRWGAN split files are 0-based."
            if a.max() == n
            else ""
        )
        raise DataError(
            f"{name} in {split_file} holds index {int(a.max())} but the features have only {n} "
            f"rows (valid 0..{n - 1}): the features file does not match this split file.{hint}"
        )
    return a


def _labels(
    raw: np.ndarray, n_classes: int, label_base: int | None, path: Path
) -> tuple[np.ndarray, int]:
    """0-based int64 labels and the detected (or given) base of ``raw``."""
    lab = np.asarray(raw)
    if lab.ndim > 1 and sum(s > 1 for s in lab.shape) > 1:
        raise DataError(f"labels in {path} has shape {lab.shape}; expected one label per row (N,).")
    lab = lab.ravel()
    if lab.size == 0:
        raise DataError(f"labels in {path} is empty.")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or not np.all(lab == np.round(lab)):
            raise DataError(f"labels in {path} holds non-integer values; expected class numbers.")
    elif lab.dtype.kind not in "iu":
        raise DataError(f"labels in {path} has dtype {lab.dtype}; expected integer class numbers.")
    lab = lab.astype(np.int64)
    lo, hi = int(lab.min()), int(lab.max())
    if label_base is None:
        if lo == 0:
            label_base = 0
        elif lo >= 1 and hi == n_classes:
            label_base = 1
        elif lo < 0 or hi > n_classes:
            label_base = 0  # fits neither base; reported below
        else:
            raise DataError(
                f"cannot tell whether the labels in {path} are 0-based or 1-based: they range "
                f"{lo}..{hi} and the split has {n_classes} classes (0-based labels start at 0, "
                f"1-based ones end at {n_classes}). Pass label_base=0 or label_base=1."
            )
    elif label_base not in (0, 1):
        raise DataError(f"label_base must be 0, 1 or None (detect), got {label_base!r}.")
    y = lab - label_base
    if y.min() < 0 or y.max() >= n_classes:
        raise DataError(
            f"labels in {path} range {lo}..{hi}, which do not fit the {n_classes} attribute rows "
            f"of the split file as {label_base}-based labels: the features file does not match it."
        )
    return y, label_base


def _orient_features(features: np.ndarray, n: int, path: Path) -> np.ndarray:
    """``features`` as (N, d), accepting the (d, N) layout of xlsa17 files."""
    F = np.asarray(features)
    if F.ndim != 2:
        raise DataError(f"features in {path} has shape {F.shape}; expected a 2-D (N, d) array.")
    if F.shape[0] == n:
        return F
    if F.shape[1] == n:
        return np.ascontiguousarray(F.T)
    raise DataError(
        f"features in {path} has shape {F.shape} but labels has {n} entries: neither dimension "
        "matches the number of labels. Features and labels must come from the same file."
    )


def load_anyshot_mat(
    features_file: str | Path,
    split_file: str | Path,
    *,
    name: str = "flo",
    label_base: int | None = None,
) -> AnyShotData:
    """Load an SRWGAN any-shot split (zero-, one- or five-shot) on the user's features.

    Args:
        features_file: .mat with ``features`` (N, d) or (d, N) and ``labels`` (N,) (for FLO, the
            xlsa17 ``res101.mat``).
        split_file: a ``SplitsOf{Zero,One,Five}SL.mat`` file (keys ``trainval_index``,
            ``test_seen_index``, ``test_unseen_index``: 0-based; ``attributes``: (C, m)).
        name: dataset name recorded in the result.
        label_base: 0 or 1 to state the label convention; ``None`` detects it (see the module
            docstring).

    Returns:
        An :class:`AnyShotData` with X (N, d), y (N,) 0-based, attributes (C, m), seen = classes
        of ``test_seen_index``, unseen = classes of ``test_unseen_index``, trainval as in the file
        (split file order kept) and ``meta["shots"]`` = k, the number of labelled samples per
        unseen class in trainval (0, 1 or 5 for the published files).

    Raises:
        DataError: missing/unreadable files, indices outside the features, labels inconsistent
            with the split (a class both seen and unseen, an unequal number of shots per unseen
            class).
    """
    features_file = Path(features_file)
    split_file = Path(split_file)
    split = read_mat(
        split_file,
        _SPLIT_KEYS,
        missing_hint=(
            "Expected an SRWGAN any-shot split file (SplitsOfZeroSL.mat, SplitsOfOneSL.mat or "
            "SplitsOfFiveSL.mat) with keys " + ", ".join(_SPLIT_KEYS) + "."
        ),
    )
    feats = read_mat(
        features_file,
        _FEATURE_KEYS,
        missing_hint=(
            "The features file is the user's copy (e.g. FLO's res101.mat from the xlsa17 "
            "benchmark, http://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip) with keys "
            "'features' and 'labels'; it is not shipped with anyshot."
        ),
    )
    A = np.asarray(split["attributes"], dtype=np.float64)
    if A.ndim != 2:
        raise DataError(f"attributes in {split_file} has shape {A.shape}; expected (C, m).")
    C = A.shape[0]
    y, base = _labels(feats["labels"], C, label_base, features_file)
    X = _orient_features(feats["features"], y.size, features_file)
    n = X.shape[0]
    tv = _indices("trainval_index", split["trainval_index"], n, split_file)
    ts = _indices("test_seen_index", split["test_seen_index"], n, split_file)
    tu = _indices("test_unseen_index", split["test_unseen_index"], n, split_file)
    seen = np.unique(y[ts])
    unseen = np.unique(y[tu])
    both = np.intersect1d(seen, unseen)
    if both.size:
        raise DataError(
            f"classes {both[:10].tolist()} (0-based) have samples in both test_seen_index and "
            f"test_unseen_index: the labels of {features_file} do not match {split_file} "
            "(features of another dataset, or rows in another order)."
        )
    stray = np.setdiff1d(np.unique(y[tv]), np.union1d(seen, unseen))
    if stray.size:
        raise DataError(
            f"trainval_index holds samples of classes {stray[:10].tolist()} that are in neither "
            f"test set: the labels of {features_file} do not match {split_file}."
        )
    counts = np.bincount(y[tv], minlength=C)[unseen]
    if counts.size and counts.min() != counts.max():
        raise DataError(
            f"trainval_index holds between {int(counts.min())} and {int(counts.max())} samples per "
            "unseen class; an any-shot split gives every unseen class the same k shots. The labels "
            f"of {features_file} do not match {split_file}."
        )
    k = int(counts[0]) if counts.size else 0
    return AnyShotData.create(
        X,
        y,
        A,
        seen=seen,
        unseen=unseen,
        trainval=tv,
        test_seen=ts,
        test_unseen=tu,
        class_names=[f"class_{c + 1:03d}" for c in range(C)],
        name=name,
        meta={
            "loader": "load_anyshot_mat",
            "features_file": str(features_file),
            "split_file": str(split_file),
            "label_base": base,
            "shots": k,
        },
    )
