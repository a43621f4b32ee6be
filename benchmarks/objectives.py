"""Each adversarial objective with each generative method: accuracy (honest protocol, several
seeds) and wall-clock seconds per training epoch.

    python benchmarks/objectives.py --configs clswgan/synthetic --seeds 0,1,2
    python benchmarks/objectives.py --configs clswgan/tep --seeds 0,1,2 --groups A,B,C,D,E

Prints a Markdown table; one JSON line per run goes to --out. Hyperparameters are the preset's
for every objective (the presets were chosen on validation data with WGAN-GP), so the table shows
what switching the objective alone does.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from anyshot.config import load_config
from anyshot.evaluation.results import format_mean_std
from anyshot.experiment import build_method, prepare_data, run_experiment
from anyshot.training import fit

OBJECTIVES = ("wgan", "wgan-gp", "ebgan")


def epoch_seconds(cfg, epochs: int = 3) -> float:
    """Median wall clock of one training epoch on the full training split."""
    m = fit(build_method(cfg, 0), prepare_data(cfg), epochs=epochs)
    return float(np.median(m.epoch_seconds_))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="clswgan/synthetic")
    ap.add_argument("--objectives", default=",".join(OBJECTIVES))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--groups", default="", help="TEP groups to average over, e.g. A,B,C,D,E")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    groups = [g for g in args.groups.split(",") if g] or [None]
    t_start = time.perf_counter()
    print(f"machine={platform.machine()} seeds={seeds} groups={groups}")
    print("| config | objective | protocol | ZSL | GZSL U | GZSL S | GZSL H | s/epoch |")
    print("|---|---|---|---|---|---|---|---|")
    for config in args.configs.split(","):
        for obj in args.objectives.split(","):
            per_seed: dict[str, list[list[float]]] = {}
            label = ""
            for g in groups:
                over = {"objective.name": obj, "objective.params": {}, "evaluation.seeds": seeds,
                        "device": "cpu"}
                if g:
                    over["data.params.group"] = g
                cfg = load_config(config, over)
                results = run_experiment(cfg)
                label = results[0].protocol_label
                for r in results:
                    for k, v in r.metrics.items():
                        per_seed.setdefault(k, [[] for _ in seeds])[seeds.index(r.seed)].append(v)
                    if args.out:
                        with args.out.open("a") as fh:
                            rec = {k: v for k, v in r.to_dict().items()
                                   if k not in ("history", "config")}
                            fh.write(json.dumps({"config": config, "group": g, **rec}) + "\n")
            spe = epoch_seconds(load_config(config, {"objective.name": obj, "objective.params": {},
                                                     "device": "cpu"}))
            cells = []
            for key in ("zsl", "gzsl_u", "gzsl_s", "gzsl_h"):
                vals = np.array([np.mean(v) for v in per_seed.get(key, [])])
                cells.append(format_mean_std(vals.mean(),
                                             vals.std(ddof=1) if vals.size > 1 else 0.0)
                             if vals.size else "")
            print(f"| {config} | {obj} | {label} | " + " | ".join(cells) + f" | {spe:.3f} |",
                  flush=True)
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
