"""Validation curves of a generative config on one dataset, over many seeds: how the synthetic
presets' values were chosen without test data.

    OMP_NUM_THREADS=1 python benchmarks/synthetic_validation.py --config clswgan/synthetic \\
        --seeds 0-7 --every 10 --set method.params.cls_weight=0.1

For every seed, the config's method trains on that seed's validation problem (the honest
protocol's fold 0: unseen classes carved from the seen ones) and is evaluated on it every
``--every`` epochs; prints ZSL / GZSL H per seed, the mean at each evaluation and how many seeds
end with H below 0.35 (a generator that left the unseen classes where no real sample falls). The
test split is never read.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import yaml

from anyshot.config import load_config
from anyshot.evaluation.scoring import evaluate
from anyshot.experiment import build_method, prepare_data
from anyshot.protocols.folds import validation_fold
from anyshot.training import fit


def seeds_of(text: str) -> list[int]:
    """``0-7`` or ``0,3,5``."""
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--seeds", default="0-7")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE override (YAML value)")
    args = ap.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    cfg = load_config(args.config, {"device": "cpu", **overrides})
    data = prepare_data(cfg)
    curves = []
    for seed in seeds_of(args.seeds):
        t0 = time.perf_counter()
        val = validation_fold(data, cfg.evaluation.validation, seed)
        method = build_method(cfg, seed)
        curve: list[tuple[float, float]] = []

        def on_epoch(epoch: int, _logs: dict, method=method, val=val, curve=curve) -> None:
            if epoch % args.every == 0:
                row = evaluate(method, val, ["zsl", "gzsl"])
                curve.append((row["zsl"], row["gzsl_h"]))

        fit(method, val, on_epoch=on_epoch)
        curves.append(curve)
        print(f"seed {seed}: " + " ".join(f"{z:.2f}/{h:.2f}" for z, h in curve)
              + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    arr = np.array(curves)
    epochs = [args.every * (i + 1) for i in range(arr.shape[1])]
    print(f"config={args.config} overrides={overrides}")
    print("epoch:              " + " ".join(f"{e:9d}" for e in epochs))
    print("mean val ZSL / H:   " + " ".join(f"{z:.3f}/{h:.3f}" for z, h in arr.mean(0)))
    print(f"seeds with H < 0.35 at the last epoch: {int((arr[:, -1, 1] < 0.35).sum())} "
          f"of {len(curves)}")


if __name__ == "__main__":
    main()
