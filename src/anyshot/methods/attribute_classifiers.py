"""DAP's attribute classifiers other than Gaussian naive Bayes: scikit-learn models fitted one per
attribute, kept as plain arrays.

Each classifier estimates p(a_k = 1 | x) for every binarised attribute k:

    logistic                 p = sigmoid(x . w_k + b_k)            (LogisticRegression)
    random-forest            p = mean over the trees of the leaf's share of a_k = 1
                                                                    (RandomForestClassifier)
    hist-gradient-boosting   p = sigmoid(b_k + sum over the trees of the leaf value)
                                                                    (HistGradientBoostingClassifier)

After fitting, a model is reduced to arrays (weights; or the trees' split features, thresholds,
children and leaf values) and predicted from those arrays, before and after a save alike. So a
saved model is tensors in safetensors like every other anyshot model: loading it runs no pickled
code and does not depend on scikit-learn's private object layout, and predictions after a load are
identical to those before. The tree arrays are read from ``RandomForestClassifier``'s documented
``tree_`` structure and from ``HistGradientBoostingClassifier``'s fitted predictors; the
tests check the predictions from arrays against scikit-learn's ``predict_proba``.

An attribute that is constant over the training samples gets no model: p is its training prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, logit

from anyshot.errors import ConfigError, check_choice

__all__ = ["ATTRIBUTE_CLASSIFIERS", "attribute_proba", "attribute_seeds", "check_classifier",
           "fit_attribute_models"]

#: Choices of ``DAPConfig.attribute_classifier``; ``gaussian-nb`` is DAP's own closed form.
ATTRIBUTE_CLASSIFIERS = ("gaussian-nb", "logistic", "random-forest", "hist-gradient-boosting")

# Settings that differ from scikit-learn's defaults (``classifier_params`` go over them).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "logistic": {"max_iter": 1000},
    "random-forest": {},
    "hist-gradient-boosting": {},
}
_CHUNK = 1024  # samples per pass through the trees (bounds the (samples, trees) index arrays)


def _sklearn_class(name: str) -> type:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    return {"logistic": LogisticRegression, "random-forest": RandomForestClassifier,
            "hist-gradient-boosting": HistGradientBoostingClassifier}[name]


def check_classifier(name: Any, params: Any) -> None:
    """A known classifier name, and parameter names its scikit-learn class takes."""
    check_choice("attribute_classifier", name, ATTRIBUTE_CLASSIFIERS)
    if not isinstance(params, dict):
        raise ConfigError(f"classifier_params must be a mapping of scikit-learn arguments, got "
                          f"{type(params).__name__}.")
    if name == "gaussian-nb":
        if params:
            raise ConfigError("classifier_params apply to the scikit-learn attribute classifiers "
                              f"({', '.join(ATTRIBUTE_CLASSIFIERS[1:])}); gaussian-nb is set by "
                              "var_smoothing. Drop classifier_params.")
        return
    cls = _sklearn_class(name)
    valid = sorted(cls().get_params())
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"classifier_params {', '.join(map(repr, unknown))} are not arguments "
                          f"of {cls.__name__} ({name}); valid: {', '.join(valid)}.")
    if "random_state" in params:
        raise ConfigError("classifier_params cannot set random_state: it comes from the method's "
                          "seed.")
    if name == "hist-gradient-boosting" and params.get("categorical_features") not in (None,
                                                                                       "from_dtype"):
        raise ConfigError("classifier_params: categorical_features is not supported; DAP's "
                          "features are numeric.")


def fit_attribute_models(name: str, params: dict[str, Any], X: np.ndarray, S: np.ndarray,
                         prior: np.ndarray, seed: int, sample_weight: np.ndarray | None = None
                         ) -> dict[str, np.ndarray]:
    """One scikit-learn classifier per attribute of ``S`` (n, K) on ``X`` (n, d), reduced to
    arrays; ``prior`` (K,) stands in for attributes constant over the samples; ``sample_weight``
    (n,) is passed to every fit.

    Attribute k's model gets ``attribute_seeds(seed, K)[k]`` as its random_state."""
    K = S.shape[1]
    seeds = attribute_seeds(seed, K)
    cls = _sklearn_class(name)
    kwargs = {**_DEFAULTS[name], **params}
    varies = S.min(0) != S.max(0)
    models = {int(k): cls(**kwargs, random_state=int(seeds[k])).fit(
        X, S[:, k].astype(np.int64), sample_weight=sample_weight) for k in np.nonzero(varies)[0]}
    if name == "logistic":
        return _linear_arrays(models, K, X.shape[1], prior)
    return _tree_arrays(name, models, K, prior)


def attribute_seeds(seed: int, K: int) -> np.ndarray:
    """K random_state values (uint32) for the attribute models of method seed ``seed``: drawn
    from its ``training`` stream (:func:`anyshot.utils.stream_seed`)."""
    from anyshot.utils import stream_seed

    return np.random.SeedSequence(stream_seed(seed, "training")).generate_state(K)


