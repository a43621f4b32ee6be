"""``AnyShotClassifier``: the scikit-learn style public API.

    clf = AnyShotClassifier()     # method="auto": chosen on validation folds of your classes
    clf.fit(X, y, class_attributes=A, unseen_classes=["zebra", "whale"])
    clf.predict(X_new)            # labels as given in y / the attribute table
    clf.predict_proba(X_new)      # columns follow clf.classes_; rows sum to 1
    clf.selection_                # each candidate's validation score, spread, time and status

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

The honest choices of ``anyshot train`` happen inside ``fit``: ``folds`` validation problems
are carved from the seen classes (some seen classes play unseen), every choice (the method with
``method="auto"``, the epoch, a listed GZSL classifier, the calibration gamma) is made there, and
the chosen model is refitted on all training data (:mod:`anyshot.estimator.auto`). Generalized
prediction is calibrated (calibrated stacking with the gamma chosen on the folds) unless
``calibration=False``. A fit that validation says is poor warns.

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

import time
import warnings
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from anyshot.data.dataset import AnyShotData
from anyshot.data.transforms import SCALINGS, scaling_statistics
from anyshot.errors import ConfigError, DataError
from anyshot.estimator.auto import (
    AUTO_CANDIDATES,
    CLOSED_FORM_FOLDS,
    FEW_FOLD_CANDIDATES,
    CandidateResult,
    auto_select,
    drop_redundant,
    poor_fit_problems,
    validation_temperature,
)
from anyshot.estimator.inputs import encode_problem, method_factory_for
from anyshot.estimator.persistence import load_estimator, save_estimator
from anyshot.evaluation.calibration import CalibratedClassifier
from anyshot.evaluation.final_classifier import Classifier, gzsl_classifier_choices
from anyshot.evaluation.task import Task
from anyshot.methods import Method
from anyshot.protocols.base import MethodFactory
from anyshot.training import fit
from anyshot.utils import limit_threads, network_width

__all__ = ["AnyShotClassifier"]


def held_out_fraction(n_seen: int) -> float:
    """The share of seen classes a validation fold holds out to play unseen: a quarter, and at
    least two classes where four or more are seen (ZSL among one class says nothing)."""
    return max(0.25, 2.0 / n_seen) if n_seen >= 4 else 0.25


def input_error(exc: ValueError) -> DataError:
    """scikit-learn's message on bad input, with the fix where it names none."""
    msg = str(exc)
    if ("NaN" in msg or "infinity" in msg) and "imput" not in msg:
        msg += (" Remove or impute those values before fit / predict (e.g. "
                "sklearn.impute.SimpleImputer in a pipeline).")
    return DataError(msg)


