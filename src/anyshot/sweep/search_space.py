"""A search space: dotted config paths mapped to distributions, read from YAML and checked
against the config before any trial runs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import AnyShotError, ConfigError, reject_unknown_keys

#: Keys of one parameter's spec, per distribution type (``type`` itself included).
_SPEC_KEYS = {
    "float": ("type", "low", "high", "log", "step"),
    "int": ("type", "low", "high", "log", "step"),
    "categorical": ("type", "choices"),
}
#: Config sections a sweep may search. ``data`` is prepared once per sweep and ``evaluation`` is
#: the yardstick trials are measured with, so neither may vary between trials.
_SEARCHABLE = ("method", "objective")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_spec(key: str, spec: Any) -> dict[str, Any]:
    where = f"search space key {key!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must map to a spec such as {{type: float, low: 0.0001, "
                          f"high: 0.01, log: true}}, got {spec!r}.")
    kind = spec.get("type")
    if kind not in _SPEC_KEYS:
        raise ConfigError(f"{where} has type {kind!r}; choose one of {', '.join(_SPEC_KEYS)}.")
    reject_unknown_keys(spec, _SPEC_KEYS[kind], where)
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where} (categorical) needs a non-empty list 'choices', got "
                              f"{choices!r}.")
        bad = [c for c in choices if c is not None and not isinstance(c, (bool, int, float, str))]
        if bad:
            raise ConfigError(f"{where}: choices must be numbers, strings, booleans or null, got "
                              f"{bad[0]!r}.")
        if len({json.dumps(c) for c in choices}) != len(choices):
            raise ConfigError(f"{where}: choices {choices!r} repeat a value.")
        return {"type": kind, "choices": list(choices)}
    for bound in ("low", "high"):
        if bound not in spec:
            raise ConfigError(f"{where} ({kind}) is missing its bound {bound!r}.")
        if not _is_number(spec[bound]) or (kind == "int" and not isinstance(spec[bound], int)):
            raise ConfigError(f"{where}: {bound} must be "
                              f"a{'n integer' if kind == 'int' else ' number'},"
                              f" got {spec[bound]!r}.")
    low, high = spec["low"], spec["high"]
    if low > high:
        raise ConfigError(f"{where}: low ({low!r}) is greater than high ({high!r}).")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false, got {log!r}.")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log-scaled range needs low > 0, got {low!r}.")
    step = spec.get("step")
    if step is not None:
        if log:
            raise ConfigError(f"{where}: step and log: true cannot be combined; drop one.")
        if not _is_number(step) or step <= 0 or (kind == "int" and not isinstance(step, int)):
            raise ConfigError(f"{where}: step must be a positive "
                              f"{'integer' if kind == 'int' else 'number'}, got {step!r}.")
    out = {"type": kind, "low": low, "high": high, "log": log}
    if step is not None:
        out["step"] = step
    if kind == "float":
        out["low"], out["high"] = float(low), float(high)
    return out


def validate_search_space(space: Any, config: ExperimentConfig | None = None) -> dict[str, dict]:
    """Check a search space and return it normalised; with ``config``, also check that every
    key is a searchable path of that config and that its extreme values make a valid config.

    Raises:
        ConfigError: naming the offending key (unknown type, missing or bad bounds, a path that
            is not in the config, a value the config rejects).
    """
    if not isinstance(space, dict) or not space:
        raise ConfigError("the search space must be a non-empty mapping of dotted config paths "
                          "(e.g. method.params.lr) to specs such as {type: float, low: 0.0001, "
                          f"high: 0.01, log: true}}; got {space!r}.")
    out = {}
    for key, spec in space.items():
        if not isinstance(key, str) or not key or "." not in key:
            raise ConfigError(f"search space key {key!r} is not a dotted config path such as "
                              "'method.params.lr'.")
        if key.split(".")[0] not in _SEARCHABLE:
            raise ConfigError(
                f"search space key {key!r} is outside the searchable sections "
                f"({', '.join(_SEARCHABLE)}): data is prepared once per sweep and evaluation is "
                "the sweep's yardstick; run separate sweeps to compare those."
            )
        out[key] = _check_spec(key, spec)
    if config is not None:
        base = config.to_dict()
        for key, spec in out.items():
            _check_path(base, key)
            values = (spec["choices"] if spec["type"] == "categorical"
                      else [spec["low"], spec["high"]])
            for value in values:
                try:
                    load_config(base, {key: value})
                except AnyShotError as exc:
                    raise ConfigError(f"search space key {key!r} with value {value!r} does not "
                                      f"make a valid config: {exc}") from exc
    return out


def _check_path(base: dict[str, Any], key: str) -> None:
    """The path's sections must exist in the config (parameters below ``params`` may be new:
    they are checked against the method's / objective's parameters by :func:`load_config`)."""
    node: Any = base
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, dict):
            what = "null" if node is None else "a value, not a section"
            raise ConfigError(f"search space key {key!r} is not a path in the config: "
                              f"{'.'.join(parts[:depth])!r} is {what}.")
        if part not in node:
            if depth >= 2 and parts[1] == "params":
                return  # a parameter the preset leaves at its default; validated by load_config
            where = ".".join(parts[:depth]) or "the config"
            raise ConfigError(f"search space key {key!r} is not a path in the config: {where!r} "
                              f"has no key {part!r} (keys: {', '.join(map(str, node))}).")
        node = node[part]
    if isinstance(node, dict):
        raise ConfigError(f"search space key {key!r} names a whole section; search one of its "
                          f"keys instead ({', '.join(f'{key}.{k}' for k in node)}).")


def load_search_space(path: str | Path) -> tuple[dict[str, dict], str | None]:
    """Read a search-space YAML file ``{metric: ..., space: {...}}``; returns (space, metric).

    ``metric`` is ``None`` when the file does not name one (the sweep's default then applies).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search space file {str(path)!r} does not exist; write one such as\n"
                          "  space:\n    method.params.lr: {type: float, low: 0.0001, high: 0.01, "
                          "log: true}")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"search space file {str(path)!r} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"search space file {str(path)!r} must hold a mapping with keys 'space' "
                          "(and optionally 'metric').")
    reject_unknown_keys(raw, ["metric", "space"], f"search space file {str(path)!r}")
    if "space" not in raw:
        raise ConfigError(f"search space file {str(path)!r} has no 'space' key.")
    metric = raw.get("metric")
    if metric is not None and not isinstance(metric, str):
        raise ConfigError(f"metric in {str(path)!r} must be a metric name such as gzsl_h, got "
                          f"{metric!r}.")
    return validate_search_space(raw["space"]), metric
