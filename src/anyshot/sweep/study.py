"""The Optuna study: trials trained and scored on the validation problem only, in resumable
storage that any number of workers (processes, machines) share."""

from __future__ import annotations

import json
import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import AnyShotError, ConfigError, TrainingDivergedError
from anyshot.sweep.search_space import validate_search_space
from anyshot.sweep.storage import (
    HEARTBEAT_SECONDS,
    StorageError,
    default_storage,
    fail_unstarted_trials,
    open_storage,
    public_url,
)

SCORES = {
    "held_out": ("held-out-fold score: each validation fold scored with the epoch, GZSL "
                 "classifier and gamma chosen on the other folds, averaged over folds"),
    "best_epoch": "best value over the evaluated epochs of one validation fold",
}


@dataclass
class SweepResult:
    """The outcome of a sweep (over every finished trial of the study, earlier runs and other
    workers included, as the study stood when it was read).

    Attributes:
        best_value: best score of ``metric`` over all complete trials (ties: the earliest trial).
        best_params: the best trial's sampled values, keyed by dotted config path.
        best_config: the sweep's config with ``best_params`` applied (validated).
        n_trials: number of complete trials in the study (all runs of the study together).
        study_name / storage: where the study lives (``storage`` is a SQLAlchemy URL).
        metric: the validation metric that was maximised.
        score: how a trial's value was computed, a key of :data:`SCORES`: ``held_out`` with
            ``evaluation.validation.folds`` >= 2, else ``best_epoch``.
        folds: the number of validation folds each trial was trained on.
        best_number: the best trial's number in the study.
        states: the study's trials by state (``COMPLETE``, ``RUNNING``, ``FAIL``, ...).
    """

    best_value: float
    best_params: dict[str, Any]
    best_config: ExperimentConfig
    n_trials: int
    study_name: str
    storage: str
    metric: str = ""
    score: str = "best_epoch"
    folds: int = 1
    best_number: int = 0
    states: dict[str, int] = field(default_factory=dict)

    @property
    def score_text(self) -> str:
        """How ``best_value`` was scored, in words (with the number of folds)."""
        if self.score == "held_out":
            return SCORES["held_out"].replace("score:", f"score over {self.folds} folds:", 1)
        return SCORES[self.score]


