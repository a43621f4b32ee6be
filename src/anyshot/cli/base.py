"""What every command shares: help rows, the error-to-exit-code translation and the option
declarations that several commands take word for word."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from anyshot.errors import AnyShotError


class _HelpRows:
    """Help rows without a type for flags: ``--help`` and ``--zsl`` take no value, so their
    rows must not read ``--help <bool>``."""

    def get_help_option(self, ctx):  # type: ignore[no-untyped-def]
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        for param in self.params:  # type: ignore[attr-defined]
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return super().format_help(ctx, formatter)  # type: ignore[misc]


class Command(_HelpRows, TyperCommand):
    pass


class Group(_HelpRows, TyperGroup):
    pass


FROM_CONFIG = "from the config"
THREADS_HELP = ("CPU threads: 0 = every core; default: 1 for networks narrower than 1024, "
                "else every core (OMP_NUM_THREADS, when set, is kept)")

# Options that several commands declare alike.
Threads = Annotated[Optional[int], typer.Option(help=THREADS_HELP, show_default="automatic")]
Sets = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="override a config key: KEY=VALUE (YAML value)",
                 show_default="none"),
]
RunDir = Annotated[Path, typer.Argument(help="a directory written by `anyshot train --out`")]


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def exit_on_errors(resume_dir: Path | None = None, resumable: bool = False) -> Iterator[None]:
    """Turn anyshot's errors into one-line messages (exit 2) and Ctrl-C into exit 130, naming
    the resume command when the interrupted run can be resumed."""
    try:
        yield
    except AnyShotError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        if resumable and resume_dir is not None and (resume_dir / "config.yaml").is_file():
            msg = (f"interrupted; the run in {resume_dir} keeps its checkpoints. Continue it "
                   f"with: anyshot train --resume {resume_dir}")
        elif resumable:
            msg = ("interrupted; nothing was saved (give --out DIR to make a run resumable with "
                   "anyshot train --resume DIR)")
        else:
            msg = "interrupted"
        typer.secho(msg, fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130)
