"""Commands for the user's own data: ``validate`` a manifest, write ``example-data``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anyshot.cli import checks
from anyshot.cli.base import exit_on_errors
from anyshot.errors import ConfigError


def validate(
    manifest: Annotated[Path, typer.Argument(help="a YAML/JSON data manifest")],
) -> None:
    """Check a data manifest and its files; explain every problem found."""
    from anyshot.data.manifest import load_manifest, validate_manifest

    with exit_on_errors():
        if not manifest.is_file():
            raise ConfigError(f"manifest {str(manifest)!r} does not exist; write one (see "
                              "`anyshot example-data DIR` for an example).")
        problems = validate_manifest(manifest)
        if problems:
            typer.secho(f"{manifest}: {len(problems)} problem(s)", fg=typer.colors.RED, err=True)
            for p in problems:
                typer.echo(f"- {p}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{manifest}: OK")
        typer.echo(load_manifest(manifest).summary())


def example_data(
    folder: Annotated[Path, typer.Argument(help="folder to write the example files into")],
    seed: Annotated[int, typer.Option(help="seed of the synthetic benchmark")] = 0,
    force: Annotated[
        bool,
        typer.Option("--force", help="overwrite example files already in FOLDER"),
    ] = False,
) -> None:
    """Write example CSV files and a manifest, and print the files written.

    The files hold the synthetic benchmark as a user's own data would look."""
    from anyshot.data.synthetic import EXAMPLE_FILES, write_example_files

    with exit_on_errors():
        checks.at_least("--seed", seed, 0)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"FOLDER {str(folder)!r} is a file; give a folder.")
        existing = [name for name in EXAMPLE_FILES if (folder / name).exists()]
        if existing and not force:
            raise ConfigError(f"FOLDER {str(folder)!r} already holds {', '.join(existing)}; "
                              "nothing was written. Give --force to overwrite them, or choose "
                              "another folder.")
        for path in write_example_files(folder, seed=seed, overwrite=force).values():
            typer.echo(str(path))
