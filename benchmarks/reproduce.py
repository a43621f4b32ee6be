"""Re-run seeds of a current benchmark table and compare them with the stored rows.

    python benchmarks/reproduce.py --list
    python benchmarks/reproduce.py tep --seeds 0
    python benchmarks/reproduce.py tep-windows --seeds 0 --rows dap,factorised-gaussian

Every table of BENCHMARKS.md that holds accuracies is named in TABLES below, with the config,
the overrides and the result file of each row. For each requested seed the row's runs are made
again (one per TEP group A-E for the TEP tables, as ``tep_groups.py`` makes them) and their test
metrics and validation scores are compared, key by key and for exact equality, with the stored
lines of the result file. One line per run says stored vs now and whether they are equal; the
exit status is 1 if any run differs or is missing from the file.

Runs are deterministic on one machine with one thread, and the stored rows were made that way
(``OMP_NUM_THREADS=1``), so this script runs with one thread. On another CPU model the numbers
may differ in the last digits; that is a different machine, not a failed reproduction.

Only the public API is used: ``anyshot.config.load_config``, ``anyshot.experiment.run_experiment``
and the helpers of ``tep_groups.py``.
"""

from __future__ import annotations

import os

# The stored rows were made with one thread; the thread count can change the last digits.
os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
W40 = {"data.params.window": 40, "data.params.window_stats": ["mean", "std"]}
W40_SETS = "--set data.params.window=40 --set data.params.window_stats=[mean,std]"


@dataclass(frozen=True)
class Row:
    """One row of a table: what runs, and the file that holds its stored runs."""

    name: str  # what --rows selects
    label: str  # as in BENCHMARKS.md
    config: str  # preset name or YAML file
    file: str  # under benchmarks/results/
    command: str  # the command that wrote the file (on main)
    overrides: dict[str, Any] = field(default_factory=dict)
    tep: bool = False  # one run per TEP group A-E, as tep_groups.py makes them
    match: dict[str, Any] = field(default_factory=dict)  # other keys a stored line must hold


#: Columns of a table as --markdown prints them: (header, "metrics" or "validation", key).
def _calibrated(task: str, val_header: str, val_key: str) -> tuple[tuple[str, str, str], ...]:
    """The calibrated columns of ``task`` (gzsl, gfsl): its validation score, then U, S, H."""
    return ((val_header, "validation", val_key), ("cal. U", "metrics", f"{task}_cal_u"),
            ("cal. S", "metrics", f"{task}_cal_s"), ("cal. H", "metrics", f"{task}_cal_h"))


TEP_COLUMNS = (("val ZSL (held-out fold)", "validation", "zsl_held_out"), ("ZSL", "metrics", "zsl"),
               ("GZSL U", "metrics", "gzsl_u"), ("GZSL S", "metrics", "gzsl_s"),
               ("GZSL H", "metrics", "gzsl_h"),
               *_calibrated("gzsl", "val cal. H (held-out fold)", "gzsl_cal_h_held_out"))
ZSL_COLUMNS = (("val ZSL", "validation", "zsl"), ("ZSL", "metrics", "zsl"),
               ("GZSL U", "metrics", "gzsl_u"), ("GZSL S", "metrics", "gzsl_s"),
               ("GZSL H", "metrics", "gzsl_h"), ("val H", "validation", "gzsl_h"),
               *_calibrated("gzsl", "val cal. H", "gzsl_cal_h"))
FSL_TEP_COLUMNS = (("val FSL (held-out fold)", "validation", "fsl_held_out"),
                   ("FSL", "metrics", "fsl"), ("GFSL U", "metrics", "gfsl_u"),
                   ("GFSL S", "metrics", "gfsl_s"), ("GFSL H", "metrics", "gfsl_h"),
                   *_calibrated("gfsl", "val cal. H (held-out fold)", "gfsl_cal_h_held_out"))
FSL_COLUMNS = (("val FSL", "validation", "fsl"), ("FSL", "metrics", "fsl"),
               ("GFSL U", "metrics", "gfsl_u"), ("GFSL S", "metrics", "gfsl_s"),
               ("GFSL H", "metrics", "gfsl_h"), ("val GFSL H", "validation", "gfsl_h"),
               *_calibrated("gfsl", "val cal. H", "gfsl_cal_h"))


