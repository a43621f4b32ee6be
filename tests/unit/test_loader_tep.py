"""load_tep on the real TEP files in ../shared/data/tep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio

from anyshot.data.dataset import AnyShotData
from anyshot.data.tep import TEP_GROUPS, load_tep
from anyshot.errors import DataError

FAULT_1_ATTRIBUTES = [1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


@pytest.fixture(scope="module")
def root(shared_data: Path) -> Path:
    path = shared_data / "tep"
    if not path.is_dir():
        pytest.skip(f"TEP data not found at {path}")
    return path


@pytest.fixture(scope="module")
def group_a(root: Path) -> AnyShotData:
    return load_tep(root, group="A")


@pytest.fixture(scope="module")
def group_a_raw(root: Path) -> AnyShotData:
    return load_tep(root, group="A", standardize=False)


def _run(root: Path, name: str) -> np.ndarray:
    return sio.loadmat(str(root / f"{name}.mat"))["data"].T


def test_group_a_split(group_a: AnyShotData) -> None:
    data = group_a
    np.testing.assert_array_equal(data.unseen, [0, 5, 13])  # faults 1, 6, 14
    assert data.seen.size == 12 and not np.intersect1d(data.seen, data.unseen).size
    assert data.trainval.size == 12 * 480
    assert data.test_unseen.size == 3 * 800
    assert data.test_seen.size == 12 * 800
    assert data.X.shape == (12 * 480 + 15 * 800, 52)
    assert data.class_names[0] == "fault_01" and data.class_names[14] == "fault_15"
    assert data.meta["group"] == "A" and data.meta["unseen_faults"] == [1, 6, 14]
    assert data.name == "tep-A"
    assert data.shots.size == 0


def test_attributes(group_a: AnyShotData) -> None:
    A = group_a.attributes
    assert A.shape == (15, 20)
    assert set(np.unique(A).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(A[0], FAULT_1_ATTRIBUTES)
    assert len(group_a.meta["attribute_names"]) == 20


def test_rows_come_from_the_right_files(group_a_raw: AnyShotData, root: Path) -> None:
    data = group_a_raw
    d02 = _run(root, "d02")  # fault 2 is seen in group A: its training run is in trainval
    tv2 = data.trainval[data.y[data.trainval] == 1]
    np.testing.assert_allclose(data.X[tv2], d02, rtol=1e-6)
    d01_te = _run(root, "d01_te")  # fault 1 is unseen: its faulty test rows 160..959
    tu1 = data.test_unseen[data.y[data.test_unseen] == 0]
    np.testing.assert_allclose(data.X[tu1], d01_te[160:960], rtol=1e-6)
    # Training runs of unseen faults are not in X at all (zero-shot).
    d01 = _run(root, "d01").astype(np.float32)
    assert not (data.X[:, None, :] == d01[None, :5, :]).all(-1).any()


def test_standardization_uses_seen_training_samples(
    group_a: AnyShotData, group_a_raw: AnyShotData
) -> None:
    Xtr = group_a.X[group_a.trainval].astype(np.float64)
    np.testing.assert_allclose(Xtr.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(Xtr.std(0), 1.0, atol=1e-3)
    raw = group_a_raw.X.astype(np.float64)
    mu, sd = raw[group_a_raw.trainval].mean(0), raw[group_a_raw.trainval].std(0)
    np.testing.assert_allclose(group_a.X, (raw - mu) / sd, atol=1e-3)  # raw X is float32
    # Fitted on all rows instead, the unseen test rows would be centred differently.
    assert np.abs(group_a.X[group_a.test_unseen].mean(0)).max() > 0.1


def test_windows(root: Path) -> None:
    data = load_tep(root, group="A", window=10, window_stats=("mean", "std"), standardize=False)
    assert data.n_features == 104
    assert data.trainval.size == 12 * (480 - 10 + 1)
    assert data.test_unseen.size == 3 * (800 - 10 + 1)
    assert data.test_seen.size == 12 * (800 - 10 + 1)
    d02 = _run(root, "d02")
    tv2 = data.trainval[data.y[data.trainval] == 1]
    first, last = data.X[tv2[0]], data.X[tv2[-1]]
    np.testing.assert_allclose(first[:52], d02[:10].mean(0), rtol=1e-5)
    np.testing.assert_allclose(first[52:], d02[:10].std(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(last[:52], d02[-10:].mean(0), rtol=1e-5)  # no window crosses runs
    d14_te = _run(root, "d14_te")[160:960]
    tu14 = data.test_unseen[data.y[data.test_unseen] == 13]
    np.testing.assert_allclose(data.X[tu14[0], :52], d14_te[:10].mean(0), rtol=1e-5)


def test_window_stats_order_and_validation(root: Path) -> None:
    stats = ("last", "max", "min")
    data = load_tep(root, group="B", window=3, window_stats=stats, standardize=False)
    d01 = _run(root, "d01")
    row = data.X[data.trainval[data.y[data.trainval] == 0][0]]
    expected = np.concatenate([d01[2], d01[:3].max(0), d01[:3].min(0)])
    np.testing.assert_allclose(row, expected, rtol=1e-6)
    with pytest.raises(DataError, match="unknown window_stats"):
        load_tep(root, window=5, window_stats=("median",))
    with pytest.raises(DataError, match="window >= 2"):
        load_tep(root, window=1, window_stats=("mean", "std"))
    with pytest.raises(DataError, match="positive integer"):
        load_tep(root, window=0)


def test_shots(root: Path, group_a: AnyShotData) -> None:
    data = load_tep(root, group="A", shots=5, seed=3)
    assert data.trainval.size == group_a.trainval.size + 15
    assert data.shots.size == 15
    np.testing.assert_array_equal(np.bincount(data.y[data.shots], minlength=15)[[0, 5, 13]], 5)
    again = load_tep(root, group="A", shots=5, seed=3)
    np.testing.assert_array_equal(data.X[data.shots], again.X[again.shots])
    other = load_tep(root, group="A", shots=5, seed=4)
    assert not np.array_equal(data.X[data.shots], other.X[other.shots])
    # The shots are rows of the unseen faults' training runs, standardized like everything else.
    raw = load_tep(root, group="A", shots=5, seed=3, standardize=False)
    d06 = _run(root, "d06").astype(np.float32)
    shot6 = raw.X[raw.shots[raw.y[raw.shots] == 5]]
    assert (shot6[:, None, :] == d06[None]).all(-1).any(1).all()
    # Shots must not move the scaler: it is fitted on seen training samples only.
    np.testing.assert_allclose(data.X[data.test_seen], group_a.X[group_a.test_seen], atol=1e-5)


@pytest.mark.parametrize("group", sorted(TEP_GROUPS))
def test_every_group_loads(root: Path, group: str) -> None:
    data = load_tep(root, group=group)
    np.testing.assert_array_equal(data.unseen, np.asarray(TEP_GROUPS[group]) - 1)
    assert data.seen.size == 12 and data.test_unseen.size == 3 * 800


def test_explicit_unseen_faults(root: Path) -> None:
    data = load_tep(root, unseen=[9, 3])
    np.testing.assert_array_equal(data.unseen, [2, 8])
    assert data.meta["group"] is None
    assert load_tep(root, group=None, unseen=[14, 6, 1]).meta["group"] == "A"
    sub = load_tep(root, faults=range(1, 7), unseen=[1, 2])
    np.testing.assert_array_equal(sub.seen, [2, 3, 4, 5])
    assert sub.attributes.shape == (15, 20)  # the attribute table keeps every fault's row
    assert not np.isin(sub.y, np.arange(6, 15)).any()
    for bad, msg in (
        ([16], "not among the loaded faults"),
        ([], "empty"),
        (list(range(1, 16)), "at least one must stay seen"),
    ):
        with pytest.raises(DataError, match=msg):
            load_tep(root, unseen=bad)
    with pytest.raises(DataError, match="no attribute row"):
        load_tep(root, faults=range(1, 22))
    with pytest.raises(DataError, match="not among the loaded faults"):
        load_tep(root, group="A", faults=range(1, 7))  # fault 14 of group A is not loaded


def test_unknown_group(root: Path) -> None:
    with pytest.raises(DataError, match=r"unknown TEP group 'F'.*A \[1, 6, 14\].*E \[9, 13, 15\]"):
        load_tep(root, group="F")


def test_missing_root_and_files(tmp_path: Path, root: Path) -> None:
    with pytest.raises(DataError, match="TEP data folder .*nowhere.* not found"):
        load_tep(tmp_path / "nowhere")
    for f in root.iterdir():
        if f.name != "d06_te.mat":
            (tmp_path / f.name).symlink_to(f)
    with pytest.raises(DataError, match=r"d06_te\.mat not found"):
        load_tep(tmp_path)
    (tmp_path / "d06_te.mat").symlink_to(root / "d06_te.mat")
    (tmp_path / "attribute_matrix.xlsx").unlink()
    with pytest.raises(DataError, match=r"attribute_matrix\.xlsx not found"):
        load_tep(tmp_path)


def test_default_root_is_found(root: Path) -> None:
    # From the repository root (where pytest runs) the default is ../shared/data/tep.
    data = load_tep()
    assert Path(data.meta["root"]).resolve() == root.resolve()
