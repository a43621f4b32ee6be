"""AnyShotClassifier: the scikit-learn contract, any labels, validation, save/load."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from anyshot import AnyShotClassifier
from anyshot.data import make_synthetic
from anyshot.errors import ConfigError, DataError

FAST = {"hidden": 256, "critic_hidden": 256, "batch_size": 128, "lr": 1e-3, "cls_weight": 1.0,
        "noise_dim": 64, "syn_num": 200, "pretrain": {"epochs": 20, "batch_size": 256}}


@pytest.fixture(scope="module")
def problem():
    d = make_synthetic(seed=0)
    names = np.array([f"sp-{c}" for c in range(d.n_classes)], dtype=object)
    A = pd.DataFrame(d.attributes, index=names)
    return d, names, A


def test_init_only_stores_params_and_clones():
    est = AnyShotClassifier(method="dap", epochs=3, method_params={"threshold": 0.4})
    assert est.get_params()["method_params"] == {"threshold": 0.4}
    c = clone(est)
    assert c.get_params() == est.get_params() and c is not est
    c.set_params(epochs=7)
    assert c.epochs == 7 and est.epochs == 3
    assert not hasattr(est, "classes_")


def test_labels_are_returned_as_given_and_unseen_are_predicted(problem):
    d, names, A = problem
    tv = d.trainval
    est = AnyShotClassifier(method="attribute-regression").fit(d.X[tv], names[d.y[tv]],
                                                               class_attributes=A)
    assert set(est.classes_) == set(names)  # GZSL: every class of the table
    pred = est.predict(d.X[d.test_unseen])
    assert set(np.unique(pred)) <= set(names)
    zsl = AnyShotClassifier(method="attribute-regression", generalized=False).fit(
        d.X[tv], names[d.y[tv]], class_attributes=A)
    assert sorted(zsl.classes_) == sorted(names[d.unseen])
    assert zsl.score(d.X[d.test_unseen], names[d.y[d.test_unseen]]) > 0.6  # chance 0.2
    proba = zsl.predict_proba(d.X[:5])
    assert proba.shape == (5, 5) and np.allclose(proba.sum(1), 1.0)


@pytest.mark.parametrize("n_seen", [1, 2])
def test_too_few_seen_classes_for_folds_fit_the_default_with_a_warning(problem, n_seen):
    """With fewer than 3 seen classes there are no folds: the default method is fitted as it
    is, its listed GZSL classifier resolved to the first (it used to fail inside fit)."""
    d, names, A = problem
    rows = d.trainval[np.isin(d.y[d.trainval], d.seen[:n_seen])]
    table = A.loc[names[np.concatenate([d.seen[:n_seen], d.unseen])]]
    with pytest.warns(RuntimeWarning, match=f"only {n_seen} seen class"):
        est = AnyShotClassifier().fit(d.X[rows], names[d.y[rows]], class_attributes=table)
    assert len(est.selection_) == 1 and "GZSL classifier gaussian" in est.selection_[0]["reason"]
    assert len(est.classes_) == n_seen + d.unseen.size
    proba = est.predict_proba(d.X[d.test_unseen])
    assert np.allclose(proba.sum(1), 1.0) and set(est.predict(d.X[:10])) <= set(table.index)


def test_integer_labels_with_gaps(problem):
    d, _, _ = problem
    labels = np.arange(d.n_classes) * 10 + 3
    A = {int(l): d.attributes[i] for i, l in enumerate(labels)}
    tv = d.trainval
    est = AnyShotClassifier(method="dap").fit(d.X[tv], labels[d.y[tv]], class_attributes=A)
    assert est.classes_.dtype.kind == "i" and set(est.predict(d.X[:20])) <= set(labels.tolist())


def test_generative_estimator_learns_and_round_trips(tmp_path, problem):
    d, names, A = problem
    tv = d.trainval
    est = AnyShotClassifier(method="clswgan", epochs=15, method_params=FAST, generalized=False)
    est.fit(d.X[tv], names[d.y[tv]], class_attributes=A)
    t = d.test_unseen
    assert est.score(d.X[t], names[d.y[t]]) > 0.5  # chance 0.2
    est.save(tmp_path / "model")
    again = AnyShotClassifier.load(tmp_path / "model")
    assert np.array_equal(again.predict(d.X[t]), est.predict(d.X[t]))
    assert np.allclose(again.predict_proba(d.X[t]), est.predict_proba(d.X[t]))


def test_few_shot_classes_use_their_shots(problem):
    d5 = make_synthetic(seed=0, shots=5)
    names = np.array([f"sp-{c}" for c in range(d5.n_classes)], dtype=object)
    A = pd.DataFrame(d5.attributes, index=names)
    tv = d5.trainval
    est = AnyShotClassifier(method="attribute-regression").fit(
        d5.X[tv], names[d5.y[tv]], class_attributes=A, unseen_classes=list(names[d5.unseen]))
    assert est.shots_ == 25 and sorted(est.unseen_) == sorted(d5.unseen)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X": np.zeros((3, 2, 2))}, "Found array with dim 3"),
        ({"y": ["a"]}, "inconsistent numbers of samples"),
        ({"X": np.array([[np.nan, 1.0], [1, 2], [3, 4]])}, "Input X contains NaN"),
        ({"X": np.array([[np.inf, 1.0], [1, 2], [3, 4]])}, "infinity.*Remove or impute"),
        ({"y": ["a", "b", "zzz"]}, "classes \\['zzz'\\] occur in y but have no row"),
        ({"class_attributes": pd.DataFrame([[1, 0], [0, 1], [1, 1]], index=["a", "a", "c"])},
         "duplicate class labels"),
        ({"class_attributes": pd.DataFrame([[1, np.nan], [0, 1], [1, 1]], index=["a", "b", "c"])},
         "NaN/inf values for classes \\['a'\\]"),
        ({"class_attributes": pd.DataFrame([[1, 0], [1, 1], [1, 0]], index=["a", "b", "c"])},
         "columns \\[0\\] are constant"),
        ({"unseen_classes": ["q"]}, "unseen_classes \\['q'\\] are not in class_attributes"),
        ({"unseen_classes": ["a", "b"]}, "no seen class"),
    ],
)
def test_bad_input(kwargs, message):
    args = {"X": np.array([[0.0, 1.0], [1.0, 2.0], [3.0, 4.0]]), "y": ["a", "b", "b"],
            "class_attributes": pd.DataFrame([[1, 0], [0, 1], [1, 1]], index=["a", "b", "c"])}
    args.update(kwargs)
    with pytest.raises(DataError, match=message):
        AnyShotClassifier(method="attribute-regression").fit(**args)


def test_predict_checks_feature_count(problem):
    d, names, A = problem
    tv = d.trainval
    est = AnyShotClassifier(method="dap").fit(d.X[tv], names[d.y[tv]], class_attributes=A)
    with pytest.raises(DataError,
                       match="X has 3 features, but AnyShotClassifier is expecting 64 features"):
        est.predict(np.zeros((2, 3)))


def test_default_hyperparameters_follow_the_documented_formula():
    from dataclasses import fields

    from anyshot.estimator import data_sized_params
    from anyshot.methods.clswgan import CLSWGANConfig

    names = {f.name for f in fields(CLSWGANConfig)}
    small = data_sized_params(10_000, 10, 4, 2500.0, names)
    assert small == {"hidden": 64, "critic_hidden": 64, "batch_size": 256, "epochs": 20,
                     "syn_num": 300, "pretrain": {"batch_size": 256, "epochs": 20},
                     "lr": 1e-3, "cls_weight": 1.0}
    big = data_sized_params(8_000, 2048, 312, 40.0, names)
    assert big["hidden"] == 4096 and big["batch_size"] == 256 and big["syn_num"] == 50
    assert "lr" not in big and "cls_weight" not in big  # paper-sized: the paper's settings
    tiny = data_sized_params(300, 5, 3, 20.0, names)
    assert tiny["batch_size"] == 64 and tiny["epochs"] == 30 and tiny["hidden"] == 64


def test_fit_sizes_unset_parameters_and_keeps_given_and_preset_ones(problem):
    d, names, A = problem
    tv = d.trainval
    quick = {"epochs": 1, "pretrain": {"epochs": 1}, "classifier": {"epochs": 1}}
    est = AnyShotClassifier(method="clswgan", method_params={**quick, "hidden": 48}).fit(
        d.X[tv], names[d.y[tv]], class_attributes=A)
    cfg = est.method_.config
    # n = 2400 rows, d = 64, m = 16: width 2^ceil(log2(320)) = 512, batch 2^round(log2(60)) = 64
    assert cfg.hidden == 48 and cfg.critic_hidden == 512 and cfg.batch_size == 64
    assert cfg.epochs == 1 and cfg.syn_num == 160 and cfg.pretrain.batch_size == 64
    assert cfg.pretrain.epochs == 1 and cfg.lr == 1e-3
    preset = AnyShotClassifier(preset="clswgan/synthetic", method_params=quick).fit(
        d.X[tv], names[d.y[tv]], class_attributes=A)
    assert preset.method_.config.hidden == 256 and preset.method_.config.batch_size == 128
    with pytest.raises(Exception, match="method_params.epochs is -1"):
        AnyShotClassifier(method="clswgan", method_params={"epochs": -1}).fit(
            d.X[tv], names[d.y[tv]], class_attributes=A)
    with pytest.raises(ConfigError, match="name it"):
        AnyShotClassifier(method_params={"epochs": 1}).fit(d.X[tv], names[d.y[tv]],
                                                           class_attributes=A)