def _trial_seeded_tpe(seed: int):
    """TPE whose random stream is drawn, trial by trial, from (``seed``, trial number).

    Trial numbers are unique within a study, so workers sharing it never draw the same stream
    (a sampler seeded once per worker would propose the same first trials on every machine), a
    resumed study never replays its first trials, and one worker reproduces its study from
    ``seed``. Everything else TPE knows comes from the study's finished trials; with
    ``constant_liar`` the trials other workers are running count as bad, so two workers do not
    crowd the same region.
    """
    import optuna

    class TrialSeededTPE(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._by_trial: dict[int, optuna.samplers.TPESampler] = {}

        def _tpe(self, trial) -> optuna.samplers.TPESampler:
            if trial.number not in self._by_trial:
                stream = np.random.SeedSequence([int(seed), int(trial.number)])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    self._by_trial[trial.number] = optuna.samplers.TPESampler(
                        seed=int(stream.generate_state(1)[0]), constant_liar=True)
            return self._by_trial[trial.number]

        def before_trial(self, study, trial) -> None:
            self._tpe(trial).before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._tpe(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._tpe(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._tpe(trial).sample_independent(study, trial, param_name,
                                                       param_distribution)

        def after_trial(self, study, trial, state, values) -> None:
            self._tpe(trial).after_trial(study, trial, state, values)
            self._by_trial.pop(trial.number, None)

        def reseed_rng(self) -> None:
            """Nothing to reseed: each trial's stream comes from its number."""

    return TrialSeededTPE()


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
              jobs: int = 1, threads: int | None = None,
              heartbeat: int | None = HEARTBEAT_SECONDS) -> SweepResult:
    """Run ``n_trials`` more trials of an Optuna study maximising a validation score.

    Each trial applies its sampled values to the config and trains on the validation problems
    carved from the training classes, as the ``honest`` protocol does
    (:func:`anyshot.protocols.folds.validation_views`). Its score (``SweepResult.score``):

    - ``evaluation.validation.folds`` >= 2: one model per fold; the trial's value is the
      held-out-fold score of ``metric`` that ``anyshot train`` records
      (:func:`anyshot.protocols.folds.held_out_fold_scores`: each fold scored with the epoch, GZSL
      classifier and gamma chosen on the other folds, averaged over folds), so a setting with
      epochs to choose gets no bonus over one without.
    - one fold: the best value of ``metric`` over the evaluated epochs of that fold.

    Args:
        config: the base experiment config; every trial applies its sampled values to it.
        search_space: dotted config path -> spec (see :func:`validate_search_space`).
        n_trials: trials this call adds (the study may already hold some, and other workers
            may be adding theirs at the same time).
        storage: a SQLAlchemy URL (e.g. ``postgresql://user@host/db``; see
            :func:`open_storage`); default :func:`default_storage` of ``run_dir`` (or the
            current directory).
        study_name: the study to create or continue (``load_if_exists``).
        seed: seeds the validation folds, the models and the sampler. Trial ``n`` draws its
            sample from (``seed``, ``n``): workers sharing a study never propose the same
            stream, a resumed study never repeats its first trials, and one worker (``jobs=1``)
            reproduces its study.
        metric: validation metric to maximise; default the selection metric of GZSL when it
            is a task (``gzsl_h``, ``gzsl_cal_h`` with calibration and several folds; ``gfsl``
            on few-shot splits), else of ZSL. With several folds it must be a selection metric
            (``zsl``, ``gzsl_h``, ``gzsl_cal_h``): those are the ones with held-out scores.
        progress: ``progress(stage, done, total)`` as in :func:`anyshot.experiment.run_experiment`.
        jobs: trials run side by side (Optuna threads). The CPU threads
            (:func:`anyshot.utils.resolve_threads` of ``threads``, default ``config.threads``)
            are shared out between them, at least one each, so parallel trials never
            oversubscribe the cores. With ``jobs`` > 1 (or several workers) the order in which
            trials finish, and so the sampler's later proposals, depends on timing.
        threads: CPU threads of the whole sweep (``None``: automatic, ``0``: every core).
        heartbeat: seconds between heartbeats of a running trial (``None``: off). A trial whose
            worker died is marked failed once it has been silent for twice as long, and queued
            again with the same parameters (:data:`RETRIES` times); see :func:`open_storage`.

    Only the validation views of the data are ever evaluated; the test split is not touched.

    Raises:
        ConfigError: a bad search space or metric, or a study of the same name that was created
            with another config, space, metric, seed or score.
        StorageError: the database cannot be reached or refuses the credentials.
    """
    import optuna

    from anyshot.evaluation.task import Task, tasks_of
    from anyshot.evaluation.task import held_out as held_out_key
    from anyshot.experiment import method_factory, prepare_data
    from anyshot.methods import make_method
    from anyshot.protocols import Evaluations, train
    from anyshot.protocols.folds import (
        best_epochs,
        held_out_fold_scores,
        mean_curve,
        validation_record,
        validation_views,
    )
    from anyshot.protocols.honest import Honest
    from anyshot.protocols.schedule import epochs_of
    from anyshot.utils import limit_threads, network_width

    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ConfigError(f"n_trials must be a positive integer, got {n_trials!r}.")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}.")
    if heartbeat is not None and (not isinstance(heartbeat, int) or isinstance(heartbeat, bool)
                                  or heartbeat < 1):
        raise ConfigError(f"heartbeat must be a positive number of seconds, got {heartbeat!r}.")
    space = validate_search_space(search_space, config)
    ev = config.evaluation
    folds = ev.validation.folds
    score = "held_out" if folds >= 2 else "best_epoch"
    data = prepare_data(config)
    views = validation_views(data, ev.validation, seed)  # the honest protocol's folds
    val = views[0]
    tasks = tasks_of(val, ev.tasks)
    calibrated = score == "held_out" and bool(ev.calibration) and any(t.generalized
                                                                      for t in tasks)
    if score == "held_out":
        valid = [t.selection_metric(c) for t in tasks for c in (False, True)
                 if not c or (calibrated and t.generalized)]
    else:
        valid = [name for t in tasks for name in t.metric_names()]
    if metric is None:
        metric = next((t for t in tasks if t.generalized), tasks[0]).selection_metric(calibrated)
    if metric not in valid:
        if score == "held_out":
            raise ConfigError(
                f"metric {metric!r} has no held-out-fold score: with {folds} validation folds a "
                f"trial is scored by a selection metric held out; choose one of "
                f"{', '.join(valid)}, or set evaluation.validation.folds: 1.")
        raise ConfigError(f"metric {metric!r} is not computed for tasks {', '.join(ev.tasks)} on "
                          f"this split; choose one of {', '.join(valid)}.")
    metric_calibrated = metric == Task.of(val, "gzsl").selection_metric(True)

    storage = storage if storage is not None else default_storage(run_dir)
    rdb = open_storage(storage, heartbeat)
    signature = {"config": _normalised(config.to_dict()), "space": _normalised(space),
                 "metric": metric, "seed": seed}
    if score == "held_out":  # studies from before held-out scores have no key (best epoch)
        signature["score"] = score
    study = optuna.create_study(storage=rdb, study_name=study_name, direction="maximize",
                                load_if_exists=True, sampler=_trial_seeded_tpe(seed))
    if study.user_attrs.get("anyshot") is None:
        study.set_user_attr("anyshot", signature)
    stored = study.user_attrs["anyshot"]
    if stored != signature:  # re-read: another worker may have created the study meanwhile
        changed = [k for k in ("config", "space", "metric", "seed", "score")
                   if stored.get(k) != signature.get(k)]
        raise ConfigError(
            f"study {study_name!r} in {public_url(storage)} was created with a different "
            f"{' and '.join(changed)}; trials would not be comparable. Use another study name "
            "(--study-name) or the original settings."
        )
    base = config.to_dict()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    study_id = rdb.get_study_id_from_name(study_name)

    def objective(trial) -> float:
        if heartbeat is not None:
            # A heartbeat now, before the trial says it started (its "worker"): a trial with a
            # worker has a heartbeat, so Optuna's stale check sees it if the worker dies.
            rdb.record_heartbeat(rdb.get_trial_id_from_study_id_trial_number(study_id,
                                                                             trial.number))
        trial.set_user_attr("worker", worker)
        params = {key: _suggest(trial, key, spec) for key, spec in space.items()}
        cfg = load_config(base, params)
        trial.set_user_attr("score", score)
        if score == "held_out":  # the honest protocol's folds and choices
            curves = Honest(cfg.evaluation).select(method_factory(cfg, seed), data, seed,
                                                   progress=progress).curves
            held_out = held_out_fold_scores(curves, tasks, val, metric_calibrated)
            curve = mean_curve(curves, val, metric_calibrated)
            chosen = best_epochs(curve, tasks, val, metric_calibrated)
            record = validation_record(curve, chosen, tasks, val, metric_calibrated)
            kind = next(t.kind for t in tasks if metric in (t.selection_metric(False),
                                                            t.selection_metric(True)))
            trial.set_user_attr("best_epoch", int(chosen[kind]))  # on the mean of all folds
            trial.set_user_attr("validation", {**_numbers(record), **held_out})
            return float(held_out[held_out_key(metric)])
        method = method_factory(cfg, seed)()
        curves = [train(method, val, epochs=epochs_of(method) or None,
                        evaluations=Evaluations(tasks, every=cfg.evaluation.eval_every,
                                                patience=cfg.evaluation.patience),
                        progress=progress, stage=f"trial {trial.number} validation")]
        best = max(curves[0], key=lambda row: row[metric])
        trial.set_user_attr("best_epoch", int(best["epoch"]))
        trial.set_user_attr("validation", _numbers({k: v for k, v in best.items()
                                                    if k != "epoch"}))
        return float(best[metric])

    # A diverging trial (NaN loss, e.g. from too large a learning rate) is a bad sample, not a
    # broken sweep: Optuna records it as failed and the search goes on.
    width = network_width(make_method(config.method.name, config.method.params).config)
    callbacks = []
    if heartbeat is not None:
        fail_unstarted_trials(study, rdb, study_id, 2 * heartbeat)
        callbacks = [lambda study, _trial: fail_unstarted_trials(study, rdb, study_id,
                                                                  2 * heartbeat)]
    with limit_threads(config.threads if threads is None else threads, width, jobs):
        study.optimize(objective, n_trials=n_trials, n_jobs=jobs, callbacks=callbacks,
                       catch=(TrainingDivergedError,))
    return _result(study, storage)


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    """The scalar numbers of an evaluation row (not the calibration curves or names)."""
    return {k: float(v) for k, v in row.items()
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)}


