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
        str,
        typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)"),
    ],
    space: Annotated[
        Path,
        typer.Option(
            help=(
                "search space YAML: {metric: ..., space: {dotted.key: {type: "
                "float|int|categorical, ...}}}"
            ),
        ),
    ],
    trials: Annotated[
        int,
        typer.Option(help="trials to add in this call (a study resumes where it stopped)"),
    ] = 20,
    jobs: Annotated[
        int,
        typer.Option(help="trials run side by side; the threads are shared out, at least one each"),
    ] = 1,
    storage: Annotated[
        Optional[str],
        typer.Option(help="SQLAlchemy URL of the study", show_default="sqlite:///<out>/sweep.db"),
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
        typer.Option(help="seed of the validation split, the models and the sampler"),
    ] = 0,
    threads: Annotated[
        Optional[int],
        typer.Option(
            help=THREADS_HELP + "; shared by the --jobs trials",
            show_default="automatic",
        ),
    ] = None,
    set_: Sets = None,
) -> None:
    """Search hyperparameters with Optuna on the validation split (the test split is never read)."""
    from anyshot.sweep import load_search_space, sweep_command

    with exit_on_errors():
        checks.at_least("--trials", trials, 1)
        checks.at_least("--jobs", jobs, 1)
        checks.at_least("--seed", seed, 0)
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
                      seed=seed, jobs=jobs, threads=threads)
