"""DAP's attribute classifiers: Gaussian naive Bayes (the default, unchanged) and the
scikit-learn choices, each fitted, checked against scikit-learn's own predictions, above chance on
the synthetic benchmark, and saved/loaded to identical predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from anyshot import AnyShotClassifier
from anyshot.data import make_synthetic
from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.evaluation.metrics import per_class_accuracy
from anyshot.evaluation.task import Task
from anyshot.methods import Method, make_method
from anyshot.methods.attribute_classifiers import (
    ATTRIBUTE_CLASSIFIERS,
    attribute_proba,
    attribute_seeds,
    fit_attribute_models,
)
from anyshot.methods.dap import DAP, DAPConfig

# Small models keep the tests quick; the defaults are scikit-learn's (logistic: max_iter 1000).
SMALL = {"logistic": {}, "random-forest": {"n_estimators": 8, "max_depth": 8},
         "hist-gradient-boosting": {"max_iter": 15}}
SKLEARN = {"logistic": LogisticRegression, "random-forest": RandomForestClassifier,
           "hist-gradient-boosting": HistGradientBoostingClassifier}


@pytest.fixture(scope="module")
def data():
    return make_synthetic(seed=0)


@pytest.fixture(scope="module")
def fitted(data):
    return {name: DAP(DAPConfig(attribute_classifier=name, classifier_params=params),
                      seed=3).fit(data)
            for name, params in SMALL.items()}


def test_the_default_is_gaussian_naive_bayes_as_before(data) -> None:
    cfg = DAPConfig()
    assert cfg.attribute_classifier == "gaussian-nb" and cfg.classifier_params == {}
    m = DAP(seed=0).fit(data)
    # The saved arrays are those of earlier versions, so older models load unchanged.
    assert sorted(m.state_tensors()) == ["binary_", "mu0_", "mu1_", "prior_", "var0_", "var1_"]
    # p(a_k = 1 | x) is scikit-learn's Gaussian naive Bayes on the binarised attribute (same
    # variance smoothing: a fraction of the largest feature variance).
    X = data.X[data.trainval].astype(np.float64)
    S = (data.attributes[data.y[data.trainval]] > 0.5).astype(int)
    Xt = data.X[data.test_unseen].astype(np.float64)
    for k in (0, 5):
        nb = GaussianNB(var_smoothing=1e-3).fit(X, S[:, k])
        np.testing.assert_allclose(m.attribute_proba(Xt)[:, k], nb.predict_proba(Xt)[:, 1],
                                   rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", list(SMALL))
def test_arrays_predict_what_scikit_learn_predicts(name, data) -> None:
    X = data.X[data.trainval].astype(np.float64)
    S = (data.attributes[data.y[data.trainval]] > 0.5).astype(np.int64)
    S[:, 2] = 1  # a constant attribute gets no model: its prior stands in
    prior = np.clip(S.mean(0), 1e-6, 1 - 1e-6)
    state = fit_attribute_models(name, SMALL[name], X, S, prior, seed=5)
    Xt = data.X[data.test_unseen].astype(np.float64)
    p = attribute_proba(name, state, Xt)
    seeds = attribute_seeds(5, S.shape[1])
    kwargs = {"max_iter": 1000} if name == "logistic" else {}
    for k in (0, 7):
        ref = SKLEARN[name](**kwargs, **SMALL[name], random_state=int(seeds[k])).fit(X, S[:, k])
        np.testing.assert_allclose(p[:, k], ref.predict_proba(Xt)[:, 1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p[:, 2], 1 - 1e-6)


@pytest.mark.parametrize("name", list(SMALL))
def test_each_classifier_learns_above_chance(name, fitted, data) -> None:
    m = fitted[name]
    zsl = m.build_classifier(Task.of(data, "zsl"))
    acc = per_class_accuracy(data.y[data.test_unseen], zsl.predict(data.X[data.test_unseen]))
    assert acc > 0.45, acc  # 5 unseen classes: chance is 0.2
    assert m.config.attribute_classifier == name


@pytest.mark.parametrize("name", list(SMALL))
def test_save_and_load_give_identical_predictions(name, fitted, data, tmp_path) -> None:
    m = fitted[name]
    m.save(tmp_path)
    back = Method.load(tmp_path)
    assert back.config.attribute_classifier == name
    assert back.config.classifier_params == SMALL[name]
    gzsl = Task.of(data, "gzsl")
    X = data.X[data.test_seen]
    np.testing.assert_array_equal(back.build_classifier(gzsl).scores(X),
                                  m.build_classifier(gzsl).scores(X))


def test_same_seed_same_model_other_seed_other_forest(data) -> None:
    cfg = DAPConfig(attribute_classifier="random-forest", classifier_params=SMALL["random-forest"])
    a, b = DAP(cfg, seed=1).fit(data), DAP(cfg, seed=1).fit(data)
    c = DAP(cfg, seed=2).fit(data)
    for key in a.models_:
        np.testing.assert_array_equal(a.models_[key], b.models_[key])
    assert not np.array_equal(a.models_["threshold"], c.models_["threshold"])


def test_estimator_round_trip_with_a_scikit_learn_classifier(data, tmp_path) -> None:
    tv = data.trainval
    est = AnyShotClassifier(method="dap", random_state=4, method_params={
        "attribute_classifier": "hist-gradient-boosting", "classifier_params": {"max_iter": 10}})
    est.fit(data.X[tv], data.y[tv], class_attributes=data.attributes,
            attribute_classes=np.arange(data.n_classes))
    est.save(tmp_path / "m")
    back = AnyShotClassifier.load(tmp_path / "m")
    X = data.X[data.test_unseen]
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    assert back.method_.config.attribute_classifier == "hist-gradient-boosting"


def test_unknown_classifier_names_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        make_method("dap", {"attribute_classifier": "svm"})
    assert "'svm' is unknown" in str(err.value)
    assert all(name in str(err.value) for name in ATTRIBUTE_CLASSIFIERS)


def test_unknown_classifier_params_name_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="'n_trees' are not arguments of RandomForestClassifier"):
        make_method("dap", {"attribute_classifier": "random-forest",
                            "classifier_params": {"n_trees": 5}})
    with pytest.raises(ConfigError, match="random_state"):
        make_method("dap", {"attribute_classifier": "logistic",
                            "classifier_params": {"random_state": 1}})
    with pytest.raises(ConfigError, match="gaussian-nb is set by var_smoothing"):
        make_method("dap", {"classifier_params": {"C": 1.0}})


def _imbalanced() -> AnyShotData:
    # one binary attribute; classes 0 (a = 1, three rows at 0), 1 (a = 1, one row at 4) and
    # 2 (a = 0, three rows at 8, 10, 9) are seen, class 3 (a = 0) is unseen
    X = np.array([[0.0], [0.0], [0.0], [4.0], [8.0], [10.0], [9.0], [9.0]])
    y = np.array([0, 0, 0, 1, 2, 2, 2, 3])
    A = np.array([[1.0], [1.0], [0.0], [0.0]])
    return AnyShotData.create(X, y, A, seen=[0, 1, 2], unseen=[3], trainval=np.arange(7),
                              test_seen=[], test_unseen=[7])


def test_dap_weighs_classes_alike_unless_told_samples() -> None:
    data = _imbalanced()
    rows = DAP(DAPConfig(var_smoothing=0.0, balance="samples"), seed=0).fit(data)
    classes = DAP(DAPConfig(var_smoothing=0.0), seed=0).fit(data)
    # a = 1 by rows: {0, 0, 0, 4}, mean 1, p(a = 1) = 4 / 7. By classes (weights 1, 1, 1, 3 for
    # the a = 1 rows, 1 for the others): mean 12 / 6 = 2, p(a = 1) = 6 / 9.
    np.testing.assert_allclose(rows.mu1_, [[1.0]])
    np.testing.assert_allclose(rows.prior_, [4 / 7])
    np.testing.assert_allclose(classes.mu1_, [[2.0]])
    np.testing.assert_allclose(classes.var1_, [[16 * 3 / 6 - 4]])
    np.testing.assert_allclose(classes.prior_, [6 / 9])


def test_attribute_regression_weighs_classes_alike_unless_told_samples() -> None:
    # Weights proportional to 1 / n_c and of mean 1 are (2, 2/3, 2/3, 2/3) on rows (x4, x1, x2,
    # x3) of a class of one row and a class of three: the weighted ridge objective is 2/3 of
    # the plain one on a set where the single row appears three times, so alpha = 1 there
    # equals alpha = 1.5 on the repeated set.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [2.0, 1.0], [2.0, 1.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    A = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    imbalanced = AnyShotData.create(X[:4], y[:4], A, seen=[0, 1], unseen=[2],
                                  trainval=np.arange(4), test_seen=[], test_unseen=[])
    repeated = AnyShotData.create(X, y, A, seen=[0, 1], unseen=[2], trainval=np.arange(6),
                                  test_seen=[], test_unseen=[])
    by_class = make_method("attribute-regression", {"alpha": 1.0}, seed=0).fit(imbalanced)
    by_row = make_method("attribute-regression", {"alpha": 1.5, "balance": "samples"},
                         seed=0).fit(repeated)
    np.testing.assert_allclose(by_class.ridge_.coef_, by_row.ridge_.coef_, atol=1e-10)
    np.testing.assert_allclose(by_class.ridge_.intercept_, by_row.ridge_.intercept_, atol=1e-10)
