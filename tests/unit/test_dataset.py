import numpy as np
import pytest

from anyshot.data import AnyShotData, make_synthetic, scale_features
from anyshot.errors import DataError


def _toy(**over):
    X = np.arange(24, dtype=np.float32).reshape(12, 2)
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    A = np.eye(4, 3, dtype=np.float32) + 0.1
    kw = dict(seen=[0, 1], unseen=[2, 3], trainval=[0, 1, 3, 4], test_seen=[2, 5],
              test_unseen=[6, 7, 8, 9, 10, 11])
    kw.update(over.pop("split", {}))
    args = dict(X=X, y=y, attributes=A)
    args.update(over)
    return AnyShotData.create(args["X"], args["y"], args["attributes"], **kw)


def test_toy_dataset_properties():
    d = _toy()
    assert d.n_classes == 4 and d.n_features == 2 and d.n_attributes == 3
    assert d.shots.size == 0
    assert d.train_seen.tolist() == [0, 1, 3, 4]


@pytest.mark.parametrize(
    "over, message",
    [
        ({"X": np.zeros((11, 2))}, "X has 11 rows but y has 12 labels"),
        ({"X": np.zeros(12)}, "X must be a 2-D array"),
        ({"y": np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4])},
         "labels \\[4\\] have no attribute row"),
        ({"y": np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4])}, "look 1-based"),
        ({"attributes": np.ones((4,))}, "attributes must be a 2-D table"),
        ({"split": {"seen": [0, 1, 2]}}, "both seen and unseen"),
        ({"split": {"trainval": [0, 1, 2]}}, "seen classes \\['1'\\] have no training samples"),
        ({"split": {"trainval": [0, 1, 3, 4, 5], "test_seen": [2, 5]}},
         "both trainval and a test set"),
        ({"split": {"test_seen": [2, 6]}}, "test_seen holds samples of classes \\['2'\\]"),
        ({"split": {"trainval": [0, 1, 3, 12]}}, "valid 0..11"),
        ({"split": {"trainval": []}}, "trainval is empty"),
    ],
)
def test_bad_input_gets_a_clear_error(over, message):
    with pytest.raises(DataError, match=message):
        _toy(**over)


def test_nan_features_are_named():
    X = np.ones((12, 2), dtype=np.float32)
    X[3, 1] = np.nan
    X[5, 0] = np.inf
    with pytest.raises(DataError, match=r"2 NaN/inf values in 2 rows \(first rows: \[3, 5\]\)"):
        _toy(X=X)


def test_nan_attributes_are_named():
    A = np.ones((4, 3), dtype=np.float32)
    A[2, 0] = np.nan
    with pytest.raises(DataError, match=r"class rows \[2\]"):
        _toy(attributes=A)


def test_duplicate_class_names():
    d = _toy()
    with pytest.raises(DataError, match="duplicate class names \\['a'\\]"):
        AnyShotData.create(d.X, d.y, d.attributes, seen=d.seen, unseen=d.unseen,
                           trainval=d.trainval, test_seen=d.test_seen, test_unseen=d.test_unseen,
                           class_names=["a", "a", "b", "c"])


def test_validation_view_uses_training_samples_only():
    d = make_synthetic(n_classes=20, n_unseen=5, seed=3)
    v = d.validation_view(unseen_fraction=0.2, holdout_fraction=0.25, seed=1)
    test = np.concatenate([d.test_seen, d.test_unseen])
    for part in (v.trainval, v.test_seen, v.test_unseen):
        assert not np.isin(part, test).any()
        assert np.isin(part, d.trainval).all()
    # held-out classes are seen classes of the real split, disjoint from validation-seen ones
    assert np.isin(v.unseen, d.seen).all() and not np.isin(v.unseen, v.seen).any()
    assert v.unseen.size == 3 and v.seen.size == 12
    # a quarter of each validation-seen class's samples is held out for GZSL seen accuracy
    counts_out = np.bincount(d.y[v.test_seen], minlength=20)[v.seen]
    counts_all = np.bincount(d.y[d.trainval], minlength=20)[v.seen]
    assert np.array_equal(counts_out, np.floor(0.25 * counts_all))
    # reproducible from the seed, different for another seed
    v2 = d.validation_view(unseen_fraction=0.2, holdout_fraction=0.25, seed=1)
    assert np.array_equal(v.test_seen, v2.test_seen)
    v3 = d.validation_view(unseen_fraction=0.2, holdout_fraction=0.25, seed=2)
    assert not np.array_equal(v.unseen, v3.unseen) or not np.array_equal(v.test_seen, v3.test_seen)