@dataclass(frozen=True)
class Table:
    title: str
    rows: tuple[Row, ...]
    columns: tuple[tuple[str, str, str], ...] = ZSL_COLUMNS


def _tep_row(method: str, label: str, windows: bool = False, shots: int = 0) -> Row:
    if shots:
        file = f"fsl_{method}_tep_k{shots}.jsonl"
    else:
        file = f"tep_{method}_heldout{'_w40' if windows else ''}.jsonl"
    overrides = dict(W40) if windows else {}
    sets = W40_SETS if windows else ""
    if shots:
        overrides["data.params.shots"] = shots
        sets = f"--set data.params.shots={shots}"
    command = (f"OMP_NUM_THREADS=1 python benchmarks/tep_groups.py --config {method}/tep "
               f"--seeds 0,1,2 {sets + ' ' if sets else ''}--out benchmarks/results/{file}")
    name = f"{method}-k{shots}" if shots else method
    return Row(name, label, f"{method}/tep", file, command, overrides, tep=True)


def _synthetic_row(method: str, label: str, shots: int = 0) -> Row:
    stem = f"fsl_{method}_synthetic_k{shots}" if shots else f"synthetic_{method}"
    overrides = {"data.params.shots": shots} if shots else {}
    sets = f"--set data.params.shots={shots} " if shots else ""
    command = (f"OMP_NUM_THREADS=1 anyshot train --config {method}/synthetic --seeds 0,1,2 "
               f"--device cpu {sets}--out runs/{stem} && "
               f"cp runs/{stem}/results.jsonl benchmarks/results/{stem}.jsonl")
    name = f"{method}-k{shots}" if shots else method
    return Row(name, label, f"{method}/synthetic", f"{stem}.jsonl", command, overrides)


def _objective_row(method: str, objective: str, label: str) -> Row:
    if objective == "wgan-gp":  # the preset's objective: the synthetic table's row
        row = _synthetic_row(method, label)
        return Row(f"{method}-{objective}", f"{label}, {objective} (preset)", row.config,
                   row.file, row.command)
    file = f"objectives_{method}_synthetic.jsonl"
    command = (f"OMP_NUM_THREADS=1 python benchmarks/objectives.py --configs {method}/synthetic "
               f"--objectives wgan,ebgan --seeds 0,1,2 --out benchmarks/results/{file}")
    return Row(f"{method}-{objective}", f"{label}, {objective}", f"{method}/synthetic", file,
               command, {"objective.name": objective, "objective.params": {}},
               match={"objective": objective})


_TEP_METHODS = (("attribute-regression", "attribute regression"), ("dap", "DAP"),
                ("factorised-gaussian", "factorised Gaussian"), ("clswgan", "f-CLSWGAN"),
                ("srwgan", "SRWGAN"))
_FSL_TEP = (("attribute-regression", "attribute regression"), ("dap", "DAP"),
            ("factorised-gaussian", "factorised Gaussian"), ("clswgan", "f-CLSWGAN"))
_FSL_SYNTHETIC = (("attribute-regression", "attribute regression"),
                  ("factorised-gaussian", "factorised Gaussian"), ("clswgan", "f-CLSWGAN"))

#: The current tables of BENCHMARKS.md: table name -> rows (config, overrides, result file).
TABLES: dict[str, Table] = {
    "tep": Table("TEP groups A-E, per sample (ZSL, GZSL, calibrated GZSL, validation)",
                 tuple(_tep_row(m, label) for m, label in _TEP_METHODS), TEP_COLUMNS),
    "tep-windows": Table("TEP groups A-E, windows of 40 (ZSL, GZSL, calibrated GZSL, validation)",
                         tuple(_tep_row(m, label, windows=True) for m, label in _TEP_METHODS),
                         TEP_COLUMNS),
    "synthetic": Table("synthetic benchmark (ZSL, GZSL)", (
        _synthetic_row("attribute-regression", "attribute regression"),
        _synthetic_row("factorised-gaussian", "factorised Gaussian"),
        _synthetic_row("clswgan", "f-CLSWGAN"),
        _synthetic_row("srwgan", "SRWGAN"))),
    "objectives": Table("adversarial objectives, synthetic benchmark", tuple(
        _objective_row(m, o, label) for m, label in (("clswgan", "f-CLSWGAN"),
                                                     ("srwgan", "SRWGAN"))
        for o in ("wgan", "wgan-gp", "ebgan"))),
    "fsl-tep": Table("FSL / GFSL on TEP groups A-E, k shots per novel fault", tuple(
        _tep_row(m, f"{label}, k={k}", shots=k) for m, label in _FSL_TEP for k in (1, 5, 10)),
        FSL_TEP_COLUMNS),
    "fsl-synthetic": Table("FSL / GFSL on the synthetic benchmark, k shots per novel class", tuple(
        _synthetic_row(m, f"{label}, k={k}", shots=k) for m, label in _FSL_SYNTHETIC
        for k in (1, 5, 10)), FSL_COLUMNS),
}


