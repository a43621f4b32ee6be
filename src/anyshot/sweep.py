"""Hyperparameter search with Optuna, scored on the validation split only.

    space, metric = load_search_space("space.yaml")
    result = run_sweep(load_config("clswgan/synthetic"), space, n_trials=30, metric=metric)
    write_best_config(result, "best_config.yaml")
    # then: anyshot train --config best_config.yaml

A search space is a YAML-friendly mapping from dotted config paths to distributions::

    metric: gzsl_h                      # optional; default gzsl_h (gfsl_h with shots), else zsl
    space:
      method.params.lr:        {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      method.params.hidden:    {type: int, low: 64, high: 512, log: true}
      method.params.cls_weight: {type: categorical, choices: [0.1, 1.0]}

Every trial applies the sampled values to the config, trains on the validation problem carved
from the training classes (:meth:`AnyShotData.validation_view`, exactly as the ``honest``
protocol does), evaluates on the validation sets every ``eval_every`` epochs and scores the trial
with the best validation value of the metric. The test split is never evaluated: the sweep picks
hyperparameters, ``anyshot train`` then reads test once.

Studies live in any SQLAlchemy URL (default: ``sqlite:///<dir>/sweep.db``) and are resumable:
running a sweep again with the same study name adds trials to it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import AnyShotError, ConfigError, TrainingDivergedError, reject_unknown_keys
from anyshot.io import atomic_write_text

__all__ = [
    "SweepResult",
    "load_search_space",
    "validate_search_space",
    "run_sweep",
    "write_best_config",
    "sweep_command",
    "default_storage",
]

#: Keys of one parameter's spec, per distribution type (``type`` itself included).
_SPEC_KEYS = {
    "float": ("type", "low", "high", "log", "step"),
    "int": ("type", "low", "high", "log", "step"),
    "categorical": ("type", "choices"),
}
#: Config sections a sweep may search. ``data`` is prepared once per sweep and ``evaluation`` is
#: the yardstick trials are measured with, so neither may vary between trials.
_SEARCHABLE = ("method", "objective")


@dataclass
class SweepResult:
    """The outcome of a sweep (over every finished trial of the study, earlier runs included).

    Attributes:
        best_value: best validation value of ``metric`` over all complete trials.
        best_params: the best trial's sampled values, keyed by dotted config path.
        best_config: the sweep's config with ``best_params`` applied (validated).
        n_trials: number of complete trials in the study (all runs of the study together).
        study_name / storage: where the study lives (``storage`` is a SQLAlchemy URL).
        metric: the validation metric that was maximised.
    """

    best_value: float
    best_params: dict[str, Any]
    best_config: ExperimentConfig
    n_trials: int
    study_name: str
    storage: str
    metric: str = ""


# ---------------------------------------------------------------------------------- space
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
    except yaml.YAMLError as exc:
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


# ---------------------------------------------------------------------------------- study
def default_storage(directory: str | Path | None = None) -> str:
    """``sqlite:///<directory or cwd>/sweep.db`` (absolute path; the folder is created)."""
    folder = Path(directory) if directory is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'sweep.db').resolve()}"