def test_validation_view_holds_out_a_tail_block_of_time_ordered_runs():
    # 3 classes x 10 rows in time order (one run each), windows of 3: held-out seen rows are the
    # last 3 of each run, the 2 rows before them are dropped, so no training window overlaps.
    y = np.repeat(np.arange(3), 10)
    d = AnyShotData.create(np.arange(30, dtype=np.float32)[:, None], y, np.eye(3),
                           seen=np.arange(3), unseen=np.array([], dtype=np.int64),
                           trainval=np.arange(30), test_seen=np.array([], dtype=np.int64),
                           test_unseen=np.array([], dtype=np.int64),
                           meta={"time_ordered": True, "window": 3})
    v = d.validation_view(val_unseen=[0], holdout_fraction=0.3, seed=5)
    assert v.test_seen.tolist() == [17, 18, 19, 27, 28, 29]
    kept_seen = v.trainval[np.isin(v.y[v.trainval], [1, 2])]
    assert kept_seen.tolist() == [10, 11, 12, 13, 14, 20, 21, 22, 23, 24]   # 15, 16, 25, 26 gap
    assert v.test_unseen.tolist() == list(range(10))
    same = d.validation_view(val_unseen=[0], holdout_fraction=0.3, seed=6)
    assert same.test_seen.tolist() == v.test_seen.tolist()          # the seed does not move it
    unordered = AnyShotData.create(d.X, y, np.eye(3), seen=np.arange(3),
                                   unseen=np.array([], dtype=np.int64), trainval=np.arange(30),
                                   test_seen=np.array([], dtype=np.int64),
                                   test_unseen=np.array([], dtype=np.int64))
    r = unordered.validation_view(val_unseen=[0], holdout_fraction=0.3, seed=5)
    assert r.test_seen.size == 6 and r.trainval.size == 14             # random rows, no gap


def test_validation_view_keeps_k_shots_in_few_shot_splits():
    d = make_synthetic(shots=5, seed=0)
    assert np.all(np.bincount(d.y[d.shots], minlength=d.n_classes)[d.unseen] == 5)
    v = d.validation_view(seed=0)
    assert np.all(np.bincount(d.y[v.shots], minlength=d.n_classes)[v.unseen] == 5)


def test_validation_view_explicit_classes():
    d = make_synthetic(seed=0)
    v = d.validation_view(val_unseen=d.seen[:2])
    assert v.unseen.tolist() == d.seen[:2].tolist()
    with pytest.raises(DataError, match="must all be seen classes"):
        d.validation_view(val_unseen=d.unseen[:1])


def test_synthetic_is_deterministic_and_configurable():
    a = make_synthetic(n_classes=10, n_unseen=3, n_features=8, samples_per_class=30, seed=5)
    b = make_synthetic(n_classes=10, n_unseen=3, n_features=8, samples_per_class=30, seed=5)
    c = make_synthetic(n_classes=10, n_unseen=3, n_features=8, samples_per_class=30, seed=6)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.unseen, b.unseen)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (300, 8) and a.unseen.size == 3
    assert a.test_unseen.size == 3 * 30
    with pytest.raises(DataError, match="n_unseen"):
        make_synthetic(n_classes=5, n_unseen=5)
    with pytest.raises(DataError, match="shots"):
        make_synthetic(samples_per_class=10, shots=10)


def test_minmax_scaling_uses_training_statistics_only():
    d = make_synthetic(seed=0)
    s = scale_features(d, "minmax")
    tr = s.X[s.trainval]
    assert np.allclose(tr.min(0), 0.0, atol=1e-6) and np.allclose(tr.max(0), 1.0, atol=1e-6)
    # test features are transformed with the same statistics, not their own
    lo = d.X[d.trainval].min(0)
    span = d.X[d.trainval].max(0) - lo
    assert np.allclose(s.X[d.test_unseen], (d.X[d.test_unseen] - lo) / span, atol=1e-5)


def test_summary_names_zero_shot_and_few_shot_splits():
    d = make_synthetic(n_classes=6, n_unseen=2, n_features=4, n_attributes=3,
                       samples_per_class=10, seed=0)
    assert "(zero-shot: no samples of unseen classes)" in d.summary()
    assert "(shots per unseen class ~2)" in d.with_shots(2).summary()
