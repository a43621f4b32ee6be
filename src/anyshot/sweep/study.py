"""The Optuna study: trials trained and scored on the validation problem only, in resumable
storage that any number of workers (processes, machines) share."""

from __future__ import annotations

import json
import os
import re
import socket
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import AnyShotError, ConfigError, TrainingDivergedError
from anyshot.sweep.search_space import validate_search_space

#: Seconds between two heartbeats of a running trial. A trial whose worker has been silent for
#: twice as long (the grace period) is marked failed by the next trial any worker starts, and
#: queued again with the same parameters (at most :data:`RETRIES` times).
HEARTBEAT_SECONDS = 60
#: How many times a trial whose worker died (killed, lost its machine) is queued again.
RETRIES = 1
#: Seconds to wait for a database server to answer before giving up on it.
CONNECT_TIMEOUT_SECONDS = 10

#: How a trial is scored, by name (``SweepResult.score`` and each trial's ``score`` attribute).
SCORES = {
    "held_out": ("held-out-fold score: each validation fold scored with the epoch, GZSL "
                 "classifier and gamma chosen on the other folds, averaged over folds"),
    "best_epoch": "best value over the evaluated epochs of one validation fold",
}


class StorageError(AnyShotError, RuntimeError):
    """The study's database cannot be reached, refuses the credentials or is not usable."""


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
    except Exception:  # noqa: BLE001 - not a SQLAlchemy URL: mask what looks like a password
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", storage)


def study_url(storage: str) -> str:
    """The study's address as every worker names it, for files: no password (not even masked;
    a worker may give it in the URL or in ``PGPASSWORD``) and the driver spelled out."""
    from sqlalchemy.engine import URL

    try:
        url = _engine_url(storage)
    except ConfigError:
        return public_url(storage)
    return URL.create(url.drivername, username=url.username, host=url.host, port=url.port,
                      database=url.database, query=url.query
                      ).render_as_string(hide_password=False)


def _engine_url(storage: str):
    """The SQLAlchemy URL to connect with: ``postgresql://`` (no driver named) uses psycopg,
    the driver anyshot installs, rather than SQLAlchemy's default psycopg2."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(storage)
    except ArgumentError as exc:
        raise ConfigError(f"storage {public_url(storage)!r} is not a database URL; give one "
                          "such as sqlite:///sweep.db or postgresql://USER@HOST:5432/DATABASE."
                          ) from exc
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _connection_problem(exc: Exception, url) -> str:
    """One line naming why the database refused: the driver's first line, without secrets."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def open_storage(storage: str, heartbeat: int | None = HEARTBEAT_SECONDS, *,
                 create: bool = True):
    """Connect to the study database (an ``optuna.storages.RDBStorage``), creating its tables.

    Args:
        storage: a SQLAlchemy URL. ``postgresql://`` uses the psycopg driver; the password may
            stay out of the URL (``PGPASSWORD`` or ``~/.pgpass``, read by the driver).
        heartbeat: seconds between a running trial's heartbeats (``None``: no heartbeats); a
            trial silent for twice as long is failed and queued again (:data:`RETRIES` times).
        create: create the tables (and the SQLite file) when missing; ``False`` to only read.

    Raises:
        StorageError: the server cannot be reached, refuses the user or password, or the
            database does not exist; one line, the password masked.
        ConfigError: not a database URL, or its driver is not installed.
    """
    import optuna
    from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

    url = _engine_url(storage)
    shown = public_url(storage)
    if not create and url.get_backend_name() == "sqlite" and url.database not in (None, "",
                                                                                 ":memory:"):
        if not Path(url.database).is_file():
            raise StorageError(f"no study database at {shown}: the file {url.database!r} does "
                               "not exist.")
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}  # a worker outlives idle connections
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    for attempt in range(3):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                kwargs: dict[str, Any] = {}
                if heartbeat is not None:
                    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=RETRIES)
                    kwargs = {"heartbeat_interval": int(heartbeat),
                              "grace_period": 2 * int(heartbeat),
                              "heartbeat_stale_trial_callback": retry}
                return optuna.storages.RDBStorage(url.render_as_string(hide_password=False),
                                                  engine_kwargs=engine_kwargs,
                                                  skip_table_creation=not create, **kwargs)
        except (IntegrityError, ProgrammingError) as exc:
            # Workers starting together on an empty PostgreSQL database race to create the
            # tables; the loser sees them half made. Try again once the winner is done.
            if attempt == 2:
                raise StorageError(f"cannot open the study database {shown}: "
                                   f"{_connection_problem(exc, url)}; check that the user may "
                                   "create tables there (e.g. owns the database).") from exc
            time.sleep(0.5 + attempt)
        except optuna.exceptions.StorageInternalError as exc:
            if create:
                raise StorageError(f"the study database {shown} failed: "
                                   f"{_connection_problem(exc.__cause__ or exc, url)}.") from exc
            raise StorageError(f"{shown} holds no study (it has no Optuna tables).") from exc
        except ImportError as exc:
            raise ConfigError(
                f"storage {shown!r} needs a database driver that is not installed "
                f"({_connection_problem(exc.__cause__ or exc, url)}); for PostgreSQL: "
                "pip install 'psycopg[binary]' (or pip install 'anyshot[postgres]')."
            ) from exc
        except DBAPIError as exc:
            problem = _connection_problem(exc, url)
            low = problem.lower()
            if "password authentication failed" in low or "no password supplied" in low:
                fix = ("check the user and password (in the URL, PGPASSWORD or ~/.pgpass)")
            elif "does not exist" in low:
                fix = "create the database first (createdb), or name an existing one"
            elif "unable to open database file" in low:
                fix = "check that the SQLite file's folder exists and is writable"
            else:
                fix = "check the host and port, and that the server is running and reachable"
            raise StorageError(f"cannot open the study database {shown}: {problem}; "
                               f"{fix}.") from exc
    raise AssertionError("unreachable")


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
        _fail_unstarted_trials(study, rdb, study_id, 2 * heartbeat)
        callbacks = [lambda study, _trial: _fail_unstarted_trials(study, rdb, study_id,
                                                                  2 * heartbeat)]
    with limit_threads(config.threads if threads is None else threads, width, jobs):
        study.optimize(objective, n_trials=n_trials, n_jobs=jobs, callbacks=callbacks,
                       catch=(TrainingDivergedError,))
    return _result(study, storage)


def _fail_unstarted_trials(study, rdb, study_id: int, grace: int) -> None:
    """Fail, and queue again, the running trials whose worker died after creating them but
    before their objective started (no ``worker`` attribute after ``grace`` seconds).

    Optuna's stale check only sees trials with a heartbeat, and the first heartbeat is written
    by a thread that starts with the objective; a worker killed in between would leave its
    trial running forever. (The start time is the creating machine's clock.)
    """
    import optuna

    now = datetime.now()
    retry = rdb.get_heartbeat_stale_trial_callback()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if "worker" in t.user_attrs or t.datetime_start is None:
            continue
        if (now - t.datetime_start).total_seconds() <= grace:
            continue
        trial_id = rdb.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            failed = rdb.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first
        if failed and retry is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                retry(study, rdb.get_trial(trial_id))


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
