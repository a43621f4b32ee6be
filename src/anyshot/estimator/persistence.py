"""Saving and loading :class:`~anyshot.estimator.AnyShotClassifier`, and turning a run's tested
model into one.

``save(DIR)`` writes the method exactly as a run directory stores a tested model
(``model.safetensors`` + ``model.json``, as in ``seed_<s>/<task>/``) plus the estimator's own
``estimator.json`` (labels, feature scaling, feature names, candidates, the calibration gamma and
the validation table) and ``classifier.safetensors`` (the final classifier). Never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from anyshot.data.transforms import scaling_statistics
from anyshot.errors import DataError
from anyshot.evaluation.calibration import CalibratedClassifier
from anyshot.evaluation.task import Task
from anyshot.io import atomic_write_text, load_tensors, read_json, save_tensors
from anyshot.methods import Method

__all__ = ["from_run_model", "load_estimator", "model_kind", "save_estimator"]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def save_estimator(est: Any, path: Path) -> None:
    """Write a fitted estimator to ``path/``."""
    est.method_.save(path)
    save_tensors(path / "classifier.safetensors", est.classifier_.state_tensors() or
                 {"empty": torch.zeros(0)})
    state = {
        "params": est.get_params(),
        "attribute_labels": [_plain(l) for l in est.attribute_labels_],
        "seen": est.seen_.tolist(),
        "unseen": est.unseen_.tolist(),
        "shift": est.shift_.tolist(),
        "scale": est.scale_.tolist(),
        "n_features_in": est.n_features_in_,
        "feature_names_in": (None if getattr(est, "feature_names_in_", None) is None
                             else [str(c) for c in est.feature_names_in_]),
        "candidates": est.classifier_.candidates.tolist(),
        "gamma": est.gamma_,
        "temperature": est.temperature_,
        "selection": est.selection_,
    }
    try:
        text = json.dumps(state, indent=2)
    except TypeError as exc:
        raise DataError(f"class labels must be JSON-serialisable to save ({exc}).") from exc
    atomic_write_text(path / "estimator.json", text)


def load_estimator(cls: type, path: Path, device: str | None) -> Any:
    """Rebuild an estimator written by :func:`save_estimator`, or a run's tested model
    (:func:`from_run_model`)."""
    if model_kind(path) == "run":
        return from_run_model(cls, path, device or "cpu")
    state = read_json(path / "estimator.json")
    if device is not None:
        state["params"]["device"] = device
    known = set(cls().get_params())
    est = cls(**{k: v for k, v in state["params"].items() if k in known})
    est.method_ = Method.load(path, device=est.device)
    est.attribute_labels_ = state["attribute_labels"]
    est.seen_ = np.array(state["seen"], dtype=np.int64)
    est.unseen_ = np.array(state["unseen"], dtype=np.int64)
    est.shift_ = np.array(state["shift"])
    est.scale_ = np.array(state["scale"])
    est.n_features_in_ = state["n_features_in"]
    if state.get("feature_names_in") is not None:
        est.feature_names_in_ = np.array(state["feature_names_in"], dtype=object)
    est.gamma_ = state.get("gamma")
    est.temperature_ = state.get("temperature", 1.0)
    est.selection_ = state.get("selection", [])
    est.validation_ = {}
    generalized = est.generalized or est.unseen_.size == 0
    task = Task.over(np.array(state["candidates"], dtype=np.int64), est.unseen_, est.seen_,
                     generalized=generalized)
    clf = est.method_.restore_classifier(task, load_tensors(path / "classifier.safetensors"))
    est.classifier_ = CalibratedClassifier(clf, task.seen, est.gamma_ or 0.0, est.temperature_)
    est._set_classes(task.candidates)
    return est


def from_run_model(cls: type, path: Path, device: str = "cpu") -> Any:
    """An estimator from a model a run tested, ``RUN/seed_<s>/<task>/`` (see
    :meth:`AnyShotClassifier.from_run_model`)."""
    from anyshot.config import load_config
    from anyshot.data.registry import load_dataset

    if model_kind(path) != "run":
        raise DataError(f"{str(path)!r} is not a run's model folder RUN/seed_<s>/zsl or "
                        "RUN/seed_<s>/gzsl (with RUN/config.yaml).")
    kind = path.name
    run_dir = path.parent.parent
    cfg = load_config(run_dir / "config.yaml")
    data = load_dataset(cfg.data.name, **cfg.data.params)
    if cfg.data.shots is not None:
        data = data.with_shots(cfg.data.shots, seed=cfg.data.shots_seed)
    X = data.X.astype(np.float64)
    # the statistics of anyshot.data.transforms.scale_features
    shift, span = scaling_statistics(X[data.trainval], cfg.data.scaling)
    est = cls(method=cfg.method.name, generalized=kind == "gzsl", scaling=cfg.data.scaling,
              calibration=False, device=device,
              random_state=int(path.parent.name.split("_", 1)[1]), threads=cfg.threads)
    est.method_ = Method.load(path, device=device)
    est.shift_, est.scale_ = shift, span
    est.n_features_in_ = int(X.shape[1])
    est.attribute_labels_ = list(data.class_names)
    est.seen_ = np.sort(np.asarray(data.seen, dtype=np.int64))
    est.unseen_ = np.sort(np.asarray(data.unseen, dtype=np.int64))
    est.shots_ = int(data.shots.size)
    est.gamma_, est.selection_, est.validation_, est.temperature_ = None, [], {}, 1.0
    Xs = est._scale(X)
    task = Task.of(data, kind)
    rows = task.real_rows
    with est._threads():
        est.classifier_ = est.method_.build_classifier(task, Xs[rows], data.y[rows])
    est._set_classes(task.candidates)
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
