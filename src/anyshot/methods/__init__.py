"""Any-shot methods, each selectable by name (``make_method("clswgan", ...)``)."""

from __future__ import annotations

from typing import Any

from anyshot.errors import ConfigError
from anyshot.methods import (  # noqa: F401  (registration)
    attribute_regression,
    clswgan,
    dap,
    factorised_gaussian,
    srwgan,
)
from anyshot.methods.base import METHODS, Method, config_from_dict
from anyshot.methods.generative import GenerativeMethod
from anyshot.objectives.base import AdversarialObjective


def make_method(name: str, params: dict[str, Any] | None = None, *,
                objective: AdversarialObjective | None = None, device: str = "cpu",
                seed: int = 0) -> Method:
    """Build a method by name from a dict of hyperparameters (validated strictly)."""
    key = name.lower().replace("_", "-")
    if key not in METHODS:
        raise ConfigError(f"unknown method {name!r}; valid methods: {', '.join(sorted(METHODS))}.")
    cls = METHODS[key]
    config = config_from_dict(cls.config_class, params or {}, f"method '{key}'")
    return cls(config, objective=objective, device=device, seed=seed)


__all__ = ["METHODS", "GenerativeMethod", "Method", "make_method"]
