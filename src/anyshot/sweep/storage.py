"""Where a study lives: SQLite by default, or any SQLAlchemy database (PostgreSQL) that several
workers share, with heartbeats so that a trial whose worker died is failed and run again; URLs
with their passwords masked for printing and files."""

from __future__ import annotations

import re
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from anyshot.errors import AnyShotError, ConfigError

__all__ = ["CONNECT_TIMEOUT_SECONDS", "HEARTBEAT_SECONDS", "RETRIES", "StorageError",
           "default_storage", "fail_unstarted_trials", "open_storage", "public_url", "study_url"]

#: Seconds between two heartbeats of a running trial. A trial whose worker has been silent for
#: twice as long (the grace period) is marked failed by the next trial any worker starts, and
#: queued again with the same parameters (at most :data:`RETRIES` times).
HEARTBEAT_SECONDS = 60
#: How many times a trial whose worker died (killed, lost its machine) is queued again.
RETRIES = 1
#: Seconds to wait for a database server to answer before giving up on it.
CONNECT_TIMEOUT_SECONDS = 10

#: How a trial is scored, by name (``SweepResult.score`` and each trial's ``score`` attribute).

class StorageError(AnyShotError, RuntimeError):
    """The study's database cannot be reached, refuses the credentials or is not usable."""


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


def fail_unstarted_trials(study, rdb, study_id: int, grace: int) -> None:
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