def stored_runs(row: Row) -> dict[tuple[str | None, int], dict]:
    """The row's stored runs, keyed by (TEP group or None, seed)."""
    path = RESULTS / row.file
    if not path.is_file():
        raise SystemExit(f"error: {path} is missing; make it with: {row.command}")
    out = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if all(rec.get(k) == v for k, v in row.match.items()):
            out[(rec.get("group"), rec["seed"])] = rec
    return out


def run_row(row: Row, seeds: list[int]):
    """Run the row for the seeds; yields ((group, seed), record) as each run finishes."""
    from anyshot.config import load_config
    from anyshot.experiment import run_experiment

    if row.tep:
        sys.path.insert(0, str(HERE))
        import tep_groups

        for group in tep_groups.GROUPS:
            cfg = tep_groups.group_config(row.config, group, seeds, row.overrides)
            for result in run_experiment(cfg):
                rec = json.loads(json.dumps(tep_groups.record(group, result)))
                yield (group, result.seed), rec
    else:
        cfg = load_config(row.config, {**row.overrides, "evaluation.seeds": list(seeds),
                                       "device": "cpu"})
        for result in run_experiment(cfg):
            rec = json.loads(json.dumps({k: v for k, v in result.to_dict().items()
                                         if k not in ("history", "config")}))
            yield (None, result.seed), rec


def differences(stored: dict, now: dict) -> list[str]:
    """'metrics.zsl 0.61 -> 0.62 (+0.01)' for every test metric or validation score that is not
    exactly equal (a key on one side only counts too)."""
    out = []
    for part in ("metrics", "validation"):
        a, b = stored.get(part, {}), now.get(part, {})
        for key in sorted(set(a) | set(b)):
            if key not in b:
                out.append(f"{part}.{key} {a[key]!r} -> (absent)")
            elif key not in a:
                out.append(f"{part}.{key} (absent) -> {b[key]!r}")
            elif a[key] != b[key]:
                delta = (f" ({b[key] - a[key]:+.3g})" if isinstance(a[key], float)
                         and isinstance(b[key], float) else "")
                out.append(f"{part}.{key} {a[key]!r} -> {b[key]!r}{delta}")
    return out


def _headline(rec: dict) -> str:
    """The row's main figures in percent: ZSL (or FSL) and H (calibrated where recorded)."""
    m = rec.get("metrics", {})
    names = {"zsl": "ZSL", "fsl": "FSL", "gzsl_cal_h": "cal. H", "gzsl_h": "H", "gfsl_h": "GFSL H",
             "gfsl_cal_h": "cal. GFSL H"}
    first = next((k for k in ("zsl", "fsl") if k in m), None)
    h = next((k for k in ("gzsl_cal_h", "gfsl_cal_h", "gzsl_h", "gfsl_h") if k in m), None)
    return ", ".join(f"{names[k]} {100 * m[k]:.3f}" for k in (first, h) if k)


