"""The ``anyshot`` command line.

Every option value is checked before any data is read: a bad value ends in one line naming the
option and what it accepts, exit code 2, no traceback. Training commands take ``--threads``
(default: automatic, see :func:`anyshot.utils.resolve_threads`). Ctrl-C ends with exit code 130
and, for ``train --out DIR``, the command that resumes the run. Output piped into a reader that
stops early (``anyshot train ... | head -1``) is cut off with a note on standard error; the
command still finishes its work and keeps its exit code.

Where the commands live:

    runs.py              demo, train, ablate, evaluate, presets
    data.py              validate, example-data
    prediction.py        predict, generate
    report_and_sweep.py  report, sweep
    checks.py            option value checks shared by the commands
    base.py              help rows, errors -> exit codes, options declared alike
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from anyshot.cli import data, prediction, report_and_sweep, runs
from anyshot.cli.base import Command, Group, closed_pipe_tolerated

__all__ = ["app", "main"]


class _App(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with closed_pipe_tolerated():
            return super().__call__(*args, **kwargs)


# Markdown help: a docstring's paragraphs wrap to the terminal (the rich mode keeps the source's
# line breaks mid-sentence); help texts therefore write placeholders as NAME, not <name> or *.
app = _App(add_completion=False, no_args_is_help=True, cls=Group, rich_markup_mode="markdown",
           context_settings={"show_default": True},
           help=("Generative any-shot learning: ZSL, GZSL, FSL and GFSL with honest "
                 "evaluation."))


def _print_version(value: bool) -> None:
    if value:
        from anyshot import __version__

        typer.echo(f"anyshot {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="print the version of anyshot and exit"),
    ] = False,
) -> None:
    """Generative any-shot learning: ZSL, GZSL, FSL and GFSL with honest evaluation."""

# In the order ``anyshot --help`` lists them.
for _function in (runs.demo, runs.train, runs.ablate, runs.evaluate, data.validate,
                  data.example_data, prediction.predict, prediction.generate,
                  report_and_sweep.report, report_and_sweep.sweep, runs.presets):
    app.command(_function.__name__.replace("_", "-"), cls=Command)(_function)


def main() -> None:  # pragma: no cover
    app()
