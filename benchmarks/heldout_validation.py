"""Held-out-fold validation of a config, without reading test: what a preset value is chosen by.

    OMP_NUM_THREADS=1 python benchmarks/heldout_validation.py \\
        --config factorised-gaussian/synthetic --folds 10 --seeds 0,1,2 \\
        --set method.params.variance_scale=held-out

For every seed, the honest protocol's choices (``Honest.select``: epochs, GZSL classifier,
calibration gamma) are made on ``--folds`` validation problems carved from the seen classes,
and each fold scores the choices made on the others
(:func:`anyshot.protocols.folds.held_out_fold_scores`). Prints the held-out ZSL and calibrated
GZSL H per seed and their mean. Any dataset and method the config names; TEP groups with
``--set data.params.group=B``.

``--thin 1,0.5,0.25,0.1,0.05`` makes the classes unequal in size: per seed, each seen class keeps
a fraction of its training rows drawn from that list (at least 10 rows), so that a setting meant
for imbalanced data can be validated on balanced benchmarks.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import yaml

from anyshot.cli.checks import SEEDS_HELP, seed_list
from anyshot.config import load_config
from anyshot.data.dataset import AnyShotData
from anyshot.experiment import method_factory, prepare_data
from anyshot.protocols.folds import held_out_fold_scores
from anyshot.protocols.honest import Honest


def thinned(data: AnyShotData, fractions: list[float], seed: int) -> AnyShotData:
    """``data`` with each seen class's training rows cut to a fraction drawn from
    ``fractions`` (at least 10 rows); test sets unchanged."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in data.seen:
        rows = data.trainval[data.y[data.trainval] == c]
        n = max(10, round(rows.size * float(rng.choice(fractions))))
        keep.append(rng.permutation(rows)[:n])
    return AnyShotData.create(
        data.X, data.y, data.attributes, seen=data.seen, unseen=data.unseen,
        trainval=np.sort(np.concatenate([*keep, data.shots])), test_seen=data.test_seen,
        test_unseen=data.test_unseen, class_names=data.class_names, name=data.name,
        meta={**data.meta, "thin": fractions})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seeds", default="0,1,2", help=SEEDS_HELP)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE override (YAML value)")
    ap.add_argument("--thin", help="fractions of each seen class's rows to keep, drawn per "
                                   "class and seed, e.g. 1,0.5,0.25,0.1,0.05")
    args = ap.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    scores = []
    for seed in seed_list(args.seeds):
        cfg = load_config(args.config, {"device": "cpu", **overrides})
        settings = dataclasses.replace(
            cfg.evaluation, protocol="honest", calibration=True,
            validation=dataclasses.replace(cfg.evaluation.validation, folds=args.folds))
        data = prepare_data(cfg)
        if args.thin:
            data = thinned(data, [float(f) for f in args.thin.split(",")], seed)
        selection = Honest(settings).select(method_factory(cfg, seed), data, seed)
        held = held_out_fold_scores(selection.curves, settings.tasks, selection.views[0], True)
        scores.append(held)
        print(f"seed {seed}: " + "  ".join(f"{k} {v * 100:.1f}" for k, v in sorted(held.items())),
              flush=True)
    keys = sorted(scores[0])
    print(f"config={args.config} folds={args.folds} overrides={overrides}")
    print("mean: " + "  ".join(f"{k} {np.mean([s[k] for s in scores]) * 100:.1f}" for k in keys))


if __name__ == "__main__":
    main()
