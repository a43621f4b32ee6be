"""Datasets by name, for configs and the CLI: ``load_dataset("tep", group="A")``."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError, reject_unknown_keys

__all__ = ["DATASETS", "load_dataset", "check_loader_params"]


def _loaders() -> dict[str, Callable[..., AnyShotData]]:
    from anyshot.data.anyshot_mat import load_anyshot_mat
    from anyshot.data.manifest import load_manifest
    from anyshot.data.synthetic import make_synthetic
    from anyshot.data.tep import load_tep
    from anyshot.data.xlsa17 import load_xlsa17

    return {
        "synthetic": make_synthetic,
        "tep": load_tep,
        "xlsa17": load_xlsa17,
        "anyshot-mat": load_anyshot_mat,
        "manifest": load_manifest,
    }


DATASETS = ("synthetic", "tep", "xlsa17", "anyshot-mat", "manifest")


def _loader(name: str) -> Callable[..., AnyShotData]:
    loaders = _loaders()
    if name not in loaders:
        raise ConfigError(f"unknown dataset {name!r}; valid datasets: {', '.join(loaders)}.")
    return loaders[name]


def check_loader_params(name: str, params: dict[str, Any]) -> None:
    """Unknown loader arguments are errors naming the valid ones."""
    fn = _loader(name)
    sig = inspect.signature(fn)
    valid = [p.name for p in sig.parameters.values()
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    reject_unknown_keys(params, valid, f"data.params for dataset {name!r}")
    required = [p.name for p in sig.parameters.values()
                if p.default is inspect.Parameter.empty
                and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in params]
    if required:
        raise ConfigError(f"dataset {name!r} needs data.params {', '.join(required)}.")


def load_dataset(name: str, **params: Any) -> AnyShotData:
    check_loader_params(name, params)
    return _loader(name)(**params)
