"""The estimator's inputs: its problem as indices (class labels of any kind to rows of the
attribute table, which classes are seen and which unseen) and the methods its arguments ask for
(a preset, explicit parameters over it, the rest sized to the table)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Hashable, Sequence

import numpy as np

from anyshot.data.attribute_table import attribute_table
from anyshot.errors import DataError
from anyshot.methods import METHODS
from anyshot.protocols.base import MethodFactory
from anyshot.sizing import data_sized_params
from anyshot.utils import check_param_values

__all__ = ["encode_problem", "method_factory_for"]


def encode_problem(y: np.ndarray, class_attributes: Any = None,
                   unseen_classes: Sequence[Hashable] | None = None,
                   attribute_classes: Sequence[Hashable] | None = None
                   ) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(labels, A, y_idx, seen, unseen): the table's class labels, its (C, m) attributes, the
    rows' class indices, and the seen and unseen class indices. Classes of the table without
    rows are unseen unless ``unseen_classes`` names them; named classes with rows are few-shot
    classes. Without a table every class gets a one-hot attribute."""
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
    return labels, A, y_idx, seen, unseen


def method_factory_for(est: Any, method: str | None, preset: str | None,
                       sizes: tuple[int, int, int, float] | None) -> tuple[MethodFactory, int]:
    """The factory of ``method`` started from ``preset`` (explicit arguments over it;
    hyperparameters nobody set sized to the data) and the epochs between evaluations."""
    name, objective, params, obj_params, every = "clswgan", "wgan-gp", {}, {}, 0
    if preset is not None:
        from anyshot.config import load_config

        cfg = load_config(preset)
        name, params = cfg.method.name, dict(cfg.method.params)
        every = cfg.evaluation.eval_every
        if cfg.objective is not None:
            objective, obj_params = cfg.objective.name, dict(cfg.objective.params)
    if method is not None and method != name:
        name, params, every = method, {}, 0
    if est.objective is not None and est.objective != objective:
        objective, obj_params = est.objective, {}
    params.update(est.method_params or {})
    obj_params.update(est.objective_params or {})
    key = name.lower().replace("_", "-")
    is_generative = key in METHODS and METHODS[key].iterative
    if est.epochs is not None and is_generative:
        params["epochs"] = int(est.epochs)
    if sizes is not None and is_generative:
        names = {f.name for f in fields(METHODS[key].config_class)}
        # the generator's output range follows the features' scaling
        params.setdefault("out", {"minmax": "sigmoid"}.get(est.scaling, "none"))
        for field_name, value in data_sized_params(*sizes, names, key).items():
            if isinstance(value, dict):  # nested settings: fill only the unset keys
                given = params.get(field_name) or {}
                params[field_name] = ({**value, **given} if isinstance(given, dict)
                                      else given)
            else:
                params.setdefault(field_name, value)
    factory = MethodFactory(name, params, objective if is_generative else None,
                            obj_params if is_generative else {}, est.device,
                            int(est.random_state))
    check_param_values(factory().config, "method_params")
    if not every:
        every = max(1, int(params.get("epochs", 0) or 0) // 8)
    return factory, every