class ConstantClassifier(Classifier):
    """The classifier of a table with one class."""

    def __init__(self, candidates: np.ndarray) -> None:
        self.candidates = candidates

    def scores(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((len(X), 1))


class AnyShotClassifier(ClassifierMixin, BaseEstimator):
    """Any-shot classifier: a generative (or attribute-based) method + a final classifier.

    Args:
        method: ``auto`` (default: chosen on validation folds among the factorised Gaussian
            (with and without its held-out variance scale, and with soft codes where attributes
            are continuous), DAP (naive Bayes, logistic and random-forest attribute
            classifiers), attribute regression, f-CLSWGAN and SRWGAN,
            see :mod:`anyshot.estimator.auto`),
            or one of ``factorised-gaussian``, ``dap``, ``attribute-regression``, ``clswgan``,
            ``srwgan``. With a ``preset``, ``auto`` (or ``None``) means the preset's method.
        objective: adversarial objective of generative methods (``wgan``, ``wgan-gp``,
            ``ebgan``; default: the preset's, else ``wgan-gp``).
        preset: a shipped config (``anyshot presets``) whose method, objective and
            hyperparameters are the starting point; explicit arguments override it.
        method_params: the method's hyperparameters (see its config class), merged over the
            preset's.
        objective_params: the objective's hyperparameters.
        epochs: training epochs of generative methods (the most the folds may choose).
        generalized: predict among seen and unseen classes (GZSL/GFSL); ``False`` predicts
            among the unseen classes only (ZSL/FSL).
        scaling: ``minmax``, ``standard`` or ``none``, fitted on the training features.
        folds: validation problems carved from the seen classes (at least 2 for held-out
            scores; ``method="auto"`` validates the closed-form candidates on 10).
        calibration: calibrated stacking for generalized prediction, gamma chosen on the folds.
        max_time: seconds for ``method="auto"``'s validation; candidates past it are skipped or
            stopped, and ``selection_`` says so (``None``: no limit).
        device: ``cpu``, ``cuda`` or ``auto``.
        random_state: seed of every random draw.
        threads: CPU threads while fitting and predicting (``None``: one for networks narrower
            than 1,024, else every core, unless ``OMP_NUM_THREADS`` is set; ``0``: every core).
            The previous torch setting is restored afterwards.

    Learned: ``method_`` (the fitted method), ``classifier_``, ``classes_``, ``gamma_`` (the
    calibration gamma, or ``None``), ``temperature_`` (of ``predict_proba``, chosen on the folds
    so that its confidence tracks the accuracy), ``selection_`` (one dict per candidate: method,
    score, spread, folds, seconds, status, reason), ``validation_`` (the chosen method's
    validation scores), ``n_features_in_`` and, for DataFrames, ``feature_names_in_``.
    """

    def __init__(self, method: str | None = "auto", objective: str | None = None,
                 preset: str | None = None,
                 method_params: dict | None = None, objective_params: dict | None = None,
                 epochs: int | None = None, generalized: bool = True, scaling: str = "standard",
                 folds: int = 3, calibration: bool = True, max_time: float | None = 30.0,
                 device: str = "cpu", random_state: int = 0, threads: int | None = None) -> None:
        self.method = method
        self.objective = objective
        self.preset = preset
        self.method_params = method_params
        self.objective_params = objective_params
        self.epochs = epochs
        self.generalized = generalized
        self.scaling = scaling
        self.folds = folds
        self.calibration = calibration
        self.max_time = max_time
        self.device = device
        self.random_state = random_state
        self.threads = threads

    # ------------------------------------------------------------------ methods to try
    def _candidates(self, sizes) -> list[tuple[str, MethodFactory, int, int]]:
        """(name, factory, folds, eval_every) of every method to validate, the default first."""
        method = self.method if self.method is not None else "auto"
        if self.preset is not None and method == "auto":
            method = None  # a preset names its method
        if method != "auto":
            factory, every = method_factory_for(self, method, self.preset, sizes)
            return [(factory.name, factory, int(self.folds), every)]
        if self.method_params or self.objective_params:
            raise ConfigError("method_params and objective_params belong to one method; name it "
                              "(method='clswgan', ...) instead of method='auto'.")
        out = []
        for name, preset in AUTO_CANDIDATES:
            factory, every = method_factory_for(self, None, preset, sizes)
            few = factory().iterative or name in FEW_FOLD_CANDIDATES
            folds = int(self.folds) if few else max(CLOSED_FORM_FOLDS, int(self.folds))
            out.append((name, factory, folds, every))
        return out

    def _build_method(self, sizes: tuple[int, int, int, float] | None = None) -> Method:
        """The configured method (the default candidate for ``auto``), unfitted."""
        return self._candidates(sizes)[0][1]()

    # ------------------------------------------------------------------ inputs
    def _scale(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.shift_) / self.scale_).astype(np.float32)

    def _check_X(self, X: Any, fitting: bool = False) -> np.ndarray:
        """scikit-learn's input validation (2-D, numeric, finite, non-empty, not sparse, same
        features as in fit), raised as DataError (a ValueError). A DataFrame with the fitted
        columns in another order is reordered; a missing or unknown column is an error."""
        names = getattr(self, "feature_names_in_", None)
        if not fitting and isinstance(X, pd.DataFrame) and names is not None:
            given = list(X.columns)
            missing = [c for c in names if c not in given]
            unknown = [c for c in given if c not in set(names)]
            if missing or unknown:
                raise DataError(f"X's columns differ from those fit saw: missing {missing[:10]}, "
                                f"unknown {unknown[:10]}; give the columns {list(names)[:10]}"
                                f"{' ...' if len(names) > 10 else ''}.")
            X = X[list(names)]
        try:
            return validate_data(self, X, reset=fitting, dtype=np.float64, ensure_all_finite=True)
        except ValueError as exc:
            raise input_error(exc) from exc

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Any, class_attributes: Any = None,
            unseen_classes: Sequence[Hashable] | None = None,
            attribute_classes: Sequence[Hashable] | None = None) -> "AnyShotClassifier":
        """Learn from features X (n, d), labels y (n,) and the class-attribute table."""
        t0 = time.perf_counter()
        if isinstance(y, (pd.Series, pd.DataFrame)):
            y = y.to_numpy()
        try:
            X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite=True)
            check_classification_targets(y)
        except ValueError as exc:
            raise input_error(exc) from exc
        self._check_settings()
        labels, A, y_idx, seen, unseen = encode_problem(y, class_attributes, unseen_classes,
                                                        attribute_classes)
        # Standardise/scale with training statistics only.
        self.shift_, self.scale_ = scaling_statistics(X, self.scaling)
        Xs = self._scale(X)
        self.attribute_labels_ = labels
        self.seen_, self.unseen_ = seen, unseen
        self.gamma_, self.selection_, self.validation_ = None, [], {}
        self.temperature_ = 1.0
        if len(labels) == 1:  # a single class: nothing to learn, sklearn still expects a fit
            self.method_, self.shots_ = None, 0
            self.classifier_ = ConstantClassifier(np.array([0]))
            self._set_classes(self.classifier_.candidates)
            return self
        data = AnyShotData.create(Xs, y_idx, A, seen=seen, unseen=unseen,
                                  trainval=np.arange(len(y_idx)), test_seen=[], test_unseen=[],
                                  class_names=[str(l) for l in labels], name="estimator")
        rows = np.bincount(y_idx, minlength=len(labels))[seen]
        sizes = (Xs.shape[0], Xs.shape[1], A.shape[1], float(np.median(rows)))
        self.shots_ = int(data.shots.size)
        candidates = drop_redundant(self._candidates(sizes), A)
        with limit_threads(self.threads, network_width(candidates[0][1]().config)):
            self._fit_chosen(data, candidates)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _check_settings(self) -> None:
        if self.scaling not in SCALINGS:
            raise DataError(f"scaling {self.scaling!r} is unknown; "
                            "choose minmax, standard or none.")
        if not isinstance(self.folds, int) or isinstance(self.folds, bool) or self.folds < 1:
            raise DataError(f"folds must be a positive integer (validation problems carved from "
                            f"the seen classes, e.g. 3), got {self.folds!r}.")
        if self.max_time is not None and not self.max_time > 0:
            raise DataError(f"max_time must be a positive number of seconds or None, got "
                            f"{self.max_time!r}.")

    def _fit_chosen(self, data: AnyShotData, candidates) -> None:
        """Validate the candidates on folds of the seen classes, refit the chosen one on all
        training data and build its (calibrated) classifier."""
        kind = "gzsl" if self.generalized or self.unseen_.size == 0 else "zsl"
        validated = data.unseen.size > 0 and data.seen.size >= 3
        if not validated:  # nothing to validate against: plain fit of the default
            name, factory, _, _ = candidates[0]
            if data.unseen.size > 0:
                n = data.seen.size
                warnings.warn(f"only {n} seen class{'es' if n > 1 else ''}: too few to carve "
                              "validation folds (3 or more needed), so nothing was chosen on "
                              "validation and prediction is not calibrated.", RuntimeWarning,
                              stacklevel=3)
            # A listed GZSL classifier is a choice made on folds: without them, the first.
            choices = gzsl_classifier_choices(factory().config)
            overrides = {"gzsl_final_classifier": choices[0]} if choices else {}
            reason = "no validation folds" + (f"; GZSL classifier {choices[0]}, the first of "
                                              f"{choices}" if choices else "")
            self.selection_ = [CandidateResult(name, factory, status="chosen",
                                               reason=reason).row()]
            final, epochs = factory(**overrides), None
            self.temperature_ = 1.0
        else:
            results, best = auto_select(
                data, candidates, seed=int(self.random_state),
                generalized=kind == "gzsl", calibration=self.calibration,
                unseen_fraction=held_out_fraction(data.seen.size), max_time=self.max_time)
            self.selection_ = [r.row() for r in results]
            chosen = results[best]
            sel = chosen.selection
            self.validation_ = dict(sel.validation)
            self.gamma_ = sel.gamma if kind == "gzsl" else None
            overrides = sel.overrides
            final = chosen.factory(**overrides)
            epochs = sel.selected.get(kind) if final.iterative else None
            self._warn_if_poor(chosen, kind)
            self.temperature_, fold_fit = validation_temperature(chosen, kind, epochs,
                                                                 self.gamma_)
            self.validation_.update(fold_fit)
        fit(final, data, epochs=epochs)
        self.method_ = final
        task = Task.of(data, kind)
        clf = final.build_classifier(task, data.X[task.real_rows], data.y[task.real_rows])
        self.classifier_ = CalibratedClassifier(clf, task.seen, self.gamma_ or 0.0,
                                                self.temperature_)
        self._set_classes(task.candidates)

    def _warn_if_poor(self, chosen: CandidateResult, kind: str) -> None:
        problems = poor_fit_problems(chosen.selection, kind, self.gamma_ is not None)
        if problems:
            warnings.warn(f"{chosen.name}: validation says this fit is poor: "
                          f"{'; '.join(problems)}. Try another method, more attributes that "
                          "tell the classes apart, or check the features' scaling.",
                          RuntimeWarning, stacklevel=4)

    def _set_classes(self, cand: np.ndarray) -> None:
        labels = [self.attribute_labels_[i] for i in cand]
        numeric = all(isinstance(l, (int, np.integer, float, np.floating))
                      and not isinstance(l, bool)
                      for l in labels)
        self.classes_ = np.array(labels) if numeric else np.array(labels, dtype=object)

    def _threads(self):
        """The thread count of ``threads`` for the method's network width (restored after)."""
        method = getattr(self, "method_", None)
        width = network_width(method.config) if method is not None else 0
        return limit_threads(self.threads, width)

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
        """(n, n_classes) probabilities, rows summing to 1; columns follow ``classes_``."""
        check_is_fitted(self, "classifier_")
        Xs = self._scale(self._check_X(X))
        with self._threads():
            return self.classifier_.predict_proba(Xs)

    @property
    def selection_table(self) -> pd.DataFrame:
        """``selection_`` as a table (one row per candidate)."""
        check_is_fitted(self, "classifier_")
        return pd.DataFrame(self.selection_)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write ``path/`` with model.safetensors + model.json (the method) and estimator.json."""
        check_is_fitted(self, "classifier_")
        save_estimator(self, Path(path))

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> "AnyShotClassifier":
        """Rebuild an estimator written by :meth:`save` (predictions are identical), or turn a
        run's tested model ``RUN/seed_<s>/<task>/`` into one (:meth:`from_run_model`).

        Raises:
            DataError: ``path`` holds neither (the message says what each needs).
        """
        return load_estimator(cls, Path(path), device)

    @classmethod
    def from_run_model(cls, path: str | Path, device: str = "cpu") -> "AnyShotClassifier":
        """An estimator from a model a run tested, ``RUN/seed_<s>/<task>/`` (``zsl`` or ``gzsl``).

        The method's weights are read, not retrained; the run's config reloads its data for the
        feature scaling (training statistics, as in the run) and the class names, and the final
        classifier is rebuilt exactly as the run's evaluation built it for that task: among the
        unseen classes (with any shots) for ``zsl``, among all classes with the real training
        samples for ``gzsl``. Its predictions therefore are those the run was scored with.
        """
        from anyshot.estimator.persistence import from_run_model

        return from_run_model(cls, Path(path), device)
