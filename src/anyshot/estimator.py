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

Defaults sized to the data: hyperparameters that neither ``preset`` nor ``method_params`` (nor
``epochs``) set are derived from the training table for the generative methods
(:func:`anyshot.sizing.data_sized_params`). Presets keep every value they set; the values of a
fit are in ``clf.method_.config``.

Saved models. ``save(DIR)`` writes the method exactly as a run directory stores a tested model
(``model.safetensors`` + ``model.json``, as in ``seed_<s>/<task>/``) plus the estimator's own
``estimator.json`` (labels, feature scaling, candidates) and ``classifier.safetensors`` (the final
classifier). ``load(DIR)`` reads either: a run's model folder becomes an estimator whose final
classifier is rebuilt from the run's data exactly as the run's evaluation built it.
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

from anyshot.data.attribute_table import attribute_table
from anyshot.data.dataset import AnyShotData
from anyshot.data.transforms import SCALINGS, scaling_statistics
from anyshot.errors import DataError
from anyshot.evaluation.final_classifier import Classifier
from anyshot.evaluation.task import Task
from anyshot.io import atomic_write_text, load_tensors, read_json, save_tensors
from anyshot.methods import Method, make_method
from anyshot.objectives import make_objective
from anyshot.sizing import data_sized_params
from anyshot.training import fit
from anyshot.utils import check_param_values, limit_threads, network_width

__all__ = ["AnyShotClassifier", "attribute_table", "data_sized_params", "model_kind"]

