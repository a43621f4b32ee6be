"""What every command shares: help rows, the error-to-exit-code translation and the option
declarations that several commands take word for word."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

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


class _ClosedPipeGuard(io.TextIOBase):
    """Standard output that outlives its reader: once the reader has closed the pipe
    (``anyshot train ... | head -1``), further output is dropped instead of raising
    BrokenPipeError, so the command still finishes its work (a run directory is completed)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.dropped = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    def _drop(self) -> None:
        self.dropped = True
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            # The interpreter flushes standard output at exit: let that go nowhere, quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:  # type: ignore[override]
        if not self.dropped:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.dropped:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()


@contextlib.contextmanager
def closed_pipe_tolerated() -> Iterator[None]:
    """Run a command with :class:`_ClosedPipeGuard` as standard output; when output was dropped,
    say so on standard error (one line, no traceback), keeping the command's exit code."""
    guard = _ClosedPipeGuard(sys.stdout)
    sys.stdout = guard
    try:
        yield
    finally:
        guard.flush()
        sys.stdout = guard._stream
        if guard.dropped:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write("anyshot: standard output was closed by its reader (e.g. "
                                 "`| head`); the rest of the output was dropped.\n")
