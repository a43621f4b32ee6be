"""Where a generator with a factorised-Gaussian prior puts the classes it has never seen, on TEP's
validation problems: closer to their real features than the prior, or further away?

    OMP_NUM_THREADS=1 python benchmarks/tep_unseen_shift.py --config clswgan/tep \\
        [--set method.params.KEY=VALUE ...] [--out rows.jsonl]

For every group A-E and seed, the config's method trains on the validation problem of the honest
protocol's fold 0 (3 of the 12 seen faults held out; the test split is never read). Every
``--every`` epochs, for each held-out class u, with the prior's mean m_u and variance v_u
(per feature) and the mean g_u of 500 synthesized features:

    d(prior) = rms_j (real_uj - m_uj) / sqrt(v_uj)      d(gen) = rms_j (real_uj - g_uj) / sqrt(v_uj)
    shift    = rms_j (g_uj - m_uj) / sqrt(v_uj)

real_u being the mean of u's held-out real features. Prints, per epoch, the means over every
held-out class of every fold and how often the generator is the closer of the two. The real
features of held-out classes are read only here, to measure; nothing is chosen with them.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import yaml

from anyshot.config import load_config
from anyshot.experiment import build_method, prepare_data
from anyshot.protocols.folds import validation_fold
from anyshot.training import fit


def rms_distance(a: torch.Tensor, b: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """rms over features of (a - b) / sqrt(var), one value per row: (k, d) -> (k,)."""
    return (((a - b) ** 2) / var).mean(dim=1).sqrt()


def fold_rows(config: str, overrides: dict, group: str, seed: int, epochs: int, every: int,
              n: int = 500) -> list[dict]:
    """The distances of every held-out class of one validation fold at every ``every`` epochs."""
    cfg = load_config(config, {**overrides, "data.params.group": group,
                               "device": overrides.get("device", "cpu")})
    if cfg.method.params.get("prior") != "factorised-gaussian":
        raise SystemExit(f"{config}: no factorised-Gaussian prior under the generator to measure "
                         "against (set method.params.prior=factorised-gaussian).")
    data = prepare_data(cfg)
    val = validation_fold(data, cfg.evaluation.validation, seed)
    method = build_method(cfg, seed)
    held_out = np.asarray(val.unseen)
    X, y = val.X[val.test_unseen], val.y[val.test_unseen]
    real = torch.stack([torch.as_tensor(X[y == c]).float().mean(0) for c in held_out])
    rows: list[dict] = []

    def on_epoch(epoch: int, _logs: dict) -> None:
        if epoch % every:
            return
        prior = method.generator_.semantic.prior
        mean, var = prior.moments(method.A_[torch.as_tensor(held_out)], None)
        fake, _ = method.synthesize(held_out, n)
        gen = fake.view(held_out.size, n, -1).mean(1)
        rows.append({"group": group, "seed": seed, "epoch": epoch, "classes": held_out.tolist(),
                     "d_prior": rms_distance(real, mean, var).tolist(),
                     "d_gen": rms_distance(real, gen, var).tolist(),
                     "shift": rms_distance(gen, mean, var).tolist()})

    fit(method, val, epochs=epochs, on_epoch=on_epoch)
    return rows


def summary(rows: list[dict]) -> list[str]:
    lines = ["epoch  d(prior)  d(gen)  shift  generator closer"]
    for epoch in sorted({r["epoch"] for r in rows}):
        at = [r for r in rows if r["epoch"] == epoch]
        d_prior = np.concatenate([r["d_prior"] for r in at])
        d_gen = np.concatenate([r["d_gen"] for r in at])
        shift = np.concatenate([r["shift"] for r in at])
        lines.append(f"{epoch:5d}  {d_prior.mean():8.3f}  {d_gen.mean():6.3f}  {shift.mean():5.3f}"
                     f"  {100 * np.mean(d_gen < d_prior):3.0f}% of {d_gen.size} classes")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="clswgan/tep")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--groups", default="A,B,C,D,E")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE override (YAML value)")
    ap.add_argument("--out", help="write every fold's rows here (JSON lines)")
    args = ap.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    rows: list[dict] = []
    for group in args.groups.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows += fold_rows(args.config, overrides, group, seed, args.epochs, args.every)
            print(f"group {group} seed {seed} done", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    print(f"config={args.config} overrides={overrides}")
    print("\n".join(summary(rows)))


if __name__ == "__main__":
    main()
