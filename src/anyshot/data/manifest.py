"""Bring-your-own data: a YAML/JSON manifest pointing at features, labels and a class table.

.. code-block:: yaml

    name: my-parts                  # optional, recorded with results
    features: features.parquet      # CSV, NPY or Parquet; (n, d) numeric
    labels: labels.csv              # CSV/NPY/Parquet with one label per row (or label_column)
    label_column: label             # column of `labels` (or of `features`) holding the label
    attributes: classes.csv         # CSV or Parquet: one row per class
    class_column: class             # the class-name column of `attributes`
    unseen: [zebra, whale]          # classes to treat as unseen (novel)
    shots: 0                        # k labelled samples per unseen class, or {zebra: 1, whale: 5}
    test_fraction: 0.2              # share of each seen class held out as test_seen
    seed: 0

Relative paths are resolved against the manifest's folder. :func:`validate_manifest` collects
every problem with its fix instead of stopping at the first; :func:`load_manifest` raises
:class:`~anyshot.errors.DataError` on the first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from anyshot.data.dataset import AnyShotData
from anyshot.errors import DataError

__all__ = ["load_manifest", "validate_manifest", "read_table", "MANIFEST_KEYS"]

MANIFEST_KEYS = ("name", "features", "labels", "label_column", "attributes", "class_column",
                 "unseen", "shots", "test_fraction", "seed")
TABLE_SUFFIXES = (".csv", ".npy", ".parquet", ".pq")


def read_table(path: Path) -> pd.DataFrame:
    """Read CSV, NPY (2-D or 1-D) or Parquet into a DataFrame; clear errors otherwise."""
    if not path.is_file():
        raise DataError(f"file {str(path)!r} does not exist; check the path in the manifest "
                        "(relative paths are resolved against the manifest's folder).")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            return pd.DataFrame(arr.reshape(len(arr), -1) if arr.ndim != 1 else {"value": arr})
    except (ValueError, OSError) as exc:
        raise DataError(f"could not read {str(path)!r}: {exc}") from exc
    raise DataError(f"{str(path)!r} has an unsupported type {suffix!r}; use one of "
                    f"{', '.join(TABLE_SUFFIXES)}.")


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"manifest {str(path)!r} does not exist.")
    try:
        text = path.read_text()
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"manifest {str(path)!r} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise DataError(f"manifest {str(path)!r} must be a mapping of keys to values.")
    return raw


def _collect(path: Path) -> tuple[list[str], AnyShotData | None]:
    """Every problem found, and the dataset when there is none."""
    problems: list[str] = []
    try:
        raw = _read_manifest(path)
    except DataError as exc:
        return [str(exc)], None
    unknown = sorted(set(raw) - set(MANIFEST_KEYS))
    if unknown:
        problems.append(f"unknown key(s) {', '.join(map(repr, unknown))}; valid keys: "
                        f"{', '.join(MANIFEST_KEYS)}.")
    for key in ("features", "attributes"):
        if key not in raw:
            problems.append(f"missing key {key!r}: give the path of the {key} file.")
    if problems:
        return problems, None
    base = path.parent
    label_col = raw.get("label_column", "label")
    class_col = raw.get("class_column", "class")
    tables: dict[str, pd.DataFrame] = {}
    for key in ("features", "labels", "attributes"):
        if raw.get(key) is None:
            continue
        try:
            tables[key] = read_table(base / str(raw[key]))
        except DataError as exc:
            problems.append(f"{key}: {exc}")
    if "features" not in tables or "attributes" not in tables:
        return problems, None
    feats = tables["features"]
    if "labels" in tables:
        lab = tables["labels"]
        col = label_col if label_col in lab.columns else lab.columns[0]
        labels = lab[col].to_numpy()
    elif label_col in feats.columns:
        labels = feats[label_col].to_numpy()
        feats = feats.drop(columns=[label_col])
    else:
        problems.append(f"no labels: give a 'labels' file, or a {label_col!r} column in the "
                        "features file (set label_column to its name).")
        return problems, None
    non_numeric = [c for c in feats.columns if not pd.api.types.is_numeric_dtype(feats[c])]
    if non_numeric:
        problems.append(f"features has non-numeric columns {non_numeric[:5]}; drop them or name "
                        "the label column with label_column.")
        return problems, None
    X = feats.to_numpy(dtype=np.float64)
    if len(labels) != len(X):
        problems.append(f"features has {len(X)} rows but labels has {len(labels)}; they must match "
                        "row for row.")
    bad_rows = np.unique(np.nonzero(~np.isfinite(X))[0])
    if bad_rows.size:
        problems.append(f"features has NaN/inf in {bad_rows.size} rows (first: "
                        f"{bad_rows[:5].tolist()}); remove or impute them.")
    att = tables["attributes"]
    if class_col not in att.columns:
        problems.append(f"attributes has no class column {class_col!r} (columns: "
                        f"{list(att.columns)[:8]}); set class_column.")
        return problems, None
    names = att[class_col].astype(str).tolist()
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(f"duplicate class names {dup[:10]} in attributes; "
                        "each class needs one row.")
    A_df = att.drop(columns=[class_col])
    non_num = [c for c in A_df.columns if not pd.api.types.is_numeric_dtype(A_df[c])]
    if non_num:
        problems.append(f"attribute columns {non_num[:5]} are not numeric.")
        return problems, None
    A = A_df.to_numpy(dtype=np.float64)
    nan_rows = [names[i] for i in np.unique(np.nonzero(~np.isfinite(A))[0])]
    if nan_rows:
        problems.append(f"attributes has NaN/inf for classes {nan_rows[:10]}; fill them in.")
    const = ([str(A_df.columns[j]) for j in np.nonzero(np.ptp(A, axis=0) == 0)[0]]
             if len(A) > 1 else [])
    if const:
        problems.append(f"attribute columns {const[:10]} are constant across classes and carry no "
                        "information; drop them.")
    labels_s = np.array([str(l) for l in labels])
    index = {n: i for i, n in enumerate(names)}
    missing = sorted(set(labels_s.tolist()) - set(index))
    if missing:
        problems.append(f"labels {missing[:10]} have no row in the attributes table; add them.")
    unseen = [str(u) for u in (raw.get("unseen") or [])]
    bad_unseen = [u for u in unseen if u not in index]
    if bad_unseen:
        problems.append(f"unseen classes {bad_unseen[:10]} are not in the attributes table.")
    if not unseen:
        problems.append("no unseen classes: list the novel classes under 'unseen'.")
    tf = raw.get("test_fraction", 0.2)
    if not isinstance(tf, (int, float)) or not 0 < tf < 1:
        problems.append(f"test_fraction must be in (0, 1), got {tf!r}.")
    shots = raw.get("shots", 0)
    if problems:
        return problems, None
    y = np.array([index[l] for l in labels_s], dtype=np.int64)
    un_idx = np.array(sorted(index[u] for u in unseen), dtype=np.int64)
    counts = np.bincount(y, minlength=len(names))
    k = np.zeros(len(names), dtype=np.int64)
    if isinstance(shots, dict):
        for cls_name, kk in shots.items():
            if str(cls_name) not in index or index[str(cls_name)] not in un_idx:
                problems.append(f"shots names {cls_name!r}, which is not an unseen class.")
            elif not isinstance(kk, int) or kk < 0:
                problems.append(f"shots for {cls_name!r} must be a non-negative integer, "
                                f"got {kk!r}.")
            else:
                k[index[str(cls_name)]] = kk
    elif isinstance(shots, int) and shots >= 0:
        k[un_idx] = shots
    else:
        problems.append(f"shots must be a non-negative integer or a mapping class -> k, "
                        f"got {shots!r}.")
    too_many = [names[c] for c in un_idx if k[c] >= counts[c] > 0 or (k[c] > 0 and counts[c] == 0)]
    if too_many:
        problems.append(f"unseen classes {too_many[:10]} have fewer samples than shots + 1 (k must "
                        "leave at least one test sample); lower shots.")
    no_test = [names[c] for c in un_idx if counts[c] == 0]
    if no_test:
        problems.append(f"unseen classes {no_test[:10]} have no samples, so a run cannot test "
                        "them; add samples of them, or drop them from 'unseen' (a model can still "
                        "predict classes without samples: `anyshot predict --features ... "
                        "--classes ...` treats every class without rows as unseen).")
    seen_names = sorted({names[c] for c in np.unique(y)} - {names[c] for c in un_idx})
    if len(seen_names) == 1:
        problems.append(f"only one seen class ({seen_names[0]!r}); training holds out seen classes "
                        "as a validation problem, so it needs at least two: add samples of "
                        "another class, or list fewer classes under 'unseen'.")
    if problems:
        return problems, None
    rng = np.random.default_rng(int(raw.get("seed", 0)))
    order = np.lexsort((rng.random(len(y)), y))
    ys = y[order]
    rank = np.empty(len(y), dtype=np.int64)
    rank[order] = np.arange(len(y)) - np.searchsorted(ys, ys, side="left")
    is_unseen = np.isin(y, un_idx)
    n_test = np.floor(tf * counts).astype(np.int64)
    test_seen = np.nonzero(~is_unseen & (rank < n_test[y]))[0]
    shot = is_unseen & (rank < k[y])
    trainval = np.nonzero((~is_unseen & (rank >= n_test[y])) | shot)[0]
    test_unseen = np.nonzero(is_unseen & ~shot)[0]
    seen = np.setdiff1d(np.unique(y), un_idx)
    try:
        data = AnyShotData.create(X, y, A, seen=seen, unseen=un_idx, trainval=trainval,
                                  test_seen=test_seen, test_unseen=test_unseen, class_names=names,
                                  name=str(raw.get("name", path.stem)),
                                  meta={"manifest": str(path), "shots": raw.get("shots", 0)})
    except DataError as exc:
        return [str(exc)], None
    return [], data


def validate_manifest(path: str | Path) -> list[str]:
    """Every problem with the manifest and its files (empty list = valid)."""
    return _collect(Path(path))[0]


def load_manifest(path: str | Path) -> AnyShotData:
    """Load a manifest into :class:`AnyShotData`; raises DataError listing the problems."""
    problems, data = _collect(Path(path))
    if problems:
        raise DataError(f"manifest {str(path)!r} has {len(problems)} problem(s):\n- " +
                        "\n- ".join(problems))
    assert data is not None
    return data
