"""What a sweep leaves behind: the best config as YAML, and the table ``anyshot sweep`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from anyshot.config import load_config
from anyshot.io import atomic_write_text
from anyshot.sweep.search_space import load_search_space
from anyshot.sweep.study import SweepResult, public_url, run_sweep


def write_best_config(result: SweepResult, path: str | Path) -> Path:
    """Write the best trial's config as YAML (atomically), ready for ``anyshot train --config``."""
    path = Path(path)
    header = (
        f"# Best of {result.n_trials} trial(s) of Optuna study {result.study_name!r} "
        f"({public_url(result.storage)}):\n"
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
                  f"(storage {public_url(result.storage)})", highlight=False, soft_wrap=True)
    best = write_best_config(result, folder / "best_config.yaml")
    console.print(f"best config: {best}\nnext: anyshot train --config {best} --out runs/best",
                  highlight=False, soft_wrap=True)
    return result
