"""Loader for zero-/few-shot fault diagnosis on the Tennessee Eastman Process (TEP).

Files (the classic Braatz data plus the FDAT attribute matrix, see ``../shared/data/README.md``):

    dXX.mat          key ``data`` (52, 480): training run of fault XX (all samples faulty)
    dXX_te.mat       key ``data`` (52, 960): test run; the fault starts after sample 160, so only
                     rows 160..959 (0-based) are used
    attribute_matrix.xlsx   faults 1..15 x 20 binary attributes (first column: fault number)

Classes are faults 1..15; class index = fault - 1, so class c has attribute row c. The standard
zero-shot protocol holds out one group of three faults (:data:`TEP_GROUPS`) and trains on the
other twelve.

Optional temporal context: with ``window = w > 1`` every run (never across runs) is cut into
sliding windows of ``w`` consecutive samples, and each window is summarised by the statistics in
``window_stats`` (per variable: mean, std, least-squares slope, min, max, last value),
concatenated in that order:

    x_t = [stat_1(s_{t..t+w-1}), stat_2(s_{t..t+w-1}), ...]      (52 * len(window_stats),)

A run of n samples gives n - w + 1 windows, labelled with the run's fault. Seen and unseen runs
are transformed identically, and standardization (z-score) uses the seen training samples only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from anyshot.data.anyshot_mat import read_mat
from anyshot.data.dataset import AnyShotData
from anyshot.errors import DataError

__all__ = ["load_tep", "TEP_GROUPS", "TEP_ATTRIBUTES", "WINDOW_STATS"]

TEP_GROUPS: dict[str, tuple[int, int, int]] = {
    "A": (1, 6, 14),
    "B": (4, 7, 10),
    "C": (8, 11, 12),
    "D": (2, 3, 5),
    "E": (9, 13, 15),
}

#: English meaning of the 20 attribute columns of ``attribute_matrix.xlsx``, in column order.
TEP_ATTRIBUTES: tuple[str, ...] = (
    "feed A changes",
    "feed C changes",
    "A/C ratio changes",
    "feed B changes",
    "related to stream 4",
    "feed D temperature changes",
    "related to stream 2",
    "step change",
    "feed flow change",
    "feed temperature change",
    "occurs in the reactor",
    "cooling-water temperature change",
    "occurs in the condenser",
    "related to stream 1",
    "random variation",
    "model-parameter change",
    "slow drift",
    "related to cooling water",
    "related to a cooling valve",
    "valve sticking",
)

WINDOW_STATS = ("mean", "std", "slope", "min", "max", "last")

N_FAULTS = 15  # faults with an attribute row
N_VARIABLES = 52
TEST_FAULT_ROWS = (160, 960)  # 0-based slice of dXX_te.mat rows that carry the fault


def default_tep_root() -> Path:
    """``../shared/data/tep`` seen from the working directory, else from the repository root.

    The first candidate that exists is returned; when none does, the working-directory one
    (so that the error message names the path a user most likely meant).
    """
    candidates = [
        Path.cwd() / ".." / "shared" / "data" / "tep",
        # src/anyshot/data/tep.py -> the repository root is three folders up.
        Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tep",
    ]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return candidates[0]


def _read_run(path: Path) -> np.ndarray:
    """One run as a (n_samples, 52) float64 array (files store it as (52, n_samples))."""
    data = np.asarray(
        read_mat(
            path,
            ("data",),
            missing_hint=(
                f"Expected the TEP run {path.name} (key 'data', 52 x N) in {path.parent}; "
                "see ../shared/data/README.md."
            ),
        )["data"],
        dtype=np.float64,
    )
    if data.ndim != 2 or N_VARIABLES not in data.shape:
        raise DataError(
            f"data in {path} has shape {data.shape}; expected (52, n_samples) process variables."
        )
    return data.T if data.shape[0] == N_VARIABLES else data


def _read_attributes(path: Path) -> np.ndarray:
    """The (15, 20) binary attribute table, row f-1 = fault f."""
    if not path.is_file():
        raise DataError(
            f"{path} not found: expected the TEP attribute matrix attribute_matrix.xlsx (faults "
            "1..15 x 20 binary attributes, first column = fault number)."
        )
    try:
        df = pd.read_excel(path, header=0, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise DataError(
            f"{path} could not be read as an .xlsx workbook ({type(exc).__name__}: {exc})."
        ) from exc
    df = df.dropna(how="all")  # the sheet carries a trailing empty row
    if df.shape[1] != 1 + len(TEP_ATTRIBUTES):
        raise DataError(
            f"{path} has {df.shape[1]} columns; expected the fault number plus "
            f"{len(TEP_ATTRIBUTES)} attribute columns."
        )
    table = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(table).all():
        bad = np.unique(np.nonzero(~np.isfinite(table))[0])
        rows = (df.index.to_numpy()[bad] + 2).tolist()  # header is spreadsheet row 1
        raise DataError(f"{path} has empty or non-numeric cells in spreadsheet rows {rows}.")
    faults = table[:, 0]
    if not np.array_equal(faults, np.arange(1, N_FAULTS + 1)):
        raise DataError(
            f"the first column of {path} must list the faults 1..{N_FAULTS} in order, got "
            f"{faults.tolist()}."
        )
    A = table[:, 1:]
    if not np.isin(A, (0.0, 1.0)).all():
        raise DataError(f"{path} must hold binary (0/1) attributes; found other values.")
    return A


def _check_faults(faults: Iterable[int]) -> list[int]:
    out = sorted({int(f) for f in faults})
    if not out:
        raise DataError("faults is empty; give the TEP faults to load, e.g. range(1, 16).")
    bad = [f for f in out if not 1 <= f <= N_FAULTS]
    if bad:
        raise DataError(
            f"faults {bad} have no attribute row: attribute_matrix.xlsx describes faults "
            f"1..{N_FAULTS} only (0 = normal operation and 16..21 are not attribute-labelled)."
        )
    return out


def _unseen_faults(group: str | None, unseen: Sequence[int] | None, faults: list[int]) -> list[int]:
    if unseen is not None:
        try:
            u = sorted({int(f) for f in unseen})
        except (TypeError, ValueError) as exc:
            raise DataError(f"unseen must be a list of fault numbers, got {unseen!r}.") from exc
        source = f"unseen={u}"
    elif group is not None:
        key = str(group).upper()
        if key not in TEP_GROUPS:
            valid = ", ".join(f"{g} {list(v)}" for g, v in TEP_GROUPS.items())
            raise DataError(f"unknown TEP group {group!r}; valid groups: {valid}.")
        u = list(TEP_GROUPS[key])
        source = f"group {key}"
    else:
        raise DataError("give a group (A..E) or an explicit list of unseen faults.")
    if not u:
        raise DataError("unseen is empty; at least one fault must be unseen.")
    outside = [f for f in u if f not in faults]
    if outside:
        raise DataError(
            f"{source}: unseen faults {outside} are not among the loaded faults {faults}."
        )
    if len(u) == len(faults):
        raise DataError(f"{source}: every loaded fault is unseen; at least one must stay seen.")
    return u


def _windows(run: np.ndarray, window: int, stats: Sequence[str]) -> np.ndarray:
    """(n, 52) run -> (n - window + 1, 52 * len(stats)) window summaries (vectorized)."""
    if window == 1:
        return run  # every statistic of a single sample is the sample itself (std is refused)
    win = sliding_window_view(run, window, axis=0)  # (n - w + 1, 52, w), a view
    parts = []
    for s in stats:
        if s == "mean":
            parts.append(win.mean(axis=-1))
        elif s == "std":
            parts.append(win.std(axis=-1))
        elif s == "slope":  # least-squares slope per sample step: cov(t, x) / var(t)
            t = np.arange(window, dtype=np.float64) - (window - 1) / 2.0
            parts.append(win @ t / float(t @ t))
        elif s == "min":
            parts.append(win.min(axis=-1))
        elif s == "max":
            parts.append(win.max(axis=-1))
        else:  # "last"
            parts.append(win[..., -1])
    return np.concatenate(parts, axis=1)


def load_tep(
    root: str | Path | None = None,
    *,
    group: str | None = "A",
    unseen: Sequence[int] | None = None,
    faults: Iterable[int] = range(1, 16),
    window: int = 1,
    window_stats: Sequence[str] = ("mean",),
    standardize: bool = True,
    shots: int = 0,
    seed: int = 0,
) -> AnyShotData:
    """Load the TEP zero-/few-shot fault-diagnosis problem.

    Args:
        root: folder with ``dXX.mat``, ``dXX_te.mat`` and ``attribute_matrix.xlsx``; ``None``
            uses :func:`default_tep_root` (``../shared/data/tep``).
        group: standard zero-shot group ``"A"``..``"E"`` (:data:`TEP_GROUPS`) whose faults are
            unseen. Ignored when ``unseen`` is given.
        unseen: explicit unseen fault numbers (a non-empty proper subset of ``faults``).
        faults: faults to load (within 1..15); faults not listed have an attribute row but no
            samples and are neither seen nor unseen.
        window: samples per sliding window (1 = single samples, 52 features).
        window_stats: statistics per window, any of :data:`WINDOW_STATS`, concatenated in the
            given order (52 features each). With ``window=1`` a single statistic other than
            ``"std"`` is allowed and the raw samples are returned.
        standardize: z-score every feature with the mean/std of the seen training samples.
        shots: k labelled training samples (windows) per unseen fault put into trainval, drawn
            without replacement from that fault's training run (0 = zero-shot).
        seed: draws the shots reproducibly.

    Returns:
        An :class:`AnyShotData` with 15 classes ``fault_01``..``fault_15`` (class = fault - 1),
        attributes (15, 20) binary, X (n, 52 * len(window_stats)) holding the training windows
        of the seen faults, the shots, and the test windows (rows 160..959 of every
        ``dXX_te.mat``) of all loaded faults. trainval = seen training windows (+ shots),
        test_seen / test_unseen = test windows of seen / unseen faults. The training samples
        of unseen faults that are not shots are not part of X.

    Raises:
        DataError: missing files, an unknown group, invalid faults / unseen / window settings.
    """
    root_path = default_tep_root() if root is None else Path(root)
    if not root_path.is_dir():
        raise DataError(
            f"TEP data folder {root_path} not found; pass root= the folder holding dXX.mat, "
            "dXX_te.mat and attribute_matrix.xlsx (by default ../shared/data/tep)."
        )
    fault_list = _check_faults(faults)
    unseen_faults = _unseen_faults(group, unseen, fault_list)
    seen_faults = [f for f in fault_list if f not in unseen_faults]

    if isinstance(window_stats, str):
        window_stats = (window_stats,)
    stats = tuple(window_stats)
    if not stats:
        raise DataError(f"window_stats is empty; choose from {', '.join(WINDOW_STATS)}.")
    unknown = [s for s in stats if s not in WINDOW_STATS]
    if unknown:
        raise DataError(f"unknown window_stats {unknown}; choose from {', '.join(WINDOW_STATS)}.")
    if len(set(stats)) != len(stats):
        raise DataError(f"window_stats {list(stats)} repeats a statistic.")
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise DataError(f"window must be a positive integer, got {window!r}.")
    window = int(window)
    if window == 1 and (len(stats) > 1 or stats[0] in ("std", "slope")):
        raise DataError(
            f"window_stats {list(stats)} need window >= 2: a single sample has no spread and its "
            "mean, min, max and last are all the sample itself (and it has no slope). Use "
            "window=1 with ('mean',), "
            "or a window of several samples."
        )
    if shots < 0:
        raise DataError(f"shots must be >= 0, got {shots}.")

    lo, hi = TEST_FAULT_ROWS
    train_runs: dict[int, np.ndarray] = {}
    test_runs: dict[int, np.ndarray] = {}
    files = []
    for f in fault_list:  # one iteration per run, not per sample
        tr_path = root_path / f"d{f:02d}.mat"
        te_path = root_path / f"d{f:02d}_te.mat"
        tr = _read_run(tr_path)
        te = _read_run(te_path)
        if te.shape[0] < hi:
            raise DataError(
                f"{te_path} has {te.shape[0]} samples; a TEP test run has {hi} (the fault starts "
                f"after sample {lo})."
            )
        for path, run in ((tr_path, tr), (te_path, te[lo:hi])):
            if run.shape[0] < window:
                raise DataError(
                    f"window={window} is longer than the {run.shape[0]} samples of {path}."
                )
        train_runs[f] = _windows(tr, window, stats)
        test_runs[f] = _windows(te[lo:hi], window, stats)
        files += [str(tr_path), str(te_path)]
    attr_path = root_path / "attribute_matrix.xlsx"
    A = _read_attributes(attr_path)
    files.append(str(attr_path))

    rng = np.random.default_rng(seed)
    shot_rows: dict[int, np.ndarray] = {}
    if shots > 0:
        for f in unseen_faults:
            n_run = train_runs[f].shape[0]
            if shots > n_run:
                raise DataError(
                    f"shots={shots} but the training run of fault {f} has only {n_run} samples "
                    f"(windows of {window})."
                )
            shot_rows[f] = np.sort(rng.choice(n_run, size=shots, replace=False))

    blocks_train = [train_runs[f] for f in seen_faults] + [
        train_runs[f][shot_rows[f]] for f in unseen_faults if f in shot_rows
    ]
    y_train = [np.full(train_runs[f].shape[0], f - 1) for f in seen_faults] + [
        np.full(shot_rows[f].size, f - 1) for f in unseen_faults if f in shot_rows
    ]
    X_train = np.concatenate(blocks_train)
    X_test = np.concatenate([test_runs[f] for f in fault_list])
    y_test = np.concatenate([np.full(test_runs[f].shape[0], f - 1) for f in fault_list])
    y_tr = np.concatenate(y_train)
    X = np.concatenate([X_train, X_test])
    y = np.concatenate([y_tr, y_test]).astype(np.int64)
    n_train = X_train.shape[0]
    n_seen_train = sum(train_runs[f].shape[0] for f in seen_faults)

    if standardize:
        fit = X[:n_seen_train]  # seen training samples only: no unseen or test statistics
        mu = fit.mean(axis=0)
        sd = fit.std(axis=0)
        sd[sd == 0] = 1.0  # a constant variable stays constant (0) instead of dividing by 0
        X = (X - mu) / sd

    unseen_cls = np.asarray(unseen_faults) - 1
    is_unseen_test = np.isin(y_test, unseen_cls)
    test_idx = n_train + np.arange(y_test.size)
    # The group is recorded whenever the unseen set is a standard one, however it was given.
    group_name = next((g for g, v in TEP_GROUPS.items() if sorted(v) == unseen_faults), None)
    return AnyShotData.create(
        X.astype(np.float32),
        y,
        A,
        seen=np.asarray(seen_faults) - 1,
        unseen=unseen_cls,
        trainval=np.arange(n_train),
        test_seen=test_idx[~is_unseen_test],
        test_unseen=test_idx[is_unseen_test],
        class_names=[f"fault_{f:02d}" for f in range(1, N_FAULTS + 1)],
        name="tep" if group_name is None else f"tep-{group_name}",
        meta={
            "loader": "load_tep",
            # a class's rows follow one run in time: validation holds out a tail block of
            # each run (with a gap of window - 1 rows), not random rows
            "time_ordered": True,
            "root": str(root_path),
            "group": group_name,
            "unseen_faults": unseen_faults,
            "seen_faults": seen_faults,
            "window": window,
            "window_stats": list(stats),
            "standardize": "seen training samples" if standardize else None,
            "shots": int(shots),
            "seed": int(seed),
            "test_rows": list(TEST_FAULT_ROWS),
            "attribute_names": list(TEP_ATTRIBUTES),
            "files": files,
        },
    )
