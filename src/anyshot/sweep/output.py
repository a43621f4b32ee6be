"""What a sweep leaves behind: the best config as YAML, and the table ``anyshot sweep`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from anyshot.config import load_config
from anyshot.io import atomic_write_text
from anyshot.sweep.search_space import load_search_space
from anyshot.sweep.storage import HEARTBEAT_SECONDS, public_url, study_url
from anyshot.sweep.study import SweepResult, load_sweep_result, run_sweep


def write_best_config(result: SweepResult, path: str | Path) -> Path:
    """Write the best trial's config as YAML (atomically), ready for ``anyshot train --config``.

    The file depends on the study alone (its complete trials, best trial, metric and score; its
    address without a password, :func:`~anyshot.sweep.storage.study_url`), never on the worker
    that writes it, so workers sharing a study write the same file."""
    path = Path(path)
    header = (
        f"# Best of {result.n_trials} trial(s) of Optuna study {result.study_name!r} "
        f"({study_url(result.storage)}), trial {result.best_number}:\n"
        f"# validation {result.metric} = {result.best_value:.4f}, chosen on the validation split "
        "only (the test split was not read).\n"
        f"# score: {result.score_text}.\n"
        + "".join(f"#   {k} = {v!r}\n" for k, v in sorted(result.best_params.items()))
    )
    body = yaml.safe_dump(result.best_config.to_dict(), sort_keys=False)
    atomic_write_text(path, header + body)
    return path


def write_settled_best_config(result: SweepResult, path: str | Path) -> SweepResult:
    """Write ``best_config.yaml``, then re-read the study and write again until no trial has
    completed in between: of workers sharing a study and a folder, the one that writes last
    then writes the whole study's best. Returns the result that was written."""
    while True:
        write_best_config(result, path)
        again = load_sweep_result(result.storage, result.study_name)
        if again.n_trials == result.n_trials:  # complete trials only ever add up
            return again
        result = again


def states_line(result: SweepResult) -> str:
    """``study 's' (URL): 6 complete, 1 running, 1 failed, 0 waiting``, password masked."""
    order = ("COMPLETE", "RUNNING", "WAITING", "FAIL", "PRUNED")
    counts = ", ".join(f"{result.states.get(s, 0)} {s.lower()}" for s in order
                       if s in result.states or s in order[:3])
    return f"study {result.study_name!r} ({public_url(result.storage)}): {counts}"


def _print_result(result: SweepResult) -> None:
    from rich.table import Table

    from anyshot.reporting import console

    table = Table(title=f"best of {result.n_trials} trial(s), study {result.study_name!r}")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key, value in sorted(result.best_params.items()):
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"validation {result.metric} = {result.best_value * 100:.1f}%, trial "
                  f"{result.best_number} ({result.score_text})",
                  highlight=False, soft_wrap=True)
    console.print(states_line(result), highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------- CLI body
def sweep_command(config: str, space_file: Path, n_trials: int, storage: str | None,
                  study_name: str, out: Path | None, *, overrides: dict[str, Any] | None = None,
                  seed: int = 0, jobs: int = 1, threads: int | None = None,
                  heartbeat: int = HEARTBEAT_SECONDS) -> SweepResult:
    """Body of ``anyshot sweep``: run the sweep, print the best trial, write
    ``best_config.yaml`` (and, without ``storage``, ``sweep.db``) into ``out`` or the current
    directory. Nothing is written when the config, the space or the database is refused."""
    import optuna

    from anyshot.reporting import console, progress_bar

    cfg = load_config(config, overrides)
    space, metric = load_search_space(space_file)
    folder = Path(out) if out is not None else Path.cwd()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with progress_bar() as progress:
        result = run_sweep(cfg, space, n_trials=n_trials, storage=storage, study_name=study_name,
                           seed=seed, metric=metric, progress=progress, run_dir=folder,
                           jobs=jobs, threads=threads, heartbeat=heartbeat)
    best_file = folder / "best_config.yaml"
    result = write_settled_best_config(result, best_file)
    _print_result(result)
    console.print(f"best config: {best_file}\nnext: anyshot train --config {best_file} --out "
                  "runs/best", highlight=False, soft_wrap=True)
    return result


def summary_command(storage: str, study_name: str) -> SweepResult:
    """Body of ``anyshot sweep --summary``: print a study's trials by state and its best trial
    so far, running nothing and writing nothing (to watch workers that share a study)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = load_sweep_result(storage, study_name)
    _print_result(result)
    return result
