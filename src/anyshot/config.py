"""Typed, strict experiment configuration (YAML in, dataclasses out).

An experiment config has five sections; unknown keys anywhere are errors that name the key and
list the valid ones::

    data:        {name: synthetic, params: {...loader arguments...}, scaling: minmax}
    method:      {name: clswgan, params: {...method hyperparameters...}}
    objective:   {name: wgan-gp, params: {...}}          # generative methods only
    evaluation:  {protocol: honest, tasks: [zsl, gzsl], seeds: [0, 1, 2], eval_every: 1,
                  validation: {unseen_fraction: 0.2, holdout_fraction: 0.2, use_dataset_val: true}}
    device: auto
    checkpoint_every: 5          # epochs between training checkpoints of a run directory (0 = off)
    threads: null                # CPU threads: null = automatic (1 for small networks),
                                 # 0 = all cores

Presets ship inside the package under ``anyshot/configs/<method>/<dataset>.yaml`` and can be
named as ``<method>/<dataset>`` instead of a path.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import yaml

from anyshot.errors import ConfigError, check_choice, reject_unknown_keys
from anyshot.protocols.settings import EPOCH_LENGTHS, EvaluationConfig, ValidationConfig

__all__ = [
    "DataConfig",
    "EvaluationConfig",
    "ExperimentConfig",
    "NamedConfig",
    "ValidationConfig",
    "load_config",
    "preset_path",
    "preset_description",
    "list_presets",
]

PRESET_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class DataConfig:
    """Dataset by name with its loader's arguments.

    ``shots``: turn the split into a k-shot split (FSL/GFSL) by moving k samples of every unseen
    class into training (:meth:`AnyShotData.with_shots`, drawn with ``shots_seed``); ``None``
    keeps the loader's split.
    """

    name: str = "synthetic"
    params: dict[str, Any] = field(default_factory=dict)
    scaling: str = "minmax"
    shots: int | None = None
    shots_seed: int = 0


@dataclass
class NamedConfig:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    method: NamedConfig = field(default_factory=lambda: NamedConfig("clswgan"))
    objective: NamedConfig | None = field(default_factory=lambda: NamedConfig("wgan-gp"))
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    device: str = "auto"
    checkpoint_every: int = 5
    threads: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> "ExperimentConfig":
        """Check names and values eagerly, so a typo fails before any training."""
        from anyshot.data.registry import check_loader_params
        from anyshot.data.transforms import SCALINGS
        from anyshot.evaluation.task import check_tasks
        from anyshot.methods import make_method
        from anyshot.objectives import make_objective
        from anyshot.protocols import PROTOCOLS
        from anyshot.utils import DEVICES

        check_loader_params(self.data.name, self.data.params)
        check_choice("data.scaling", self.data.scaling, SCALINGS)
        from anyshot.utils import check_param_values

        check_param_values(make_method(self.method.name, self.method.params).config,
                           "method.params")
        if self.objective is not None:
            make_objective(self.objective.name, **self.objective.params)
        ev = self.evaluation
        check_choice("evaluation.protocol", ev.protocol, PROTOCOLS)
        check_tasks(ev.tasks)
        if not ev.seeds:
            raise ConfigError("evaluation.seeds is empty; give at least one seed, e.g. [0].")
        if ev.eval_every < 1:
            raise ConfigError("evaluation.eval_every must be >= 1.")
        folds = ev.validation.folds
        if not isinstance(folds, int) or isinstance(folds, bool) or folds < 1:
            raise ConfigError(f"evaluation.validation.folds must be a positive integer (the number "
                              f"of validation problems, e.g. 1 or 3), got {folds!r}.")
        check_choice("evaluation.validation.epoch_length", ev.validation.epoch_length,
                     EPOCH_LENGTHS)
        if not isinstance(ev.calibration, bool):
            raise ConfigError(f"evaluation.calibration must be true or false, "
                              f"got {ev.calibration!r}.")
        if ev.calibration and ev.protocol == "fixed":
            raise ConfigError("evaluation.calibration needs a protocol that selects on validation: "
                              "gamma must be chosen there, and protocol 'fixed' has no validation "
                              "data. Use protocol 'honest', or turn calibration off "
                              "(--set evaluation.calibration=false).")
        if not str(self.device).startswith("cuda"):
            check_choice("device", self.device, DEVICES)
        return self


def _build(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values, got {type(raw).__name__}.")
    reject_unknown_keys(raw, [f.name for f in fields(cls)], where)
    kwargs: dict[str, Any] = {}
    nested: dict[str, type] = {
        "data": DataConfig, "method": NamedConfig, "objective": NamedConfig,
        "evaluation": EvaluationConfig, "validation": ValidationConfig,
    }
    for key, value in raw.items():
        sub = nested.get(key)
        if sub is not None and not (key == "objective" and value is None):
            kwargs[key] = _build(sub, value, f"{where}.{key}" if where != "config" else key)
        else:
            kwargs[key] = value
    try:
        obj = cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    _check_types(obj, where)
    return obj


def _check_types(obj: Any, where: str) -> None:
    simple: dict[str, Callable[[Any], bool]] = {
        "name": lambda v: isinstance(v, str),
        "params": lambda v: isinstance(v, dict),
        "scaling": lambda v: isinstance(v, str),
        "protocol": lambda v: isinstance(v, str),
        "tasks": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
        "seeds": lambda v: isinstance(v, list) and all(isinstance(t, int) for t in v),
        "eval_every": lambda v: isinstance(v, int),
        "patience": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "device": lambda v: isinstance(v, str),
        "checkpoint_every": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "threads": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "unseen_fraction": lambda v: isinstance(v, (int, float)) and 0 < v < 1,
        "holdout_fraction": lambda v: isinstance(v, (int, float)) and 0 < v < 1,
        "use_dataset_val": lambda v: isinstance(v, bool),
        "shots": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "shots_seed": lambda v: isinstance(v, int),
    }
    # What each checked key accepts, for the message when it is given something else.
    accepts = {"unseen_fraction": "a fraction in (0, 1), both ends excluded, e.g. 0.2",
               "holdout_fraction": "a fraction in (0, 1), both ends excluded, e.g. 0.2",
               "patience": "an integer >= 1 (or null: no early stopping)",
               "checkpoint_every": "an integer >= 0 (0 = no checkpoints)",
               "threads": "an integer >= 0 (0 = every core; null = automatic)",
               "shots": "an integer >= 0 (or null)"}
    for f in fields(obj):
        check = simple.get(f.name)
        value = getattr(obj, f.name)
        if check is not None and value is not None and not check(value):
            what = accepts.get(f.name)
            raise ConfigError(f"{where}.{f.name} has an invalid value {value!r}"
                              + (f"; it must be {what}." if what else "."))


def preset_path(name: str) -> Path:
    """``clswgan/synthetic`` -> the preset file shipped with the package."""
    p = PRESET_DIR / f"{name}.yaml"
    if not p.is_file():
        raise ConfigError(
            f"no config file or preset named {name!r}; presets: {', '.join(list_presets())}."
        )
    return p


def list_presets() -> list[str]:
    return sorted(str(p.relative_to(PRESET_DIR).with_suffix(""))
                  for p in PRESET_DIR.rglob("*.yaml"))


def preset_description(name: str, width: int = 100) -> str:
    """One line describing a preset: the first sentence of the comment block at the top of its
    YAML file, cut before its first colon when longer than ``width`` characters ("f-CLSWGAN
    paper hyperparameters for CUB (Xian et al. 2018): ngh = ..." -> up to "2018)")."""
    import re

    lines = []
    for line in preset_path(name).read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if not text:  # the first paragraph only
            break
        lines.append(text)
    if not lines:
        return ""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(lines))[0]
    if len(first) > width and ": " in first:
        first = first.split(": ", 1)[0]
    return first.rstrip(".")


