"""The Optuna study: trials trained and scored on the validation problem only, in resumable
storage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import AnyShotError, ConfigError, TrainingDivergedError
from anyshot.sweep.search_space import validate_search_space


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


def default_storage(directory: str | Path | None = None) -> str:
    """``sqlite:///<directory or cwd>/sweep.db`` (absolute path; the folder is created)."""
    folder = Path(directory) if directory is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'sweep.db').resolve()}"


def public_url(storage: str) -> str:
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

    from anyshot.evaluation.task import tasks_of
    from anyshot.experiment import build_method, prepare_data
    from anyshot.methods import make_method
    from anyshot.protocols import Evaluations, train
    from anyshot.protocols.folds import validation_fold
    from anyshot.protocols.schedule import epochs_of
    from anyshot.utils import limit_threads, network_width

    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ConfigError(f"n_trials must be a positive integer, got {n_trials!r}.")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}.")
    space = validate_search_space(search_space, config)
    ev = config.evaluation
    data = prepare_data(config)
    val = validation_fold(data, ev.validation, seed)  # the honest protocol's fold 0
    tasks = tasks_of(val, ev.tasks)
    valid = [name for task in tasks for name in task.metric_names()]
    if metric is None:
        metric = next((t for t in tasks if t.generalized), tasks[0]).selection_metric()
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
            f"study {study_name!r} in {public_url(storage)} was created with a different "
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
        curve = train(method, val, epochs=epochs_of(method) or None,
                      evaluations=Evaluations(tasks, every=cfg.evaluation.eval_every,
                                              patience=cfg.evaluation.patience),
                      progress=progress, stage=stage)
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
