"""ZSL / GZSL on the five standard TEP groups A-E, mean +- std over seeds.

    python benchmarks/tep_groups.py --config clswgan/tep --seeds 0,1,2 \
        --out benchmarks/results/tep_clswgan.jsonl

Runs the config once per group (data.params.group = A..E) with the config's protocol (honest by
default), appends one JSON line per (group, seed) to --out and prints a Markdown table with the
per-group and the 5-group mean ZSL accuracy and GZSL U/S/H (calibrated too, when the config
calibrates), and beside them, as ``val_*``, the validation scores that chose epochs and gamma
(and ``val_*_held_out``, those choices scored on folds that did not make them:
:func:`anyshot.protocols.folds.held_out_fold_scores`).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from anyshot.config import ExperimentConfig, load_config
from anyshot.evaluation.results import RunResult, format_mean_std, summarize
from anyshot.experiment import run_experiment

GROUPS = ("A", "B", "C", "D", "E")


def parse_overrides(sets: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (YAML values) as a dict of config overrides."""
    return {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in sets)}


def group_config(config: str, group: str, seeds: list[int],
                 overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """The config this script runs for one TEP group: the preset or file, the overrides, the
    group and the seeds; device ``cpu`` unless the overrides name one."""
    overrides = dict(overrides or {})
    return load_config(config, {**overrides, "data.params.group": group,
                                "evaluation.seeds": list(seeds),
                                "device": overrides.get("device", "cpu")})


def record(group: str, result: RunResult) -> dict[str, Any]:
    """The JSON line written to ``--out`` for one run: its group and its result, without the
    per-epoch history and the config."""
    rec = {k: v for k, v in result.to_dict().items() if k not in ("history", "config")}
    return {"group": group, **rec}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--groups", default=",".join(GROUPS))
    ap.add_argument("--set", action="append", default=[],
                    help="KEY=VALUE config override (YAML value)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    overrides = parse_overrides(args.set)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    per_group_means = {}
    t0 = time.perf_counter()
    for g in args.groups.split(","):
        results = run_experiment(group_config(args.config, g, seeds, overrides))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as fh:
                for r in results:
                    fh.write(json.dumps(record(g, r)) + "\n")
        # Validation scores (fold means, chosen on held-out seen faults) beside the test ones.
        for r in results:
            r.metrics = {**r.metrics, **{f"val_{k}": v for k, v in r.validation.items()
                                         if not k.endswith("_gamma") and not isinstance(v, str)}}
        s = summarize(results)
        per_group_means[g] = {k: [r.metrics[k] for r in results] for k in s}
        rows.append((g, s, results[0].protocol_label))
    metrics = list(rows[0][1])
    print(f"config={args.config} seeds={seeds} overrides={overrides} "
          f"machine={platform.machine()} {platform.processor() or ''} "
          f"time={time.perf_counter() - t0:.0f}s")
    print("| group | protocol | " + " | ".join(metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for g, s, proto in rows:
        print(f"| {g} | {proto} | "
              + " | ".join(format_mean_std(*s[m][:2]) for m in metrics) + " |")
    # 5-group mean: per seed, average over groups; then mean +- std over seeds.
    agg = []
    for m in metrics:
        per_seed = np.mean([per_group_means[g][m] for g, _, _ in rows], axis=0)
        agg.append(format_mean_std(float(per_seed.mean()),
                                   float(per_seed.std(ddof=1)) if per_seed.size > 1 else 0.0))
    print(f"| mean A-E | {rows[0][2]} | " + " | ".join(agg) + " |")


if __name__ == "__main__":
    main()
