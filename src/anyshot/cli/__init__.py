"""The ``anyshot`` command line.

Every option value is checked before any data is read: a bad value ends in one line naming the
option and what it accepts, exit code 2, no traceback. Training commands take ``--threads``
(default: automatic, see :func:`anyshot.utils.resolve_threads`). Ctrl-C ends with exit code 130
and, for ``train --out DIR``, the command that resumes the run.

Where the commands live:

    runs.py              demo, train, ablate, evaluate, presets
    data.py              validate, example-data
    prediction.py        predict, generate
    report_and_sweep.py  report, sweep
    checks.py            option value checks shared by the commands
    base.py              help rows, errors -> exit codes, options declared alike
"""

from __future__ import annotations

import typer

from anyshot.cli import data, prediction, report_and_sweep, runs
from anyshot.cli.base import Command, Group

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, cls=Group,
                  context_settings={"show_default": True},
                  help=("Generative any-shot learning: ZSL, GZSL, FSL and GFSL with honest "
                        "evaluation."))

# In the order ``anyshot --help`` lists them.
for _function in (runs.demo, runs.train, runs.ablate, runs.evaluate, data.validate,
                  data.example_data, prediction.predict, prediction.generate,
                  report_and_sweep.report, report_and_sweep.sweep, runs.presets):
    app.command(_function.__name__.replace("_", "-"), cls=Command)(_function)


def main() -> None:  # pragma: no cover
    app()