def _linear_arrays(models: dict, K: int, d: int, prior: np.ndarray) -> dict[str, np.ndarray]:
    coef = np.zeros((K, d))
    intercept = logit(prior).astype(np.float64)
    for k, m in models.items():
        coef[k] = m.coef_[0]
        intercept[k] = m.intercept_[0]
    return {"coef": coef, "intercept": intercept}


def _tree_arrays(name: str, models: dict, K: int, prior: np.ndarray) -> dict[str, np.ndarray]:
    """Every tree of every attribute in flat node arrays. A leaf is its own left and right
    child, so walking a fixed number of steps (the deepest tree's depth) ends on every leaf."""
    boosted = name == "hist-gradient-boosting"
    feature, threshold, left, right, value, roots, owner = [], [], [], [], [], [], []
    # random forest: p = base + scale * sum of leaf shares; boosting: p = sigmoid(base + sum).
    base = logit(prior).astype(np.float64) if boosted else prior.astype(np.float64).copy()
    scale = np.ones(K)
    depth, offset = 0, 0
    for k, m in models.items():
        if boosted:
            trees = [_boosted_tree(p[0]) for p in m._predictors]
            base[k] = float(np.ravel(m._baseline_prediction)[0])
        else:
            trees = [_forest_tree(e.tree_, m.classes_) for e in m.estimators_]
            base[k] = 0.0
            scale[k] = 1.0 / len(trees)
        for f, t, lo, hi, v, dep in trees:
            leaf = lo < 0
            idx = np.arange(f.size) + offset
            feature.append(np.where(leaf, 0, f))
            threshold.append(np.where(leaf, 0.0, t))
            left.append(np.where(leaf, idx, lo + offset))
            right.append(np.where(leaf, idx, hi + offset))
            value.append(np.where(leaf, v, 0.0))
            roots.append(offset)
            owner.append(k)
            depth = max(depth, dep)
            offset += f.size

    def cat(parts: list, dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return {"feature": cat(feature, np.int64), "threshold": cat(threshold, np.float64),
            "left": cat(left, np.int64), "right": cat(right, np.int64),
            "value": cat(value, np.float64), "root": np.asarray(roots, dtype=np.int64),
            "attribute": np.asarray(owner, dtype=np.int64), "base": base, "scale": scale,
            "depth": np.asarray([depth], dtype=np.int64)}


def _forest_tree(tree: Any, classes: np.ndarray) -> tuple:
    """(feature, threshold, left, right, share of a_k = 1, depth) of a fitted decision tree;
    leaves have left = -1."""
    counts = tree.value[:, 0, :]
    share = counts[:, list(classes).index(1)] / counts.sum(1)
    return (tree.feature.astype(np.int64), tree.threshold.astype(np.float64),
            tree.children_left.astype(np.int64), tree.children_right.astype(np.int64), share,
            int(tree.max_depth))


def _boosted_tree(predictor: Any) -> tuple:
    """The same arrays for one tree of a histogram gradient boosting model (leaf values already
    carry the learning rate)."""
    nodes = predictor.nodes
    if np.any(nodes["is_categorical"]):  # pragma: no cover - rejected by check_classifier
        raise ConfigError("categorical splits are not supported in DAP's attribute classifiers.")
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    return (nodes["feature_idx"].astype(np.int64), nodes["num_threshold"].astype(np.float64),
            left, right, nodes["value"].astype(np.float64), int(nodes["depth"].max()))


def attribute_proba(name: str, state: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """p(a_k = 1 | x): (n, K), from the arrays of :func:`fit_attribute_models`."""
    if name == "logistic":
        return expit(X @ state["coef"].T + state["intercept"][None, :])
    boosted = name == "hist-gradient-boosting"
    # Random forests split float32 features (scikit-learn casts them); boosting splits float64.
    Xs = X if boosted else X.astype(np.float32)
    K = state["base"].size
    out = np.empty((X.shape[0], K))
    owner = state["attribute"]
    present = np.unique(owner)
    starts = np.searchsorted(owner, present)  # trees are stored attribute by attribute
    for lo in range(0, X.shape[0], _CHUNK):
        xc = Xs[lo:lo + _CHUNK]
        rows = np.arange(xc.shape[0])[:, None]
        node = np.broadcast_to(state["root"], (xc.shape[0], owner.size)).copy()
        for _ in range(int(state["depth"][0])):
            go_left = xc[rows, state["feature"][node]] <= state["threshold"][node]
            node = np.where(go_left, state["left"][node], state["right"][node])
        margin = np.broadcast_to(state["base"], (xc.shape[0], K)).copy()
        if present.size:
            sums = np.add.reduceat(state["value"][node], starts, axis=1)
            margin[:, present] += state["scale"][present] * sums
        out[lo:lo + _CHUNK] = expit(margin) if boosted else margin
    return out