def load_config(source: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None
                ) -> ExperimentConfig:
    """Read a YAML file, a preset name or a dict into a validated :class:`ExperimentConfig`."""
    if isinstance(source, dict):
        raw = copy.deepcopy(source)
    else:
        path = Path(source)
        if not path.is_file():
            if path.suffix in (".yaml", ".yml") and str(source) not in list_presets():
                raise ConfigError(f"config file {str(path)!r} does not exist; check the path, "
                                  f"or name a preset: {', '.join(list_presets())}.")
            path = preset_path(str(source))
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    _drop_params_of_replaced_objective(raw, overrides or {})
    for dotted, value in (overrides or {}).items():
        node = raw
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return _build(ExperimentConfig, raw, "config").validate()


def _drop_params_of_replaced_objective(raw: dict[str, Any], overrides: dict[str, Any]) -> None:
    """An ``objective.name`` override naming another objective drops the file's objective
    params: they were written for the file's objective (``gp_weight`` means nothing to WGAN), so
    the new one starts from its own defaults, plus any ``objective.params.*`` overrides."""
    new = overrides.get("objective.name")
    old = raw.get("objective")
    if new is None or not isinstance(old, dict) or not isinstance(old.get("name"), str):
        return

    def norm(name: str) -> str:
        return str(name).lower().replace("_", "-")

    if norm(new) != norm(old["name"]):
        old.pop("params", None)


def signature_keys(fn: Callable[..., Any]) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