class _ConstantClassifier(Classifier):
    def __init__(self, candidates: np.ndarray) -> None:
        self.candidates = candidates

    def scores(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((len(X), 1))


class AnyShotClassifier(ClassifierMixin, BaseEstimator):
    """Any-shot classifier: a generative (or attribute-based) method + a final classifier.

    Args:
        method: ``clswgan``, ``srwgan``, ``factorised-gaussian``, ``attribute-regression`` or
            ``dap`` (default: the preset's method, else ``clswgan``).
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
        threads: CPU threads while fitting and predicting (``None``: one for networks narrower
            than 1,024, else every core, unless ``OMP_NUM_THREADS`` is set; ``0``: every core).
            The previous torch setting is restored afterwards.

    Hyperparameters nobody set are sized to the data (module docstring); the values used are in
    ``method_.config`` after ``fit``.
    """

    def __init__(self, method: str | None = None, objective: str | None = None,
                 preset: str | None = None,
                 method_params: dict | None = None, objective_params: dict | None = None,
                 epochs: int | None = None, generalized: bool = True, scaling: str = "minmax",
                 device: str = "cpu", random_state: int = 0, threads: int | None = None) -> None:
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
        self.threads = threads

    # ------------------------------------------------------------------ helpers
    def _build_method(self, sizes: tuple[int, int, int, float] | None = None) -> Method:
        """The configured method; ``sizes`` = (n, d, m, median rows per seen class) fills the
        hyperparameters that nobody set (:func:`data_sized_params`)."""
        from dataclasses import fields

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
        if sizes is not None and is_generative:
            names = {f.name for f in fields(METHODS[key].config_class)}
            for name, value in data_sized_params(*sizes, names, key).items():
                if isinstance(value, dict):  # nested settings: fill only the unset keys
                    given = params.get(name) or {}
                    params[name] = {**value, **given} if isinstance(given, dict) else given
                else:
                    params.setdefault(name, value)
        obj = make_objective(objective, **obj_params) if is_generative else None
        built = make_method(method, params, objective=obj, device=self.device,
                            seed=int(self.random_state))
        check_param_values(built.config, "method_params")
        return built

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
            raise DataError(f"classes {missing[:10]} occur in y but have no row in "
                            "class_attributes; add their attribute vectors.")
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
        if self.scaling not in SCALINGS:
            raise DataError(f"scaling {self.scaling!r} is unknown; "
                            "choose minmax, standard or none.")
        self.shift_, self.scale_ = scaling_statistics(X, self.scaling)
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
        rows = np.bincount(y_idx, minlength=len(labels))[seen]
        self.method_ = self._build_method((Xs.shape[0], Xs.shape[1], A.shape[1],
                                           float(np.median(rows))))
        self.attribute_labels_ = labels
        self.seen_ = seen
        self.unseen_ = unseen
        with self._threads():
            fit(self.method_, data)
            self._make_classifier(data)
        self.shots_ = int(data.shots.size)
        return self

    def _threads(self):
        """The thread count of ``threads`` for the method's network width (restored after)."""
        method = getattr(self, "method_", None)
        width = network_width(method.config) if method is not None else 0
        return limit_threads(self.threads, width)

    def _task_kind(self) -> str:
        """What ``predict`` does: choose among all classes (generalized, or with no unseen
        class), or among the unseen ones."""
        return "gzsl" if self.generalized or self.unseen_.size == 0 else "zsl"

    def _make_classifier(self, data: AnyShotData) -> None:
        task = Task.of(data, self._task_kind())
        rows = task.real_rows
        self.classifier_ = self.method_.build_classifier(task, data.X[rows], data.y[rows])
        self._set_classes(task.candidates)

    def _set_classes(self, cand: np.ndarray) -> None:
        labels = [self.attribute_labels_[i] for i in cand]
        numeric = all(isinstance(l, (int, np.integer, float, np.floating))
                      and not isinstance(l, bool)
                      for l in labels)
        self.classes_ = np.array(labels) if numeric else np.array(labels, dtype=object)

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        Xs = self._scale(self._check_X(X))
        with self._threads():
            return self.classifier_.scores(Xs)

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
        Xs = self._scale(self._check_X(X))
        with self._threads():
            return self.classifier_.predict_proba(Xs)

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
    def load(cls, path: str | Path, device: str | None = None) -> "AnyShotClassifier":
        """Rebuild an estimator written by :meth:`save` (predictions are identical), or turn a
        run's tested model ``RUN/seed_<s>/<task>/`` into one (:meth:`from_run_model`).

        Raises:
            DataError: ``path`` holds neither (the message says what each needs).
        """
        path = Path(path)
        kind = model_kind(path)
        if kind == "run":
            return cls.from_run_model(path, device=device or "cpu")
        state = read_json(path / "estimator.json")
        if device is not None:
            state["params"]["device"] = device
        est = cls(**state["params"])
        est.method_ = Method.load(path, device=est.device)
        est.attribute_labels_ = state["attribute_labels"]
        est.seen_ = np.array(state["seen"], dtype=np.int64)
        est.unseen_ = np.array(state["unseen"], dtype=np.int64)
        est.shift_ = np.array(state["shift"])
        est.scale_ = np.array(state["scale"])
        est.n_features_in_ = state["n_features_in"]
        task = Task.over(np.array(state["candidates"], dtype=np.int64), est.unseen_, est.seen_,
                         generalized=est._task_kind() == "gzsl")
        est.classifier_ = est.method_.restore_classifier(
            task, load_tensors(path / "classifier.safetensors"))
        est._set_classes(task.candidates)
        return est

    @classmethod
    def from_run_model(cls, path: str | Path, device: str = "cpu") -> "AnyShotClassifier":
        """An estimator from a model a run tested, ``RUN/seed_<s>/<task>/`` (``zsl`` or ``gzsl``).

        The method's weights are read, not retrained; the run's config reloads its data for the
        feature scaling (training statistics, as in the run) and the class names, and the final
        classifier is rebuilt exactly as the run's evaluation built it for that task: among the
        unseen classes (with any shots) for ``zsl``, among all classes with the real training
        samples for ``gzsl``. Its predictions therefore are those the run was scored with.
        """
        from anyshot.config import load_config
        from anyshot.data.registry import load_dataset

        path = Path(path)
        if model_kind(path) != "run":
            raise DataError(f"{str(path)!r} is not a run's model folder RUN/seed_<s>/zsl or "
                            "RUN/seed_<s>/gzsl (with RUN/config.yaml).")
        task = path.name
        run_dir = path.parent.parent
        cfg = load_config(run_dir / "config.yaml")
        data = load_dataset(cfg.data.name, **cfg.data.params)
        if cfg.data.shots is not None:
            data = data.with_shots(cfg.data.shots, seed=cfg.data.shots_seed)
        X = data.X.astype(np.float64)
        # the statistics of anyshot.data.transforms.scale_features
        shift, span = scaling_statistics(X[data.trainval], cfg.data.scaling)
        est = cls(method=cfg.method.name, generalized=task == "gzsl", scaling=cfg.data.scaling,
                  device=device, random_state=int(path.parent.name.split("_", 1)[1]),
                  threads=cfg.threads)
        est.method_ = Method.load(path, device=device)
        est.shift_, est.scale_ = shift, span
        est.n_features_in_ = int(X.shape[1])
        est.attribute_labels_ = list(data.class_names)
        est.seen_ = np.sort(np.asarray(data.seen, dtype=np.int64))
        est.unseen_ = np.sort(np.asarray(data.unseen, dtype=np.int64))
        est.shots_ = int(data.shots.size)
        Xs = est._scale(X)
        run_task = Task.of(data, task)
        rows = run_task.real_rows
        with est._threads():
            est.classifier_ = est.method_.build_classifier(run_task, Xs[rows], data.y[rows])
        est._set_classes(run_task.candidates)
        return est


def model_kind(path: str | Path) -> str:
    """``"estimator"`` (written by :meth:`AnyShotClassifier.save`), ``"run"`` (a run's
    ``seed_<s>/<task>/`` model); raises :class:`DataError` saying what is missing otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"model folder {str(path)!r} does not exist; give a folder written by "
                        "AnyShotClassifier.save or a run's seed_<s>/<task> folder.")
    if not (path / "model.json").is_file() or not (path / "model.safetensors").is_file():
        raise DataError(f"{str(path)!r} holds no model (model.json + model.safetensors); give a "
                        "folder written by AnyShotClassifier.save or a run's seed_<s>/<task> "
                        "folder, e.g. runs/tep-A/seed_0/gzsl.")
    if (path / "estimator.json").is_file():
        return "estimator"
    if (path.name in ("zsl", "gzsl") and path.parent.name.startswith("seed_")
            and path.parent.name[5:].isdigit() and (path.parent.parent / "config.yaml").is_file()):
        return "run"
    raise DataError(f"{str(path)!r} holds a method but neither estimator.json (from "
                    "AnyShotClassifier.save) nor sits in a run as RUN/seed_<s>/zsl|gzsl next to "
                    "RUN/config.yaml; it cannot classify on its own.")