def _result(study, storage: str) -> SweepResult:
    """The study as it stands, read from its storage: best complete trial (ties: the earliest),
    trial counts by state, and the settings it was created with."""
    import optuna

    signature = study.user_attrs.get("anyshot")
    if signature is None:
        raise ConfigError(f"study {study.study_name!r} in {public_url(storage)} was not made by "
                          "anyshot sweep (it has no record of its config and search space).")
    trials = study.get_trials(deepcopy=False)
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "no trials"
        raise AnyShotError(f"no trial of study {study.study_name!r} has completed ({counts}); "
                           "a diverging trial fails: narrow the search space, e.g. lower "
                           "learning rates.")
    best = min(complete, key=lambda t: (-t.value, t.number))
    config = signature["config"]
    return SweepResult(
        best_value=float(best.value),
        best_params=dict(best.params),
        best_config=load_config(config, dict(best.params)),
        n_trials=len(complete),
        study_name=study.study_name,
        storage=storage,
        metric=signature["metric"],
        score=signature.get("score", "best_epoch"),
        folds=int(config.get("evaluation", {}).get("validation", {}).get("folds", 1)),
        best_number=best.number,
        states=states,
    )


def load_sweep_result(storage: str, study_name: str) -> SweepResult:
    """Read a study made by :func:`run_sweep` as it stands (other workers may still be adding
    trials), without running any.

    Raises:
        StorageError: the database cannot be opened, or holds no study of that name.
        AnyShotError: the study has no complete trial yet.
    """
    import optuna

    rdb = open_storage(storage, heartbeat=None, create=False)
    try:
        study = optuna.load_study(study_name=study_name, storage=rdb)
    except KeyError as exc:
        names = rdb.get_all_studies()
        raise StorageError(f"{public_url(storage)} holds no study {study_name!r} (studies: "
                           f"{', '.join(repr(s.study_name) for s in names) or 'none'}).") from exc
    return _result(study, storage)
