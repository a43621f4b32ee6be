"""load_anyshot_mat on the real SRWGAN FLO split files plus a synthetic features file.

The split files hold no labels and FLO's features are not shipped, so the test writes a features
file whose labels follow the structure visible in the split indices (N = 8189 rows, 102
classes; FLO's xlsa17 row order is its official train / val / test partition):

* rows 0..1019 and 1020..2039: 102 classes x 10 images each (train and val blocks), class =
  offset // 10. The one-/five-shot files take their shots from exactly these blocks (rows 0, 10,
  20, ... and 0-4, 10-14, ...), one block of 10 per unseen class, which is what makes the rule
  checkable: the loader must then find exactly k shots for each of the 20 unseen classes.
* rows 2040..8188 (test block, sorted by class, class sizes unknown): the runs of
  test_unseen_index there (2040..2602 and 2623..2814) fix where the unseen classes lie; inside a
  run the rows are shared out evenly (``np.array_split``) among the classes of the run.

Row i of the features stores i in column 0, so the indices can be traced through the loader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio

from anyshot.data.anyshot_mat import load_anyshot_mat, read_mat
from anyshot.errors import DataError

N = 8189
C = 102
D = 16
SPLITS = {"zero": "SplitsOfZeroSL.mat", "one": "SplitsOfOneSL.mat", "five": "SplitsOfFiveSL.mat"}
# (first row, end row, first class, end class) of the test block, from the split's index runs.
TEST_BLOCK_RUNS = (
    (2040, 2603, 0, 16),
    (2603, 2623, 16, 17),
    (2623, 2815, 17, 21),
    (2815, N, 21, C),
)


def flo_like_labels() -> np.ndarray:
    """(N,) 0-based labels consistent with the FLO split files (see the module docstring)."""
    rows = np.arange(N)
    y = np.empty(N, dtype=np.int64)
    y[:1020] = rows[:1020] // 10
    y[1020:2040] = (rows[1020:2040] - 1020) // 10
    for start, stop, c0, c1 in TEST_BLOCK_RUNS:
        for c, chunk in zip(range(c0, c1), np.array_split(np.arange(start, stop), c1 - c0)):
            y[chunk] = c
    return y


def write_features(
    path: Path, labels: np.ndarray, *, transposed: bool = True, n_rows: int | None = None
) -> Path:
    """A features file: ``features`` (D, n) when ``transposed`` (xlsa17 layout) else (n, D)."""
    n = labels.size if n_rows is None else n_rows
    F = np.random.default_rng(0).normal(size=(n, D)).astype(np.float32)
    F[:, 0] = np.arange(n)
    sio.savemat(
        str(path),
        {"features": F.T if transposed else F, "labels": labels[:n].reshape(-1, 1).astype(float)},
    )
    return path


def _split(shared: Path, shots: str) -> dict:
    return sio.loadmat(str(shared / "srwgan_flo" / SPLITS[shots]))


@pytest.fixture(scope="module")
def splits(shared_data: Path) -> dict[str, Path]:
    d = shared_data / "srwgan_flo"
    if not d.is_dir():
        pytest.skip(f"SRWGAN split files not found at {d}")
    return {k: d / v for k, v in SPLITS.items()}


@pytest.fixture(scope="module")
def features_1based(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 1-based labels and a (d, N) matrix: the layout of FLO's xlsa17 res101.mat.
    return write_features(tmp_path_factory.mktemp("flo") / "res101.mat", flo_like_labels() + 1)


@pytest.mark.parametrize("shots, k", [("zero", 0), ("one", 1), ("five", 5)])
def test_split_and_shots(
    splits: dict[str, Path], features_1based: Path, shared_data: Path, shots: str, k: int
) -> None:
    data = load_anyshot_mat(features_1based, splits[shots])
    raw = _split(shared_data, shots)
    assert data.X.shape == (N, D)
    assert data.attributes.shape == (C, 1024)
    np.testing.assert_allclose(data.attributes, raw["attributes"], rtol=1e-6)
    assert data.seen.size == 82 and data.unseen.size == 20
    assert data.meta["shots"] == k and data.meta["label_base"] == 1
    assert data.name == "flo"
    for part in ("trainval", "test_seen", "test_unseen"):
        idx = raw[f"{part}_index"].ravel().astype(np.int64)
        np.testing.assert_array_equal(getattr(data, part), idx)  # 0-based: kept as is
        np.testing.assert_array_equal(data.X[getattr(data, part), 0], idx)
    np.testing.assert_array_equal(data.y, flo_like_labels())
    counts = np.bincount(data.y[data.shots], minlength=C)
    np.testing.assert_array_equal(counts[data.unseen], k)
    assert data.shots.size == 20 * k


def test_shots_are_the_extra_trainval_rows(splits: dict[str, Path], features_1based: Path) -> None:
    zero = load_anyshot_mat(features_1based, splits["zero"])
    five = load_anyshot_mat(features_1based, splits["five"])
    extra = np.setdiff1d(five.trainval, zero.trainval)
    np.testing.assert_array_equal(np.sort(five.shots), extra)
    np.testing.assert_array_equal(five.unseen, zero.unseen)
    assert not np.intersect1d(five.shots, five.test_unseen).size


def test_label_base_and_orientation_detected(
    splits: dict[str, Path], features_1based: Path, tmp_path: Path
) -> None:
    ref = load_anyshot_mat(features_1based, splits["one"])
    zero_based = write_features(tmp_path / "f0.mat", flo_like_labels(), transposed=False)
    data = load_anyshot_mat(zero_based, splits["one"], name="flo0")
    assert data.meta["label_base"] == 0 and data.name == "flo0"
    np.testing.assert_array_equal(data.y, ref.y)
    np.testing.assert_array_equal(data.X, ref.X)


def test_ambiguous_labels_need_label_base(splits: dict[str, Path], tmp_path: Path) -> None:
    labels = flo_like_labels()
    labels[labels == 0] = 1  # 0-based labels without class 0: they range 1..101
    path = write_features(tmp_path / "f.mat", labels)
    with pytest.raises(DataError, match="cannot tell.*label_base=0 or label_base=1"):
        load_anyshot_mat(path, splits["zero"])
    data = load_anyshot_mat(path, splits["zero"], label_base=0)
    assert data.meta["label_base"] == 0 and 0 not in data.unseen
    with pytest.raises(DataError, match="range 3..103, which do not fit the 102 attribute rows"):
        load_anyshot_mat(write_features(tmp_path / "g.mat", labels + 2), splits["zero"])
    zero_based = write_features(tmp_path / "h.mat", flo_like_labels())
    with pytest.raises(DataError, match="range 0..101, which do not fit .* as 1-based"):
        load_anyshot_mat(zero_based, splits["zero"], label_base=1)
    with pytest.raises(DataError, match="label_base must be 0, 1 or None"):
        load_anyshot_mat(zero_based, splits["zero"], label_base=2)


def test_too_few_feature_rows(splits: dict[str, Path], tmp_path: Path) -> None:
    path = write_features(tmp_path / "small.mat", flo_like_labels(), n_rows=100)
    with pytest.raises(DataError, match=r"index 8188 but the features have only 100 rows.*match"):
        load_anyshot_mat(path, splits["zero"])


def test_labels_inconsistent_with_the_split(splits: dict[str, Path], tmp_path: Path) -> None:
    shuffled = np.random.default_rng(0).permutation(flo_like_labels())
    path = write_features(tmp_path / "shuffled.mat", shuffled)
    with pytest.raises(DataError, match="both test_seen_index and test_unseen_index"):
        load_anyshot_mat(path, splits["zero"])
    labels = flo_like_labels()
    labels[10] = labels[0]  # the one-shot sample of class 1 relabelled as class 0
    path = write_features(tmp_path / "uneven.mat", labels)
    with pytest.raises(DataError, match="between 0 and 2 samples per unseen class"):
        load_anyshot_mat(path, splits["one"])


def test_features_and_labels_must_agree(splits: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "bad.mat"
    sio.savemat(str(path), {"features": np.zeros((10, 20)), "labels": np.arange(12)})
    with pytest.raises(DataError, match=r"shape \(10, 20\) but labels has 12 entries"):
        load_anyshot_mat(path, splits["zero"])


def test_missing_files_and_keys(splits: dict[str, Path], features_1based: Path, tmp_path: Path):
    with pytest.raises(DataError, match=r"nope\.mat not found.*user's copy"):
        load_anyshot_mat(tmp_path / "nope.mat", splits["zero"])
    with pytest.raises(DataError, match=r"SplitsOfTwoSL\.mat not found.*SRWGAN"):
        load_anyshot_mat(features_1based, tmp_path / "SplitsOfTwoSL.mat")
    no_labels = tmp_path / "no_labels.mat"
    sio.savemat(str(no_labels), {"features": np.zeros((3, 4))})
    with pytest.raises(DataError, match=r"no variable\(s\) \['labels'\]"):
        load_anyshot_mat(no_labels, splits["zero"])
    with pytest.raises(DataError, match=r"no variable\(s\) \['trainval_index'"):
        load_anyshot_mat(features_1based, features_1based)  # a features file as the split


def test_read_mat_explains_v73_and_garbage(tmp_path: Path) -> None:
    v73 = tmp_path / "v73.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\x00" * 8 + b"\x00\x02IM"
    v73.write_bytes(header + b"\x00" * 512)
    with pytest.raises(DataError, match=r"v7\.3 \(HDF5\).*-v7"):
        read_mat(v73)
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"this is not a mat file at all" * 10)
    with pytest.raises(DataError, match="could not be read"):
        read_mat(junk)
    with pytest.raises(DataError, match="is a directory"):
        read_mat(tmp_path)
