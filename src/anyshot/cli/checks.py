"""Option values checked before any data is read: each bad value raises a ConfigError that
names the option and what it accepts (the command turns it into one line and exit code 2)."""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path
from typing import Any

import yaml

from anyshot.errors import ConfigError, check_choice


def choice(option: str, value: str | None, choices) -> None:
    if value is not None:
        check_choice(option, value, choices)


def at_least(option: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise ConfigError(f"{option} must be an integer >= {low}, got {value}.")


def device(value: str | None) -> None:
    from anyshot.utils import DEVICES, resolve_device

    if value is None:
        return
    if value not in DEVICES and not re.fullmatch(r"cuda(:\d+)?", value):
        raise ConfigError(f"--device {value!r} is unknown; choose one of {', '.join(DEVICES)} "
                          "(or cuda:N).")
    resolve_device(value)  # cuda without a GPU: a clear error now, not after loading data


def threads(value: int | None) -> None:
    at_least("--threads", value, 0)


SEEDS_HELP = "seeds: comma-separated integers and ranges, e.g. 0,1,2 or 0-2 (= 0,1,2)"


def seed_list(text: str, option: str = "--seeds") -> list[int]:
    """``0,1,2`` or ``0-3`` (0, 1, 2, 3: both ends included) or a mix, ``0-2,7``."""
    parts = [p.strip() for p in text.split(",")]
    seeds: list[int] = []
    for part in parts:
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if match is None:
            raise ConfigError(f"{option} takes comma-separated integers >= 0 and ranges, e.g. "
                              f"0,1,2 or 0-3 (= 0,1,2,3); got {text!r}.")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi < lo:
            raise ConfigError(f"{option}: the range {part!r} runs backwards; write it low-high, "
                              f"e.g. {hi}-{lo}.")
        seeds += range(lo, hi + 1)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{option} lists a seed twice ({text!r}); give each seed once.")
    return seeds


def _yaml_value(text: str) -> Any:
    """A --set value: YAML, with numbers YAML 1.1 reads as strings (``1e-3``) read as numbers."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value)
            if math.isfinite(number) and re.fullmatch(r"[+-]?[\d.]+(e[+-]?\d+)?", value, re.I):
                return number
    return value


def parse_sets(sets: list[str]) -> dict:
    out = {}
    for item in sets:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", key):
            raise ConfigError(f"--set takes KEY=VALUE with a dotted key, e.g. "
                              f"method.params.epochs=10; got {item!r}.")
        try:
            out[key] = _yaml_value(value)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"--set {key}: the value {value!r} is not valid YAML ({first}); "
                              "quote it, e.g. --set 'data.params.path=\"my file.yaml\"'.") from exc
    return out


def _looks_like_manifest(raw: Any) -> bool:
    from anyshot.data.manifest import MANIFEST_KEYS

    return (isinstance(raw, dict) and {"features", "attributes"} & set(raw)
            and set(raw) <= set(MANIFEST_KEYS))


def config_source(config: str, option: str = "--config") -> None:
    """A data manifest or a non-mapping given as a config: say what to do instead."""
    path = Path(config)
    if not path.is_file():
        return  # a preset name, or load_config's "does not exist" error
    if path.stat().st_size == 0:
        raise ConfigError(f"{option} {config!r} is an empty file; give an experiment config "
                          "(see `anyshot presets` for examples).")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{option} {config!r} is not valid YAML ({first}).") from exc
    if _looks_like_manifest(raw):
        raise ConfigError(
            f"{option} {config!r} is a data manifest, not an experiment config; train on it with "
            f"--config clswgan/synthetic "
            f"--set data='{{name: manifest, params: {{path: {config}}}}}'"
            f", or check it with `anyshot validate {config}`.")
    if not isinstance(raw, dict):
        raise ConfigError(f"{option} {config!r} must be a YAML mapping with sections data, method, "
                          f"objective, evaluation; it holds a {type(raw).__name__}.")


def load_checked_config(config: str, overrides: dict) -> Any:
    from anyshot.config import load_config

    config_source(config)
    return load_config(config, overrides)


def out_folder(out: Path | None, option: str = "--out") -> None:
    """An output folder must not be a file nor hold a finished or started run."""
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {str(out)!r} is a file; give a folder for the run.")
    if (out / "results.jsonl").is_file() or any(out.glob("seed_*")):
        raise ConfigError(f"{option} {str(out)!r} already holds a run; continue it with "
                          f"`anyshot train --resume {out}`, or choose another folder.")


def table_file(option: str, path: Path | None) -> None:
    from anyshot.data.manifest import TABLE_SUFFIXES

    if path is None:
        return
    if not path.exists():
        raise ConfigError(f"{option}: file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise ConfigError(f"{option}: {str(path)!r} is a folder; give a CSV, NPY or Parquet file.")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"{option}: {str(path)!r} has an unsupported type {path.suffix!r}; use "
                          f"one of {', '.join(TABLE_SUFFIXES)}.")
    if path.stat().st_size == 0:
        raise ConfigError(f"{option}: file {str(path)!r} is empty.")


def validation_folds(cfg: Any, data: Any) -> None:
    """The honest protocol's ``folds`` validation problems must be able to differ: at most as
    many as there are ways to choose the held-out seen classes of ``data``."""
    if cfg.evaluation.protocol != "honest":
        return  # only the honest protocol carves validation folds
    vcfg = cfg.evaluation.validation
    given = data.meta.get("val_unseen_classes") if vcfg.use_dataset_val else None
    limit = _fold_limit(data, vcfg.unseen_fraction, given)
    if vcfg.folds > limit:
        held = (f"the {len(set(given))} validation classes the data set names" if given is not None
                else f"{data.validation_unseen_count(vcfg.unseen_fraction)} held out per fold "
                     f"(unseen_fraction {vcfg.unseen_fraction})")
        raise ConfigError(
            f"evaluation.validation.folds is {vcfg.folds}, but {data.name}'s {data.seen.size} "
            f"seen classes with {held} allow at most {limit} different validation problems; "
            f"set evaluation.validation.folds to at most {limit}.")


def batch_note(option: str, batch_size: int | None, n_train: int) -> str | None:
    """A warning when a batch is larger than the training set (every batch then repeats
    samples, and an epoch is a single step)."""
    if batch_size is None or batch_size <= n_train:
        return None
    return (f"{option} {batch_size} is larger than the {n_train} training samples; each batch "
            f"then draws samples more than once and an epoch is one step. Set {option} to at "
            f"most {n_train}.")


def _fold_limit(data: Any, unseen_fraction: float, val_unseen: Any = None) -> int:
    """How many different validation problems the seen classes allow: the number of ways to
    choose the held-out classes (as many as ``val_unseen`` names, when given)."""
    import numpy as np

    n_hold = (np.unique(np.asarray(val_unseen)).size if val_unseen is not None
              else data.validation_unseen_count(unseen_fraction))
    return math.comb(int(data.seen.size), int(n_hold))
