"""``AnyShotClassifier``: the scikit-learn style public API.

    clf = AnyShotClassifier(method="clswgan", objective="wgan-gp", epochs=30)
    clf.fit(X, y, class_attributes=A, unseen_classes=["zebra", "whale"])
    clf.predict(X_new)            # labels as given in y / the attribute table
    clf.predict_proba(X_new)      # columns follow clf.classes_

``class_attributes`` is a pandas DataFrame indexed by class label, a dict {label: vector}, or a
2-D array whose rows follow ``attribute_classes``. Labels can be any hashable values (strings,
ints with gaps). Classes of the table without samples in ``y`` are unseen; classes listed in
``unseen_classes`` that do have samples in ``y`` are few-shot classes: their samples are the k
shots. Without ``class_attributes`` every class gets a one-hot attribute (plain supervised
learning; no unseen classes).

Following scikit-learn's contract, ``__init__`` only stores its arguments; ``fit`` validates,
learns and returns ``self``; learned state ends with an underscore; ``get_params`` /
``set_params`` come from ``BaseEstimator``, so ``sklearn.base.clone`` and ``GridSearchCV`` work.
``save`` writes safetensors weights plus JSON, never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from anyshot.data.dataset import AnyShotData
from anyshot.errors import DataError
from anyshot.io import atomic_write_text, load_tensors, read_json, save_tensors
from anyshot.methods import Method, make_method
from anyshot.methods.base import Classifier
from anyshot.objectives import make_objective

__all__ = ["AnyShotClassifier", "attribute_table"]


def attribute_table(class_attributes: Any, attribute_classes: Sequence[Hashable] | None = None
                    ) -> tuple[list[Hashable], np.ndarray]:
    """Normalise the accepted attribute-table forms to (labels, (C, m) float array), validated."""
    if isinstance(class_attributes, pd.DataFrame):
        labels = list(class_attributes.index)
        A = class_attributes.to_numpy()
    elif isinstance(class_attributes, dict):
        labels = list(class_attributes)
        A = np.array([np.asarray(v, dtype=np.float64).ravel() for v in class_attributes.values()])
    else:
        A = np.asarray(class_attributes)
        if attribute_classes is None:
            raise DataError("class_attributes is an array: pass attribute_classes (one label per "
                            "row), or give a DataFrame indexed by class label.")
        labels = list(attribute_classes)
    if A.ndim != 2:
        raise DataError(f"class_attributes must be 2-D (n_classes, n_attributes), got shape {A.shape}.")
    if len(labels) != A.shape[0]:
        raise DataError(f"class_attributes has {A.shape[0]} rows but {len(labels)} class labels.")
    try:
        A = A.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"class_attributes must be numeric: {exc}") from exc
    seen: dict = {}
    dups = [l for l in labels if l in seen or seen.setdefault(l, False)]
    if dups:
        raise DataError(f"duplicate class labels in class_attributes: {dups[:10]}; each class "
                        "needs exactly one attribute row.")
    bad = ~np.isfinite(A)
    if bad.any():
        rows = [labels[i] for i in np.unique(np.nonzero(bad)[0])[:10]]
        raise DataError(f"class_attributes has NaN/inf values for classes {rows}; fill or drop them.")
    const = np.nonzero(np.ptp(A, axis=0) == 0)[0] if A.shape[0] > 1 else np.zeros(0, int)
    if const.size == A.shape[1]:
        raise DataError("every attribute column of class_attributes is constant across classes, "
                        "so attributes cannot tell classes apart.")
    if const.size:
        raise DataError(f"attribute columns {const[:10].tolist()} are constant across classes and "
                        "carry no information; drop them from class_attributes.")
    return labels, A


class _ConstantClassifier(Classifier):
    def __init__(self, candidates: np.ndarray) -> None:
        self.candidates = candidates

    def scores(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((len(X), 1))


class AnyShotClassifier(ClassifierMixin, BaseEstimator):
    """Any-shot classifier: a generative (or attribute-based) method + a final classifier.

    Args:
        method: ``clswgan``, ``srwgan``, ``attribute-regression`` or ``dap`` (default: the
            preset's method, else ``clswgan``).
        objective: adversarial objective of generative methods (``wgan``, ``wgan-gp``,
            ``ebgan``; default: the preset's, else ``wgan-gp``).
        preset: a shipped config (``anyshot presets``) whose method, objective and
            hyperparameters are the starting point; explicit arguments override it.
        method_params: the method's hyperparameters (see its config class), merged over the
            preset's.
        objective_params: the objective's hyperparameters.
        epochs: training epochs (overrides ``method_params["epochs"]``).
        generalized: predict among seen and unseen classes (GZSL/GFSL); ``False`` predicts
            among the unseen classes only (ZSL/FSL).
        scaling: ``minmax``, ``standard`` or ``none``, fitted on the training features.
        device: ``cpu``, ``cuda`` or ``auto``.
        random_state: seed of every random draw.
    """

    def __init__(self, method: str | None = None, objective: str | None = None,
                 preset: str | None = None,
                 method_params: dict | None = None, objective_params: dict | None = None,
                 epochs: int | None = None, generalized: bool = True, scaling: str = "minmax",
                 device: str = "cpu", random_state: int = 0) -> None:
        self.method = method
        self.objective = objective
        self.preset = preset
        self.method_params = method_params
        self.objective_params = objective_params
        self.epochs = epochs
        self.generalized = generalized
        self.scaling = scaling
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _build_method(self) -> Method:
        from anyshot.methods import METHODS

        method, objective, params, obj_params = "clswgan", "wgan-gp", {}, {}
        if self.preset is not None:
            from anyshot.config import load_config

            cfg = load_config(self.preset)
            method, params = cfg.method.name, dict(cfg.method.params)
            if cfg.objective is not None:
                objective, obj_params = cfg.objective.name, dict(cfg.objective.params)
        if self.method is not None and self.method != method:
            method, params = self.method, {}
        if self.objective is not None and self.objective != objective:
            objective, obj_params = self.objective, {}
        params.update(self.method_params or {})
        obj_params.update(self.objective_params or {})
        key = method.lower().replace("_", "-")
        is_generative = key in METHODS and METHODS[key].iterative
        if self.epochs is not None and is_generative:
            params["epochs"] = int(self.epochs)
        obj = make_objective(objective, **obj_params) if is_generative else None
        return make_method(method, params, objective=obj, device=self.device,
                           seed=int(self.random_state))

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.shift_) / self.scale_).astype(np.float32)

    def _check_X(self, X: Any, fitting: bool = False) -> np.ndarray:
        """scikit-learn's input validation (2-D, numeric, finite, non-empty, not sparse, same
        feature count as in fit), raised as DataError (a ValueError)."""
        if isinstance(X, pd.DataFrame):
            X = X.to_numpy()
        try:
            return validate_data(self, X, reset=fitting, dtype=np.float64, ensure_all_finite=True)
        except ValueError as exc:
            raise DataError(str(exc)) from exc

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Any, class_attributes: Any = None,
            unseen_classes: Sequence[Hashable] | None = None,
            attribute_classes: Sequence[Hashable] | None = None) -> "AnyShotClassifier":
        """Learn from features X (n, d), labels y (n,) and the class-attribute table."""
        if isinstance(X, pd.DataFrame):
            X = X.to_numpy()
        if isinstance(y, (pd.Series, pd.DataFrame)):
            y = y.to_numpy()
        try:
            X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite=True)
            check_classification_targets(y)
        except ValueError as exc:
            raise DataError(str(exc)) from exc
        y_labels, y_idx_local = np.unique(y, return_inverse=True)
        if class_attributes is None:
            if unseen_classes:
                raise DataError("unseen_classes need class_attributes to describe them.")
            labels = list(y_labels)
            A = np.eye(len(labels))
        else:
            labels, A = attribute_table(class_attributes, attribute_classes)
        index = {label: i for i, label in enumerate(labels)}
        missing = [l for l in y_labels.tolist() if l not in index]
        if missing:
            raise DataError(f"classes {missing[:10]} occur in y but have no row in class_attributes; "
                            "add their attribute vectors.")
        y_idx = np.array([index[l] for l in y_labels.tolist()], dtype=np.int64)[y_idx_local]
        present = np.unique(y_idx)
        if unseen_classes is None:
            unseen = np.setdiff1d(np.arange(len(labels)), present)
        else:
            unknown = [l for l in unseen_classes if l not in index]
            if unknown:
                raise DataError(f"unseen_classes {unknown[:10]} are not in class_attributes.")
            unseen = np.unique([index[l] for l in unseen_classes]).astype(np.int64)
        seen = np.setdiff1d(present, unseen)
        if seen.size == 0:
            raise DataError("no seen class: y has samples only of classes listed as unseen.")
        # Standardise/scale with training statistics only.
        if self.scaling == "minmax":
            self.shift_, span = X.min(0), np.ptp(X, axis=0)
            self.scale_ = np.where(span == 0, 1.0, span)
        elif self.scaling == "standard":
            self.shift_, sd = X.mean(0), X.std(0)
            self.scale_ = np.where(sd == 0, 1.0, sd)
        elif self.scaling == "none":
            self.shift_, self.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
        else:
            raise DataError(f"scaling {self.scaling!r} is unknown; choose minmax, standard or none.")
        Xs = self._scale(X)
        if len(labels) == 1:  # a single class: nothing to learn, sklearn still expects a fit
            self.method_, self.attribute_labels_ = None, labels
            self.seen_, self.unseen_, self.shots_ = seen, unseen, 0
            self.classifier_ = _ConstantClassifier(np.array([0]))
            self._set_classes(self.classifier_.candidates)
            return self
        data = AnyShotData.create(Xs, y_idx, A, seen=seen, unseen=unseen,
                                  trainval=np.arange(len(y_idx)), test_seen=[], test_unseen=[],
                                  class_names=[str(l) for l in labels], name="estimator")
        self.method_ = self._build_method()
        self.method_.fit(Xs, y_idx, A, np.unique(y_idx))
        self.attribute_labels_ = labels
        self.seen_ = seen
        self.unseen_ = unseen
        self._make_classifier(Xs, y_idx)
        self.shots_ = int(data.shots.size)
        return self

    def _make_classifier(self, Xs: np.ndarray, y_idx: np.ndarray) -> None:
        if self.generalized or self.unseen_.size == 0:
            cand = np.union1d(self.seen_, self.unseen_)
            real = np.arange(len(y_idx))
        else:
            cand = self.unseen_
            real = np.nonzero(np.isin(y_idx, self.unseen_))[0]
        self.classifier_ = self.method_.build_classifier(cand, self.unseen_, Xs[real], y_idx[real])
        self._set_classes(cand)

    def _set_classes(self, cand: np.ndarray) -> None:
        labels = [self.attribute_labels_[i] for i in cand]
        numeric = all(isinstance(l, (int, np.integer, float, np.floating)) and not isinstance(l, bool)
                      for l in labels)
        self.classes_ = np.array(labels) if numeric else np.array(labels, dtype=object)

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        return self.classifier_.scores(self._scale(self._check_X(X)))

    def decision_function(self, X: Any) -> np.ndarray:
        """(n, n_classes) scores; (n,) score of ``classes_[1]`` for two classes, as in sklearn."""
        s = self._scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    def predict(self, X: Any) -> np.ndarray:
        """Labels (n,) taken from ``classes_``."""
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, n_classes) probabilities; columns follow ``classes_``."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(self._scale(self._check_X(X)))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write ``path/`` with model.safetensors + model.json (the method) and estimator.json."""
        check_is_fitted(self, "classifier_")
        path = Path(path)
        self.method_.save(path)
        save_tensors(path / "classifier.safetensors", self.classifier_.state_tensors() or
                     {"empty": torch.zeros(0)})
        labels = [l.item() if isinstance(l, np.generic) else l for l in self.attribute_labels_]
        state = {
            "params": self.get_params(),
            "attribute_labels": labels,
            "seen": self.seen_.tolist(),
            "unseen": self.unseen_.tolist(),
            "shift": self.shift_.tolist(),
            "scale": self.scale_.tolist(),
            "n_features_in": self.n_features_in_,
            "candidates": self.classifier_.candidates.tolist(),
        }
        try:
            text = json.dumps(state, indent=2)
        except TypeError as exc:
            raise DataError(f"class labels must be JSON-serialisable to save ({exc}).") from exc
        atomic_write_text(path / "estimator.json", text)

    @classmethod
    def load(cls, path: str | Path) -> "AnyShotClassifier":
        """Rebuild an estimator written by :meth:`save`; predictions are identical."""
        path = Path(path)
        state = read_json(path / "estimator.json")
        est = cls(**state["params"])
        est.method_ = Method.load(path, device=est.device)
        est.attribute_labels_ = state["attribute_labels"]
        est.seen_ = np.array(state["seen"], dtype=np.int64)
        est.unseen_ = np.array(state["unseen"], dtype=np.int64)
        est.shift_ = np.array(state["shift"])
        est.scale_ = np.array(state["scale"])
        est.n_features_in_ = state["n_features_in"]
        cand = np.array(state["candidates"], dtype=np.int64)
        est.classifier_ = est.method_.restore_classifier(cand, est.unseen_,
                                                         load_tensors(path / "classifier.safetensors"))
        est._set_classes(cand)
        return est
