"""Terminal output: result tables (rich) and a progress bar that stays quiet in CI."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from anyshot.evaluation.results import RunResult, format_mean_std, summarize

__all__ = ["results_table", "progress_bar", "result_lines", "console"]

# Wide enough for a full results table when stdout is a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 160)

# Calibrated stacking's figures (gamma chosen on validation) follow the plain ones when a run has
# them: they are the GZSL / GFSL numbers of every preset that calibrates.
METRIC_ORDER = ["zsl", "fsl"] + [f"{g}_{part}" for g in ("gzsl", "gfsl")
                                 for part in ("u", "s", "h", "cal_u", "cal_s", "cal_h")]
HEADERS = {"zsl": "ZSL", "fsl": "FSL"} | {
    f"{g}_{cal}{part}": f"{g.upper()} {'cal. ' if cal else ''}{part.upper()}"
    for g in ("gzsl", "gfsl") for cal in ("", "cal_") for part in ("u", "s", "h")}


def _group(results: list[RunResult]) -> dict[tuple, list[RunResult]]:
    groups: dict[tuple, list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.dataset, r.method, r.objective or "-", r.protocol_label), []).append(r)
    return groups


def results_table(results: list[RunResult], title: str = "Results") -> Table:
    """One row per (dataset, method, objective, protocol): metrics as mean +- std in percent
    (calibrated GZSL / GFSL U, S, H in place of the plain U and S where the runs have them)."""
    present = {m for r in results for m in r.metrics}
    # With calibrated figures, the plain U and S leave the terminal table (they stay in the
    # per-seed lines, the run files and the report): the row keeps the plain H beside them.
    hidden = {f"{g}_{p}" for g in ("gzsl", "gfsl") if f"{g}_cal_h" in present for p in "us"}
    metrics = [m for m in METRIC_ORDER if m in present and m not in hidden]
    table = Table(title=title)
    for col in ("dataset", "method", "objective", "protocol", "seeds"):
        table.add_column(col, no_wrap=True)  # names stay whole; figures wrap if space is short
    for m in metrics:
        table.add_column(HEADERS[m], justify="right")
    for (dataset, method, objective, protocol), rs in _group(results).items():
        summary = summarize(rs)
        cells = [format_mean_std(*summary[m][:2]) if m in summary else "" for m in metrics]
        table.add_row(dataset, method, objective, protocol, str(len(rs)), *cells)
    return table


def result_lines(results: list[RunResult]) -> list[str]:
    """Plain one-line-per-seed records, each naming its protocol."""
    out = []
    for r in results:
        vals = " ".join(f"{k}={v * 100:.1f}" for k, v in r.metrics.items())
        epochs = ",".join(f"{k}@{v}" for k, v in r.selected_epochs.items())
        # Choices made by name on validation (the GZSL final classifier among several listed).
        chosen = "".join(f" {k}={v}" for k, v in r.validation.items() if isinstance(v, str))
        out.append(f"{r.dataset} {r.method} objective={r.objective or '-'} "
                   f"protocol={r.protocol_label}"
                   f" seed={r.seed} {vals} epochs={epochs or '-'}{chosen} rev={r.git_revision}")
    return out


def interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator:
    """Yields a callback ``progress(stage, done, total)``; a no-op when not interactive."""
    if enabled is None:
        enabled = interactive()
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
