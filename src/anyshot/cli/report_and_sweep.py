"""``report`` (an HTML page of a finished run) and ``sweep`` (hyperparameters searched on the
validation split): the commands whose bodies live in :mod:`anyshot.report` and
:mod:`anyshot.sweep`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from anyshot.cli import checks
from anyshot.cli.base import THREADS_HELP, RunDir, Sets, Threads, exit_on_errors
from anyshot.errors import ConfigError


def report(
    run_dir: RunDir,
    embedding: Annotated[
        str,
        typer.Option(help="2-D embedding of real vs synthetic features: pca | tsne"),
    ] = "pca",
    threads: Threads = None,
) -> None:
    """Write an HTML report of a run: training curves, accuracies, confusion matrix, embedding."""
    from anyshot.report import EMBEDDINGS, report_command
    from anyshot.utils import limit_threads

    with exit_on_errors():
        checks.choice("--embedding", embedding, EMBEDDINGS)
        checks.threads(threads)
        with limit_threads(threads):
            report_command(run_dir, embedding=embedding)


def sweep(
    config: Annotated[
        Optional[str],
        typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)",
                     show_default="required, except with --summary"),
    ] = None,
    space: Annotated[
        Optional[Path],
        typer.Option(
            help=(
                "search space YAML: {metric: ..., space: {dotted.key: {type: "
                "float|int|categorical, ...}}}"
            ),
            show_default="required, except with --summary",
        ),
    ] = None,
    trials: Annotated[
        int,
        typer.Option(help="trials this worker adds (a study resumes where it stopped; workers "
                          "sharing it add theirs)"),
    ] = 20,
    jobs: Annotated[
        int,
        typer.Option(help="trials run side by side; the threads are shared out, at least one each"),
    ] = 1,
    storage: Annotated[
        Optional[str],
        typer.Option(help="SQLAlchemy URL of the study, e.g. postgresql://USER@HOST:5432/DB "
                          "(password from PGPASSWORD or ~/.pgpass; printed masked)",
                     envvar="ANYSHOT_SWEEP_STORAGE", show_default="sqlite:///OUT/sweep.db"),
    ] = None,
    study_name: Annotated[str, typer.Option(help="study to create or continue")] = "anyshot",
    out: Annotated[
        Optional[Path],
        typer.Option(
            help="folder for best_config.yaml (and the default sweep.db)",
            show_default="current folder",
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(help="seed of the validation folds, the models and the sampler"),
    ] = 0,
    threads: Annotated[
        Optional[int],
        typer.Option(
            help=THREADS_HELP + "; shared by the --jobs trials",
            show_default="automatic",
        ),
    ] = None,
    heartbeat: Annotated[
        int,
        typer.Option(help="seconds between a running trial's heartbeats; a trial silent for twice "
                          "as long (its worker died) is marked failed and run again once"),
    ] = 60,
    summary: Annotated[
        bool,
        typer.Option("--summary", help="print the study's trials by state and its best so far; "
                                       "run and write nothing"),
    ] = False,
    set_: Sets = None,
) -> None:
    """Search hyperparameters with Optuna on the validation folds (the test split is never read).

    Several workers (processes, machines) given the same --storage URL and --study-name share
    one study. With evaluation.validation.folds >= 2 each trial is scored by the held-out-fold
    value of the metric, as `anyshot train` records it; with one fold, by its best epoch."""
    from anyshot.sweep import load_search_space, summary_command, sweep_command

    with exit_on_errors():
        if summary:
            if storage is None:
                raise ConfigError("--summary reads a study: give --storage URL (and "
                                  "--study-name) of the study to watch.")
            summary_command(storage, study_name)
            return
        if config is None or space is None:
            missing = " and ".join(o for o, v in (("--config", config), ("--space", space))
                                   if v is None)
            raise ConfigError(f"{missing} required: give a config (preset or YAML) and a search "
                              "space YAML (see `anyshot sweep --help`).")
        checks.at_least("--trials", trials, 1)
        checks.at_least("--jobs", jobs, 1)
        checks.at_least("--seed", seed, 0)
        checks.at_least("--heartbeat", heartbeat, 1)
        checks.threads(threads)
        if not space.is_file():
            raise ConfigError(f"--space: file {str(space)!r} does not exist; write a search space "
                              "YAML (see `anyshot sweep --help`).")
        if out is not None and out.exists() and not out.is_dir():
            raise ConfigError(f"--out {str(out)!r} is a file; give a folder.")
        overrides = checks.parse_sets(set_ or [])
        checks.config_source(config)
        try:
            load_search_space(space)
        except ConfigError as exc:
            raise ConfigError(f"--space: {exc}") from exc
        sweep_command(config, space, trials, storage, study_name, out, overrides=overrides,
                      seed=seed, jobs=jobs, threads=threads, heartbeat=heartbeat)
