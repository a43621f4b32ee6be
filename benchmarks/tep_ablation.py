"""The generator switches on TEP, one row per switch: held-out-fold validation beside test, per
sample and on windows of 40, mean A-E over seeds 0-2.

    python benchmarks/tep_ablation.py --list             # every row's two commands
    python benchmarks/tep_ablation.py --run clswgan-scale  # make a row's two result files
    python benchmarks/tep_ablation.py                    # the Markdown table from the files

Each row is a preset with overrides (``tep_groups.py --set``); its runs are in
``benchmarks/results/tep_ablation_<row>.jsonl`` (per sample) and ``..._w40.jsonl`` (windows).
A row whose settings are a preset's current values reads that preset's table file instead.
Columns: validation ZSL and calibrated GZSL H scored on held-out folds (every choice made on the
other folds; what the switches were chosen by), test ZSL and calibrated H, and the seconds of
the 15 runs of each setting.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
W40 = ["data.params.window=40", "data.params.window_stats=[mean,std]"]
SCALE = ["method.params.prior_variance_scale=held-out"]
FEATURES = ["method.params.classifier_space=features"]
SHARED = ["method.params.prior=composed", "method.params.prior_learn=shared",
          "method.params.prior_lr=0.01"]

#: (row, label, config, overrides, file stem or None for tep_ablation_<row>)
ROWS = (
    ("fg-before", "factorised Gaussian, no variance scale", "factorised-gaussian/tep",
     ["method.params.variance_scale=none"], None),
    ("fg", "factorised Gaussian (preset: variance_scale held-out)", "factorised-gaussian/tep",
     [], "tep_factorised-gaussian_heldout"),
    ("clswgan-before", "f-CLSWGAN, prior not scaled, no weight average", "clswgan/tep",
     ["method.params.prior_variance_scale=none", "method.params.ema=0.0"], None),
    ("clswgan-scale", "f-CLSWGAN, prior scaled, no weight average", "clswgan/tep",
     ["method.params.ema=0.0"], None),
    ("clswgan-shared", "f-CLSWGAN, scaled, no ema, + composed prior (shared parts)", "clswgan/tep",
     ["method.params.ema=0.0"] + SHARED, None),
    ("clswgan-composed-only", "f-CLSWGAN, the composed prior alone (correction: none)",
     "clswgan/tep",
     ["method.params.ema=0.0"] + SHARED + ["method.params.correction=none",
                                            "method.params.prior_anchor=0"], None),
    ("clswgan", "f-CLSWGAN (preset: prior scaled, ema 0.99)", "clswgan/tep", [],
     "tep_clswgan_heldout"),
    ("srwgan-before", "SRWGAN, classifier on M's code, prior not scaled", "srwgan/tep",
     ["method.params.classifier_space=code", "method.params.prior_variance_scale=none"], None),
    ("srwgan-features", "SRWGAN, classifier on the features", "srwgan/tep",
     ["method.params.prior_variance_scale=none"], None),
    ("srwgan", "SRWGAN (preset: features, prior scaled)", "srwgan/tep", [], "tep_srwgan_heldout"),
    ("srwgan-no-mapping", "SRWGAN - mapping M", "srwgan/tep", ["method.params.use_mapping=false"],
     None),
    ("srwgan-no-center", "SRWGAN - triplet-centre loss", "srwgan/tep",
     ["method.params.use_center_loss=false"], None),
    ("srwgan-no-bias", "SRWGAN - bias elimination", "srwgan/tep",
     ["method.params.use_bias_elimination=false"], None),
    ("srwgan-no-alignment", "SRWGAN - semantic alignment", "srwgan/tep",
     ["method.params.use_alignment=false"], None),
    ("srwgan-single-head", "SRWGAN, one refinement head", "srwgan/tep",
     ["method.params.single_head=true"], None),
    ("srwgan-shared", "SRWGAN + composed prior, shared parts learnt", "srwgan/tep", SHARED, None),
    ("srwgan-ema", "SRWGAN + ema 0.99", "srwgan/tep", ["method.params.ema=0.99"], None),
)


def files(row: tuple) -> tuple[Path, Path]:
    name, _, _, _, stem = row
    stem = stem or f"tep_ablation_{name}"
    return RESULTS / f"{stem}.jsonl", RESULTS / f"{stem}_w40.jsonl"


def commands(row: tuple) -> list[list[str]]:
    name, _, config, sets, _ = row
    out = []
    for path, extra in zip(files(row), ([], W40)):
        cmd = [sys.executable, str(HERE / "tep_groups.py"), "--config", config,
               "--seeds", "0,1,2", "--out", str(path)]
        for s in sets + extra:
            cmd += ["--set", s]
        out.append(cmd)
    return out


def cell(rows: list[dict], source: str, key: str) -> str:
    """Mean over seeds of the mean over groups A-E, in %, or '-'."""
    per_seed = []
    for seed in sorted({r["seed"] for r in rows}):
        vals = [r[source].get(key) for r in rows if r["seed"] == seed]
        if len(vals) != 5 or any(v is None for v in vals):
            return "-"
        per_seed.append(np.mean(vals) * 100)
    return f"{np.mean(per_seed):.1f}" if per_seed else "-"


def seconds(rows: list[dict]) -> str:
    total = sum(r.get("seconds", 0.0) for r in rows)
    return f"{total:.0f}" if total else "-"


def table() -> None:
    print("| row | val ZSL | ZSL | val cal. H | cal. H | s | val ZSL | ZSL | val cal. H | cal. H "
          "| s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in ROWS:
        cells = []
        for path in files(row):
            if not path.exists():
                cells += ["-"] * 5
                continue
            runs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            cells += [cell(runs, "validation", "zsl_held_out"), cell(runs, "metrics", "zsl"),
                      cell(runs, "validation", "gzsl_cal_h_held_out"),
                      cell(runs, "metrics", "gzsl_cal_h"), seconds(runs)]
        print(f"| {row[1]} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--run", default="", help="comma-separated rows to (re)make")
    args = ap.parse_args()
    by_name = {row[0]: row for row in ROWS}
    if args.list:
        for row in ROWS:
            for cmd in commands(row):
                print(f"{row[0]}: OMP_NUM_THREADS=1 python " + shlex.join(cmd[1:]).replace(
                    str(HERE.parent) + "/", ""))
        return
    for name in filter(None, args.run.split(",")):
        for cmd, path in zip(commands(by_name[name]), files(by_name[name])):
            path.unlink(missing_ok=True)
            subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    table()


if __name__ == "__main__":
    main()
