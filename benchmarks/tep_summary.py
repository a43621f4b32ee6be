"""Markdown tables of TEP results written by ``tep_groups.py --out``: the mean over groups A-E
(per seed the mean of the five groups, then mean +- std over seeds), validation beside test.

    python benchmarks/tep_summary.py "DAP|per sample|benchmarks/results/tep_dap.jsonl" \\
        "DAP|windows of 40|benchmarks/results/tep_dap_w40.jsonl" ...

Each argument is ``label|features|path``. Prints two tables: ZSL and GZSL (plain and calibrated)
with their validation scores, and ZSL per group; for runs that record them, the validation
scores of held-out folds (:func:`anyshot.protocols.folds.held_out_fold_scores`); and, for runs that
chose their GZSL final classifier on validation, how often each was chosen.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

GROUPS = ("A", "B", "C", "D", "E")


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mean_a_e(rows: list[dict], source: str, key: str) -> str:
    """'m +- s' of the per-seed mean over groups A-E, or '-' when the key is missing."""
    seeds = sorted({r["seed"] for r in rows})
    per_seed = []
    for s in seeds:
        vals = [r[source].get(key) for r in rows if r["seed"] == s]
        if len(vals) != len(GROUPS) or any(v is None for v in vals):
            return "-"
        per_seed.append(np.mean(vals))
    a = np.asarray(per_seed) * 100
    return f"{a.mean():.1f} +- {a.std(ddof=1) if a.size > 1 else 0.0:.1f}"


def _group(rows: list[dict], group: str) -> str:
    a = np.asarray([r["metrics"]["zsl"] for r in rows if r["group"] == group]) * 100
    if a.size == 0:
        return "-"
    return f"{a.mean():.1f} +- {a.std(ddof=1) if a.size > 1 else 0.0:.1f}"


def main(specs: list[str]) -> None:
    runs = []
    for spec in specs:
        label, features, path = spec.split("|")
        runs.append((label, features, _load(Path(path))))
    print("| method | features | val ZSL | ZSL | GZSL U | GZSL S | GZSL H | val cal. H | "
          "cal. U | cal. S | cal. H |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, features, rows in runs:
        cells = [_mean_a_e(rows, "validation", "zsl"), _mean_a_e(rows, "metrics", "zsl"),
                 *(_mean_a_e(rows, "metrics", f"gzsl_{k}") for k in ("u", "s", "h")),
                 _mean_a_e(rows, "validation", "gzsl_cal_h"),
                 *(_mean_a_e(rows, "metrics", f"gzsl_cal_{k}") for k in ("u", "s", "h"))]
        print(f"| {label} | {features} | " + " | ".join(cells) + " |")
    print()
    print("| method | features | " + " | ".join(GROUPS) + " |")
    print("|---|---|" + "---|" * len(GROUPS))
    for label, features, rows in runs:
        print(f"| {label} | {features} | " + " | ".join(_group(rows, g) for g in GROUPS) + " |")
    held = [(label, features, rows) for label, features, rows in runs
            if any("zsl_held_out" in r["validation"] for r in rows)]
    if held:
        print()
        print("Validation scored on held-out folds (every choice made on the other folds; "
              "the fold-mean score above is that of the folds that made the choices):")
        print()
        print("| method | features | val ZSL | val ZSL, held-out fold | ZSL | val cal. H | "
              "val cal. H, held-out fold | cal. H |")
        print("|---|---|---|---|---|---|---|---|")
        for label, features, rows in held:
            cells = [_mean_a_e(rows, "validation", "zsl"),
                     _mean_a_e(rows, "validation", "zsl_held_out"),
                     _mean_a_e(rows, "metrics", "zsl"),
                     _mean_a_e(rows, "validation", "gzsl_cal_h"),
                     _mean_a_e(rows, "validation", "gzsl_cal_h_held_out"),
                     _mean_a_e(rows, "metrics", "gzsl_cal_h")]
            print(f"| {label} | {features} | " + " | ".join(cells) + " |")
    chosen = [(label, features, Counter(r["validation"]["gzsl_classifier"] for r in rows
                                        if "gzsl_classifier" in r["validation"]))
              for label, features, rows in runs]
    if any(count for *_, count in chosen):
        print()
        print("| method | features | GZSL final classifier chosen on validation (runs) |")
        print("|---|---|---|")
        for label, features, count in chosen:
            if count:
                print(f"| {label} | {features} | "
                      + ", ".join(f"{k} {v}" for k, v in sorted(count.items())) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
