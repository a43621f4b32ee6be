"""Loader for the xlsa17 benchmark (Xian et al., "Zero-Shot Learning - The Good, the Bad and the
Ugly"): AWA1, AWA2, CUB, SUN, APY and FLO with the "proposed split" (PS).

Each dataset directory holds two MATLAB files:

``res101.mat`` (the user's copy; too large to ship)
    features  (2048, N)   ResNet-101 features, one column per image (note: transposed)
    labels    (N, 1)      class of each image, 1-based (1..C)

``att_splits.mat``
    att                 (m, C)   class attributes (L2-normalized columns) -> transposed to (C, m)
    allclasses_names    (C, 1)   class names
    trainval_loc, train_loc, val_loc, test_seen_loc, test_unseen_loc
                        (n, 1)   1-based rows of res101.mat

Indices and labels are converted to 0-based. ``train_loc``/``val_loc`` split ``trainval_loc``
into class-disjoint parts; the classes of ``val_loc`` are recorded in
``meta["val_unseen_classes"]`` so that an honest protocol can hold them out
(``data.validation_view(val_unseen=data.meta["val_unseen_classes"])``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from anyshot.data.anyshot_mat import read_mat
from anyshot.data.dataset import AnyShotData
from anyshot.errors import DataError

__all__ = ["load_xlsa17", "XLSA17_DATASETS", "XLSA17_URL"]

XLSA17_DATASETS = ("APY", "AWA1", "AWA2", "CUB", "FLO", "SUN")
XLSA17_URL = "http://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip"

_LOC_KEYS = ("trainval_loc", "train_loc", "val_loc", "test_seen_loc", "test_unseen_loc")
_SPLIT_KEYS = ("att", "allclasses_names", *_LOC_KEYS)


def _resolve_dir(root_or_dataset_dir: str | Path, dataset: str | None, splits_file: str) -> Path:
    """The directory holding the two files: ``root/dataset`` or the given directory itself."""
    base = Path(root_or_dataset_dir)
    if dataset is None:
        if not base.is_dir():
            raise DataError(
                f"{base} is not a directory. Pass the directory that holds res101.mat and "
                f"att_splits.mat (e.g. xlsa17/data/CUB), or the xlsa17 data root plus dataset=."
            )
        if not (base / splits_file).exists():
            subs = sorted(p.name for p in base.iterdir() if (p / splits_file).is_file())
            if subs:
                raise DataError(
                    f"{base} holds no {splits_file} but its subfolders {subs} do: it looks like "
                    f"the xlsa17 root; pass dataset=, e.g. load_xlsa17({str(base)!r}, {subs[0]!r})."
                )
        return base
    if not base.is_dir():
        raise DataError(
            f"xlsa17 root {base} is not a directory; it should hold one folder per dataset "
            f"({', '.join(XLSA17_DATASETS)}). The benchmark files are at {XLSA17_URL}."
        )
    path = base / dataset
    if not path.is_dir():
        present = sorted(p.name for p in base.iterdir() if p.is_dir())
        close = [p for p in present if p.lower() == dataset.lower()]
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(f"no dataset folder {path}; {base} holds {present}.{hint}")
    return path


def _require_disjoint(a: np.ndarray, b: np.ndarray, names: list[str], problem: str) -> None:
    """A DataError naming (up to 10 of) the classes in both ``a`` and ``b``, then ``problem``."""
    both = np.intersect1d(a, b)
    if both.size:
        raise DataError(f"classes {[names[c] for c in both[:10]]} {problem}")


def _locs(split: dict[str, np.ndarray], n: int, path: Path) -> dict[str, np.ndarray]:
    """The ``*_loc`` vectors as 0-based int64, checked against the ``n`` rows of res101.mat."""
    out: dict[str, np.ndarray] = {}
    largest = 0
    for key in _LOC_KEYS:
        a = np.asarray(split[key])
        if a.dtype.kind == "f" and a.size and not np.all(a == np.round(a)):
            raise DataError(f"{key} in {path} holds non-integer values; expected 1-based rows.")
        if a.dtype.kind not in "iuf":
            raise DataError(f"{key} in {path} has dtype {a.dtype}; expected 1-based row numbers.")
        # Widen first: the files store uint16, where subtracting 1 from 0 wraps to 65535.
        a = a.astype(np.int64).ravel()
        if a.size and a.min() < 1:
            raise DataError(
                f"{key} in {path} contains {int(a.min())}, but xlsa17 indices are 1-based "
                "(MATLAB rows start at 1): the file looks already converted to 0-based. Use the "
                f"original att_splits.mat from {XLSA17_URL}, or add 1 to every *_loc before saving."
            )
        largest = max(largest, int(a.max()) if a.size else 0)
        out[key] = a - 1
    if largest != n:
        raise DataError(
            f"the largest index in {path} is {largest} but res101.mat has {n} samples; in xlsa17 "
            "the split indices cover every sample, so the two files must agree. The features "
            "belong to another dataset (e.g. AWA1 features with the AWA2 split) or are truncated."
        )
    return out


def _class_names(raw: Any, path: Path) -> list[str]:
    """``allclasses_names`` (a MATLAB cell array) as a list of Python strings."""
    names = []
    for item in np.asarray(raw, dtype=object).ravel():
        v = np.asarray(item).ravel()
        names.append(str(v[0]) if v.size else "")
    if any(not s for s in names):
        raise DataError(f"allclasses_names in {path} has empty entries.")
    return names


def load_xlsa17(
    root_or_dataset_dir: str | Path,
    dataset: str | None = None,
    *,
    features_file: str = "res101.mat",
    splits_file: str = "att_splits.mat",
    use_val_split: bool = False,
) -> AnyShotData:
    """Load one xlsa17 dataset with its proposed split.

    Args:
        root_or_dataset_dir: the dataset directory (holding ``features_file`` and
            ``splits_file``), or the xlsa17 data root when ``dataset`` is given.
        dataset: dataset folder under the root (``"CUB"``, ``"AWA2"``, ...), or ``None``.
        features_file: the features file name (``res101.mat``, the user's copy).
        splits_file: the split file name (``att_splits.mat``).
        use_val_split: return the xlsa17 validation problem instead of the test problem:
            trainval = ``train_loc``, unseen = the classes of ``val_loc``, test_unseen =
            ``val_loc`` and an empty test_seen (xlsa17 defines no seen validation samples, so
            only ZSL can be scored; for a GZSL validation use :meth:`AnyShotData.validation_view`
            with ``val_unseen=meta["val_unseen_classes"]``). The test locations are not used.

    Returns:
        An :class:`AnyShotData` with X (N, d) float32, y (N,) 0-based, attributes (C, m) from
        ``att``, class names from ``allclasses_names``; seen = classes of ``trainval_loc``,
        unseen = classes of ``test_unseen_loc``, trainval / test_seen / test_unseen from the
        ``*_loc`` vectors (0-based, file order kept), and ``meta["val_unseen_classes"]``
        (list of int) = the classes of ``val_loc``.

    Raises:
        DataError: a missing or unreadable file, indices or labels that are not 1-based,
            features whose sample count does not match the split, labels inconsistent with the
            split, or NaN/inf features.
    """
    directory = _resolve_dir(root_or_dataset_dir, dataset, splits_file)
    name = dataset if dataset is not None else directory.resolve().name
    split_path = directory / splits_file
    feat_path = directory / features_file
    split = read_mat(
        split_path,
        _SPLIT_KEYS,
        missing_hint=(
            f"{splits_file} is the xlsa17 split file (att, allclasses_names, *_loc) of this "
            f"dataset; the benchmark files are at {XLSA17_URL}."
        ),
    )
    feats = read_mat(
        feat_path,
        ("features", "labels"),
        missing_hint=(
            f"{features_file} is the user's copy of the xlsa17 ResNet-101 features (features "
            f"2048 x N, labels N x 1) and is not shipped with anyshot; the benchmark files are "
            f"at {XLSA17_URL}. Put res101.mat next to {splits_file} in {directory}."
        ),
    )
    names = _class_names(split["allclasses_names"], split_path)
    C = len(names)
    att = np.asarray(split["att"], dtype=np.float64)
    if att.ndim != 2 or C not in att.shape:
        raise DataError(
            f"att in {split_path} has shape {att.shape}, which does not fit the {C} class names; "
            "expected (n_attributes, n_classes)."
        )
    A = att.T if att.shape[1] == C else att

    labels = np.asarray(feats["labels"])
    if labels.ndim > 1 and sum(s > 1 for s in labels.shape) > 1:
        raise DataError(f"labels in {feat_path} has shape {labels.shape}; expected (N, 1).")
    labels = labels.ravel()
    if labels.dtype.kind not in "iuf" or (
        labels.dtype.kind == "f" and not np.all(labels == np.round(labels))
    ):
        raise DataError(f"labels in {feat_path} must be integer class numbers 1..{C}.")
    labels = labels.astype(np.int64)
    n = labels.size
    if n == 0:
        raise DataError(f"{feat_path} holds no samples (labels is empty).")
    if labels.min() < 1 or labels.max() > C:
        hint = (
            " The labels contain 0, so they look already converted to 0-based; xlsa17 labels "
            "are 1-based. Use the original res101.mat or add 1 to labels."
            if labels.min() == 0 and labels.max() <= C - 1
            else ""
        )
        raise DataError(
            f"labels in {feat_path} range {int(labels.min())}..{int(labels.max())} but "
            f"{splits_file} has {C} classes (1-based labels 1..{C}).{hint}"
        )
    y = labels - 1

    F = np.asarray(feats["features"])
    if F.ndim != 2:
        raise DataError(f"features in {feat_path} has shape {F.shape}; expected (2048, N).")
    # Row-major copy so that per-sample indexing downstream is fast.
    if F.shape[1] == n:  # the xlsa17 layout (d, N); also taken when d == N
        X = np.ascontiguousarray(F.T)
    elif F.shape[0] == n:
        X = F
    else:
        raise DataError(
            f"features in {feat_path} has shape {F.shape} but labels has {n} entries; expected "
            f"(d, {n}) as in xlsa17."
        )

    locs = _locs(split, n, split_path)
    seen = np.unique(y[locs["trainval_loc"]])
    unseen = np.unique(y[locs["test_unseen_loc"]])
    val_classes = np.unique(y[locs["val_loc"]])
    _require_disjoint(
        seen, unseen, names,
        f"have samples in both trainval_loc and test_unseen_loc: the labels of {feat_path} do "
        f"not match {split_path} (features of another dataset, or rows in another order).")
    off = np.setdiff1d(np.unique(y[locs["test_seen_loc"]]), seen)
    if off.size:
        raise DataError(
            f"test_seen_loc holds samples of classes {[names[c] for c in off[:10]]} that have no "
            f"samples in trainval_loc: the labels of {feat_path} do not match {split_path}."
        )
    meta: dict[str, Any] = {
        "loader": "load_xlsa17",
        "dataset": name,
        "features_file": str(feat_path),
        "splits_file": str(split_path),
        "protocol": "xlsa17-val" if use_val_split else "xlsa17-ps",
        "val_unseen_classes": [int(c) for c in val_classes],
    }
    if use_val_split:
        train_classes = np.unique(y[locs["train_loc"]])
        _require_disjoint(
            train_classes, val_classes, names,
            f"are in both train_loc and val_loc, so {split_path} has no class-disjoint "
            "validation split for use_val_split=True.")
        return AnyShotData.create(
            X,
            y,
            A,
            seen=train_classes,
            unseen=val_classes,
            trainval=locs["train_loc"],
            test_seen=np.zeros(0, dtype=np.int64),
            test_unseen=locs["val_loc"],
            class_names=names,
            name=f"{name}[val]",
            meta=meta,
        )
    return AnyShotData.create(
        X,
        y,
        A,
        seen=seen,
        unseen=unseen,
        trainval=locs["trainval_loc"],
        test_seen=locs["test_seen_loc"],
        test_unseen=locs["test_unseen_loc"],
        class_names=names,
        name=name,
        meta=meta,
    )