def _public_url(storage: str) -> str:
    """The storage URL with any password masked, for printing and for files."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(storage).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a SQLAlchemy URL; optuna will say so itself
        return storage


def _suggest(trial, key: str, spec: dict[str, Any]) -> Any:
    if spec["type"] == "categorical":
        return trial.suggest_categorical(key, spec["choices"])
    suggest = trial.suggest_float if spec["type"] == "float" else trial.suggest_int
    kwargs = {"log": spec["log"]}
    if "step" in spec:
        kwargs["step"] = spec["step"]
    return suggest(key, spec["low"], spec["high"], **kwargs)


def _normalised(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def run_sweep(config: ExperimentConfig, search_space: dict, *, n_trials: int,
              storage: str | None = None, study_name: str = "anyshot", seed: int = 0,
              metric: str | None = None, progress=None, run_dir: str | Path | None = None,
              jobs: int = 1, threads: int | None = None) -> SweepResult:
    """Run ``n_trials`` more trials of an Optuna study maximising a validation metric.

    Args:
        config: the base experiment config; every trial applies its sampled values to it.
        search_space: dotted config path -> spec (see :func:`validate_search_space`).
        n_trials: trials to add in this call (the study may already hold some).
        storage: a SQLAlchemy URL; default :func:`default_storage` of ``run_dir`` (or the
            current directory).
        study_name: the study to create or continue (``load_if_exists``).
        seed: seeds the validation split, the model and the TPE sampler. A resumed study seeds
            its sampler with ``seed + <trials so far>``, so resuming never repeats the first
            trials' samples and stays deterministic.
        metric: validation metric to maximise; default ``gzsl_h`` when ``gzsl`` is a task
            (``gfsl_h`` on few-shot splits), else ``zsl`` (``fsl``).
        progress: ``progress(stage, done, total)`` as in :func:`anyshot.experiment.run_experiment`.
        jobs: trials run side by side (Optuna threads). The CPU threads
            (:func:`anyshot.utils.resolve_threads` of ``threads``, default ``config.threads``)
            are shared out between them, at least one each, so parallel trials never
            oversubscribe the cores. With ``jobs`` > 1 the order in which trials finish, and so
            the sampler's later proposals, depends on timing: use ``jobs=1`` to reproduce a study.
        threads: CPU threads of the whole sweep (``None``: automatic, ``0``: every core).

    Only the validation view of the data is ever evaluated; the test split is not touched.

    Raises:
        ConfigError: a bad search space or metric, or a study of the same name that was created
            with another config, space or metric.
    """
    import optuna

    from anyshot.evaluation.protocols import check_tasks, selection_metric, task_names
    from anyshot.experiment import _curve, _epochs, _fit, build_method, evaluate, prepare_data
    from anyshot.methods import make_method
    from anyshot.utils import limit_threads, network_width

    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ConfigError(f"n_trials must be a positive integer, got {n_trials!r}.")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}.")
    space = validate_search_space(search_space, config)
    ev = config.evaluation
    tasks = check_tasks(ev.tasks)
    data = prepare_data(config)
    vcfg = ev.validation
    val = data.validation_view(
        unseen_fraction=vcfg.unseen_fraction, holdout_fraction=vcfg.holdout_fraction, seed=seed,
        val_unseen=data.meta.get("val_unseen_classes") if vcfg.use_dataset_val else None,
    )
    names = task_names(val)
    valid = []
    for task in tasks:
        g = names[task]
        valid += [g] if task == "zsl" else [f"{g}_u", f"{g}_s", f"{g}_h"]
    if metric is None:
        metric = selection_metric("gzsl" if "gzsl" in tasks else "zsl", val)
    if metric not in valid:
        raise ConfigError(f"metric {metric!r} is not computed for tasks {', '.join(ev.tasks)} on "
                          f"this split; choose one of {', '.join(valid)}.")

    storage = storage if storage is not None else default_storage(run_dir)
    signature = {"config": _normalised(config.to_dict()), "space": _normalised(space),
                 "metric": metric, "seed": seed}
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize",
                                load_if_exists=True)
    stored = study.user_attrs.get("anyshot")
    if stored is None:
        study.set_user_attr("anyshot", signature)
    elif stored != signature:
        changed = [k for k in signature if stored.get(k) != signature[k]]
        raise ConfigError(
            f"study {study_name!r} in {_public_url(storage)} was created with a different "
            f"{' and '.join(changed)}; trials would not be comparable. Use another study name "
            "(--study-name) or the original settings."
        )
    done = len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.TPESampler(seed=seed + done)
    base = config.to_dict()

    def objective(trial) -> float:
        params = {key: _suggest(trial, key, spec) for key, spec in space.items()}
        cfg = load_config(base, params)
        method = build_method(cfg, seed)
        stage = f"trial {trial.number} validation"
        if method.iterative:
            curve = _curve(method, val, tasks, cfg.evaluation.eval_every, _epochs(method),
                           progress, stage, patience=cfg.evaluation.patience)
        else:
            _fit(method, val, None)
            curve = [{"epoch": 0, **evaluate(method, val, tasks)}]
        best = max(curve, key=lambda row: row[metric])
        trial.set_user_attr("best_epoch", int(best["epoch"]))
        trial.set_user_attr("validation", {k: float(v) for k, v in best.items() if k != "epoch"})
        return float(best[metric])

    # A diverging trial (NaN loss, e.g. from too large a learning rate) is a bad sample, not a
    # broken sweep: Optuna records it as failed and the search goes on.
    width = network_width(make_method(config.method.name, config.method.params).config)
    with limit_threads(config.threads if threads is None else threads, width, jobs):
        study.optimize(objective, n_trials=n_trials, n_jobs=jobs,
                       catch=(TrainingDivergedError,))
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise AnyShotError(f"no trial of study {study_name!r} finished (all diverged); narrow the "
                           "search space, e.g. lower learning rates.")
    best = study.best_trial
    return SweepResult(
        best_value=float(best.value),
        best_params=dict(best.params),
        best_config=load_config(base, dict(best.params)),
        n_trials=len(complete),
        study_name=study_name,
        storage=storage,
        metric=metric,
    )


def write_best_config(result: SweepResult, path: str | Path) -> Path:
    """Write the best trial's config as YAML (atomically), ready for ``anyshot train --config``."""
    path = Path(path)
    header = (
        f"# Best of {result.n_trials} trial(s) of Optuna study {result.study_name!r} "
        f"({_public_url(result.storage)}):\n"
        f"# validation {result.metric} = {result.best_value:.4f}, chosen on the validation split "
        "only (the test split was not read).\n"
        + "".join(f"#   {k} = {v!r}\n" for k, v in sorted(result.best_params.items()))
    )
    body = yaml.safe_dump(result.best_config.to_dict(), sort_keys=False)
    atomic_write_text(path, header + body)
    return path


# ---------------------------------------------------------------------------------- CLI body
def sweep_command(config: str, space_file: Path, n_trials: int, storage: str | None,
                  study_name: str, out: Path | None, *, overrides: dict[str, Any] | None = None,
                  seed: int = 0, jobs: int = 1, threads: int | None = None) -> SweepResult:
    """Body of ``anyshot sweep``: run the sweep, print the best trial, write
    ``best_config.yaml`` (and, without ``storage``, ``sweep.db``) into ``out`` or the current
    directory."""
    import optuna
    from rich.table import Table

    from anyshot.reporting import console, progress_bar

    cfg = load_config(config, overrides)
    space, metric = load_search_space(space_file)
    folder = Path(out) if out is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with progress_bar() as progress:
        result = run_sweep(cfg, space, n_trials=n_trials, storage=storage, study_name=study_name,
                           seed=seed, metric=metric, progress=progress, run_dir=folder,
                           jobs=jobs, threads=threads)
    table = Table(title=f"best of {result.n_trials} trial(s), study {result.study_name!r}")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key, value in sorted(result.best_params.items()):
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"validation {result.metric} = {result.best_value * 100:.1f}% "
                  f"(storage {_public_url(result.storage)})", highlight=False, soft_wrap=True)
    best = write_best_config(result, folder / "best_config.yaml")
    console.print(f"best config: {best}\nnext: anyshot train --config {best} --out runs/best",
                  highlight=False, soft_wrap=True)
    return result
