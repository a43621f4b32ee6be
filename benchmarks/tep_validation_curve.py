"""Validation curves of a generative config on TEP: how settings were chosen without test data.

    OMP_NUM_THREADS=1 python benchmarks/tep_validation_curve.py --config clswgan/tep \\
        --epochs 14 --seeds 0 --set method.params.lr=0.0001

For every group A-E and seed, the config's method trains on the validation problem carved from
the 12 seen faults (3 held out, as the honest protocol's fold 0 does) and is evaluated on it every
``--every`` epochs; prints ZSL per group and the mean over groups at each evaluation. The test
split is never read. A method without epochs (the factorised Gaussian) is evaluated once, as
epoch 0: the reference the generative curves are read against.
"""

from __future__ import annotations

import argparse

import numpy as np
import yaml

from anyshot.config import load_config
from anyshot.evaluation.scoring import evaluate
from anyshot.experiment import build_method, prepare_data
from anyshot.protocols.folds import validation_fold
from anyshot.training import fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--groups", default="A,B,C,D,E")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE override (YAML value)")
    args = ap.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    curves = []
    for group in args.groups.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            cfg = load_config(args.config, {**overrides, "data.params.group": group,
                                            "device": overrides.get("device", "cpu")})
            data = prepare_data(cfg)
            val = validation_fold(data, cfg.evaluation.validation, seed)
            method = build_method(cfg, seed)
            curve: list[float] = []

            def on_epoch(epoch: int, _logs: dict, method=method, val=val, curve=curve) -> None:
                if epoch % args.every == 0:
                    curve.append(evaluate(method, val, ["zsl"])["zsl"])

            fit(method, val, epochs=args.epochs, on_epoch=on_epoch)
            if not method.iterative:  # a closed-form method: one evaluation, printed as epoch 0
                curve.append(evaluate(method, val, ["zsl"])["zsl"])
            curves.append(curve)
            print(f"group {group} seed {seed}: " + " ".join(f"{v:.3f}" for v in curve), flush=True)
    epochs = list(range(args.every, args.epochs + 1, args.every)) if method.iterative else [0]
    print(f"config={args.config} overrides={overrides}")
    print("epoch:         " + " ".join(f"{e:5d}" for e in epochs))
    print("mean val ZSL:  " + " ".join(f"{v:.3f}" for v in np.mean(curves, axis=0)))


if __name__ == "__main__":
    main()
