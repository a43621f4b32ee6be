"""load_xlsa17 on the real AWA2 att_splits.mat plus a small synthetic res101.mat.

att_splits.mat holds no labels, so the test reconstructs them. AWA2's res101.mat lists the
images class by class in alphabetical class order, with the public AWA2 class sizes below
(antelope 1046 images, bat 383, ...). That reconstruction is checked against the split itself
(`test_label_reconstruction_matches_the_split`): every class block falls entirely into one of
train_loc / val_loc / test_unseen_loc (plus test_seen_loc for seen classes), and the ten blocks in
test_unseen_loc are exactly the standard AWA2 unseen classes. Row i (0-based) of the synthetic
features stores i + 1 in column 0, so a 1-based location L must land on X[L - 1].
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio

from anyshot.data.xlsa17 import load_xlsa17
from anyshot.errors import DataError

AWA2_SIZES = {
    "antelope": 1046, "bat": 383, "beaver": 193, "blue+whale": 174, "bobcat": 630,
    "buffalo": 895, "chihuahua": 567, "chimpanzee": 728, "collie": 1028, "cow": 1338,
    "dalmatian": 549, "deer": 1344, "dolphin": 946, "elephant": 1038, "fox": 664,
    "german+shepherd": 1033, "giant+panda": 874, "giraffe": 1202, "gorilla": 872,
    "grizzly+bear": 852, "hamster": 779, "hippopotamus": 684, "horse": 1645,
    "humpback+whale": 709, "killer+whale": 291, "leopard": 720, "lion": 1019, "mole": 100,
    "moose": 704, "mouse": 185, "otter": 758, "ox": 728, "persian+cat": 747, "pig": 713,
    "polar+bear": 868, "rabbit": 1088, "raccoon": 512, "rat": 310, "rhinoceros": 696,
    "seal": 988, "sheep": 1420, "siamese+cat": 500, "skunk": 188, "spider+monkey": 291,
    "squirrel": 1200, "tiger": 877, "walrus": 215, "weasel": 272, "wolf": 589, "zebra": 1170,
}  # fmt: skip
AWA2_UNSEEN = {
    "bat", "blue+whale", "bobcat", "dolphin", "giraffe", "horse", "rat", "seal", "sheep", "walrus"
}
LOCS = ("trainval_loc", "train_loc", "val_loc", "test_seen_loc", "test_unseen_loc")
N_AWA2 = 37322
D = 8


def _split(shared: Path) -> dict:
    return sio.loadmat(str(shared / "xlsa17" / "AWA2" / "att_splits.mat"))


def _names(split: dict) -> list[str]:
    return [str(np.asarray(x).ravel()[0]) for x in split["allclasses_names"].ravel()]


def _labels(split: dict) -> np.ndarray:
    """(N,) 1-based labels: alphabetical class blocks, label = position in allclasses_names + 1."""
    names = _names(split)
    order = sorted(AWA2_SIZES)
    return np.repeat([names.index(c) + 1 for c in order], [AWA2_SIZES[c] for c in order])


def _write_res101(path: Path, labels: np.ndarray, *, n_rows: int | None = None) -> np.ndarray:
    """res101.mat in the xlsa17 layout: features (D, N), labels (N, 1) float64, 1-based."""
    n = labels.size if n_rows is None else n_rows
    rng = np.random.default_rng(0)
    F = rng.normal(size=(n, D)).astype(np.float32)
    F[:, 0] = np.arange(1, n + 1)  # row i remembers its 1-based location i + 1
    sio.savemat(str(path), {"features": F.T, "labels": labels[:n].reshape(-1, 1).astype(float)})
    return F


def _dataset_dir(tmp: Path, shared: Path, labels: np.ndarray | None = None, **split_edits) -> Path:
    d = tmp / "AWA2"
    d.mkdir(parents=True)
    split = _split(shared)
    if split_edits:
        raw = {k: v for k, v in split.items() if not k.startswith("__")}
        raw.update(split_edits)
        sio.savemat(str(d / "att_splits.mat"), raw)
    else:
        shutil.copy(shared / "xlsa17" / "AWA2" / "att_splits.mat", d / "att_splits.mat")
    _write_res101(d / "res101.mat", _labels(split) if labels is None else labels)
    return d


@pytest.fixture(scope="module")
def awa2(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _dataset_dir(tmp_path_factory.mktemp("xlsa17"), shared_data)


def test_label_reconstruction_matches_the_split(shared_data: Path) -> None:
    split = _split(shared_data)
    labels = _labels(split)
    assert labels.size == N_AWA2
    part = np.zeros(N_AWA2, dtype=np.int64)
    for code, key in enumerate(("train_loc", "val_loc", "test_seen_loc", "test_unseen_loc"), 1):
        part[split[key].ravel().astype(np.int64) - 1] = code
    names = _names(split)
    unseen = set()
    for c in np.unique(labels):
        kinds = set(np.unique(part[labels == c]).tolist())
        assert kinds in ({1, 3}, {2, 3}, {4}), (names[c - 1], kinds)
        if kinds == {4}:
            unseen.add(names[c - 1])
    assert unseen == AWA2_UNSEEN


def test_shapes_classes_and_attributes(awa2: Path, shared_data: Path) -> None:
    data = load_xlsa17(awa2)
    split = _split(shared_data)
    assert data.X.shape == (N_AWA2, D) and data.X.dtype == np.float32
    assert data.attributes.shape == (50, 85)
    np.testing.assert_allclose(data.attributes, split["att"].T, rtol=1e-6)
    assert data.seen.size == 40 and data.unseen.size == 10
    assert {data.class_names[c] for c in data.unseen} == AWA2_UNSEEN
    assert all(isinstance(c, str) for c in data.class_names)
    assert data.class_names[:3] == ("antelope", "grizzly+bear", "killer+whale")
    assert data.name == "AWA2"
    for part in ("trainval", "test_seen", "test_unseen"):
        assert getattr(data, part).size == split[f"{part}_loc"].size


def test_locations_and_labels_become_zero_based(awa2: Path, shared_data: Path) -> None:
    data = load_xlsa17(awa2)
    split = _split(shared_data)
    labels = _labels(split)
    for part in ("trainval", "test_seen", "test_unseen"):
        loc = split[f"{part}_loc"].ravel().astype(np.int64)
        idx = getattr(data, part)
        np.testing.assert_array_equal(idx, loc - 1)
        np.testing.assert_array_equal(data.X[idx, 0], loc)  # 1-based loc L -> row L - 1
    np.testing.assert_array_equal(data.y, labels - 1)
    # The first image (antelope, 1-based location 1) is a test_seen sample.
    assert 0 in data.test_seen and data.class_names[data.y[0]] == "antelope"


def test_root_plus_dataset_name(awa2: Path) -> None:
    a = load_xlsa17(awa2.parent, "AWA2")
    b = load_xlsa17(awa2)
    np.testing.assert_array_equal(a.trainval, b.trainval)
    np.testing.assert_array_equal(a.X, b.X)
    with pytest.raises(DataError, match="dataset="):
        load_xlsa17(awa2.parent)  # the root without a dataset name
    with pytest.raises(DataError, match="Did you mean 'AWA2'"):
        load_xlsa17(awa2.parent, "awa2")


def test_validation_classes_in_meta(awa2: Path, shared_data: Path) -> None:
    data = load_xlsa17(awa2)
    split = _split(shared_data)
    val = data.meta["val_unseen_classes"]
    assert isinstance(val, list) and all(type(c) is int for c in val)
    assert len(val) == 13 and "beaver" in {data.class_names[c] for c in val}
    assert set(val) <= set(data.seen.tolist())
    train_classes = set(np.unique(data.y[split["train_loc"].ravel().astype(np.int64) - 1]).tolist())
    assert not set(val) & train_classes
    view = data.validation_view(val_unseen=val)
    assert set(view.unseen.tolist()) == set(val)


def test_use_val_split(awa2: Path) -> None:
    data = load_xlsa17(awa2, use_val_split=True)
    assert data.seen.size == 27 and data.unseen.size == 13
    assert data.test_seen.size == 0
    assert set(data.unseen.tolist()) == set(data.meta["val_unseen_classes"])
    assert not np.isin(data.y[data.trainval], data.unseen).any()


def test_missing_features_file(tmp_path: Path, shared_data: Path) -> None:
    d = tmp_path / "AWA2"
    d.mkdir()
    shutil.copy(shared_data / "xlsa17" / "AWA2" / "att_splits.mat", d)
    with pytest.raises(DataError, match=r"res101\.mat.*user's copy.*xlsa17"):
        load_xlsa17(d)
    with pytest.raises(DataError, match="no dataset folder"):
        load_xlsa17(tmp_path, "CUB")


def test_missing_split_file(tmp_path: Path) -> None:
    (tmp_path / "res101.mat").write_bytes(b"")
    with pytest.raises(DataError, match=r"att_splits\.mat.*not found"):
        load_xlsa17(tmp_path)


def test_already_zero_based_locations_are_an_error(tmp_path: Path, shared_data: Path) -> None:
    split = _split(shared_data)
    # Someone converted the whole file to 0-based; test_seen_loc holds location 1 -> 0.
    shifted = {k: split[k].astype(np.int64) - 1 for k in LOCS}
    d = _dataset_dir(tmp_path, shared_data, **shifted)
    with pytest.raises(DataError, match=r"contains 0.*1-based.*already converted"):
        load_xlsa17(d)


def test_one_shifted_location_vector_is_caught(tmp_path: Path, shared_data: Path) -> None:
    # trainval_loc alone shifted by one (its smallest entry is 3, so no 0 appears): the shifted
    # rows now point at neighbouring images, and at class borders into unseen classes.
    split = _split(shared_data)
    d = _dataset_dir(tmp_path, shared_data, trainval_loc=split["trainval_loc"].astype(np.int64) - 1)
    with pytest.raises(DataError, match="do not match"):
        load_xlsa17(d)


def test_zero_based_labels_are_an_error(tmp_path: Path, shared_data: Path) -> None:
    d = _dataset_dir(tmp_path, shared_data, labels=_labels(_split(shared_data)) - 1)
    with pytest.raises(DataError, match="already converted to 0-based"):
        load_xlsa17(d)


def test_labels_that_do_not_match_the_split(tmp_path: Path, shared_data: Path) -> None:
    split = _split(shared_data)
    labels = _labels(split)
    names = _names(split)
    labels[labels == names.index("bat") + 1] = names.index("antelope") + 1  # unseen -> a seen class
    d = _dataset_dir(tmp_path, shared_data, labels=labels)
    with pytest.raises(DataError, match=r"antelope.*do not match"):
        load_xlsa17(d)


@pytest.mark.parametrize("n_rows", [N_AWA2 - 1, N_AWA2 + 5])
def test_feature_count_must_match_the_split(tmp_path: Path, shared_data: Path, n_rows: int) -> None:
    d = tmp_path / "AWA2"
    d.mkdir()
    shutil.copy(shared_data / "xlsa17" / "AWA2" / "att_splits.mat", d)
    labels = _labels(_split(shared_data))
    labels = np.concatenate([labels, labels[-5:]])  # room for the longer variant
    _write_res101(d / "res101.mat", labels, n_rows=n_rows)
    msg = f"largest index .* is {N_AWA2} but res101.mat has {n_rows}"
    with pytest.raises(DataError, match=msg):
        load_xlsa17(d)


def test_nan_features_are_an_error(tmp_path: Path, shared_data: Path) -> None:
    d = _dataset_dir(tmp_path, shared_data)
    raw = sio.loadmat(str(d / "res101.mat"))
    raw["features"][3, 100] = np.nan
    sio.savemat(str(d / "res101.mat"), {"features": raw["features"], "labels": raw["labels"]})
    with pytest.raises(DataError, match="NaN"):
        load_xlsa17(d)


def test_matlab_v73_file_is_explained(tmp_path: Path, shared_data: Path) -> None:
    d = tmp_path / "AWA2"
    d.mkdir()
    shutil.copy(shared_data / "xlsa17" / "AWA2" / "att_splits.mat", d)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\x00" * 8 + b"\x00\x02IM"
    (d / "res101.mat").write_bytes(header + b"\x00" * 512)
    with pytest.raises(DataError, match=r"v7\.3.*h5py"):
        load_xlsa17(d)