def reproduce(name: str, seeds: list[int], only: list[str] | None) -> bool:
    """Re-run the table's rows for the seeds; prints a line per run; True if all are equal."""
    table = TABLES[name]
    rows = [r for r in table.rows if not only or r.name in only]
    unknown = set(only or []) - {r.name for r in table.rows}
    if unknown:
        raise SystemExit(f"error: table {name!r} has no row {sorted(unknown)}; its rows: "
                         + ", ".join(r.name for r in table.rows))
    import torch

    torch.set_num_threads(1)
    print(f"{name}: {table.title}; seeds {','.join(map(str, seeds))}")
    total = equal = 0
    for row in rows:
        stored = stored_runs(row)
        row_equal = row_total = 0
        t0 = time.perf_counter()
        absent = [s for s in seeds if s not in {seed for _, seed in stored}]
        for seed in absent:  # nothing to compare with: not run
            print(f"  {row.name} | seed {seed} | MISSING: no stored run in {row.file}")
            row_total += 1
        present = [s for s in seeds if s not in absent]
        for key, rec in run_row(row, present) if present else ():
            group, seed = key
            where = f"{row.name} | {group + ' | ' if group else ''}seed {seed}"
            old = stored.get(key)
            if old is None:
                print(f"  {where} | now {_headline(rec)} | MISSING: no stored run in {row.file}")
                row_total += 1
                continue
            diff = differences(old, rec)
            verdict = "equal" if not diff else "DIFFERS: " + "; ".join(diff)
            print(f"  {where} | stored {_headline(old)} | now {_headline(rec)} | {verdict}",
                  flush=True)
            row_total += 1
            row_equal += not diff
        print(f"  -> {row.label}: {row_equal} of {row_total} runs equal "
              f"({row.file}, {time.perf_counter() - t0:.0f} s)", flush=True)
        total += row_total
        equal += row_equal
    print(f"{name}: {equal} of {total} runs equal" + ("" if equal == total else "; SOME DIFFER"))
    return equal == total


def _mean_std(row: Row, runs: dict, source: str, key: str) -> str:
    """'m +- s' in percent over seeds (a TEP row: per seed the mean of groups A-E first)."""
    per_seed = []
    for seed in sorted({s for _, s in runs}):
        vals = [rec[source].get(key) for (_, s), rec in runs.items() if s == seed]
        if (row.tep and len(vals) != 5) or not vals or any(v is None for v in vals):
            return "-"
        per_seed.append(100 * sum(vals) / len(vals))
    n = len(per_seed)
    mean = sum(per_seed) / n
    std = (sum((v - mean) ** 2 for v in per_seed) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return f"{mean:.1f} +- {std:.1f}"


def markdown(name: str) -> None:
    """The table as BENCHMARKS.md shows it, from the stored runs: mean +- std over seeds."""
    table = TABLES[name]
    print("| method | " + " | ".join(h for h, _, _ in table.columns) + " | seeds |")
    print("|---|" + "---|" * (len(table.columns) + 1))
    for row in table.rows:
        runs = stored_runs(row)
        cells = [_mean_std(row, runs, source, key) for _, source, key in table.columns]
        seeds = ",".join(str(s) for s in sorted({s for _, s in runs}))
        print(f"| {row.label} | " + " | ".join(cells) + f" | {seeds} |")


def list_tables() -> None:
    for name, table in TABLES.items():
        print(f"{name}: {table.title}")
        for row in table.rows:
            path = RESULTS / row.file
            n = len(stored_runs(row)) if path.is_file() else 0
            over = " ".join(f"{k}={json.dumps(v)}" for k, v in row.overrides.items())
            print(f"  {row.name:28s} {row.label}")
            print(f"    config {row.config}{' (groups A-E)' if row.tep else ''}"
                  f"{'; overrides ' + over if over else ''}")
            print(f"    file benchmarks/results/{row.file} ({n} stored runs)")
            print(f"    made by: {row.command}")


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        try:
            out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
        except ValueError:
            raise SystemExit(f"error: --seeds takes integers such as 0 or 0,1,2 or 0-2, "
                             f"got {text!r}") from None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", nargs="?", help="a table name (see --list)")
    ap.add_argument("--seeds", default="0,1,2", help="seeds to re-run, e.g. 0 or 0,1,2")
    ap.add_argument("--rows", default="", help="comma-separated row names (default: every row)")
    ap.add_argument("--list", action="store_true", help="print the tables, rows and files")
    ap.add_argument("--markdown", action="store_true",
                    help="print the table from its stored runs (no re-run)")
    args = ap.parse_args(argv)
    if args.list:
        list_tables()
        return 0
    if args.table not in TABLES:
        ap.error(f"name a table: {', '.join(TABLES)} (--list shows their rows)")
    if args.markdown:
        markdown(args.table)
        return 0
    only = [r for r in args.rows.split(",") if r] or None
    return 0 if reproduce(args.table, _seeds(args.seeds), only) else 1


if __name__ == "__main__":
    sys.exit(main())
