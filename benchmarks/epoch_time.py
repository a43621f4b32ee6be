"""Seconds per training epoch of the presets on CPU, for a side-by-side run of two revisions.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/epoch_time.py --label new &
    OMP_NUM_THREADS=1 PYTHONPATH=/path/to/old/src python benchmarks/epoch_time.py --label old

Each config trains for ``--epochs`` epochs on its full training split through
:func:`anyshot.training.fit` (a revision older than that public call is measured with this
script as it stood in that revision); the median wall clock of the epochs after the first is
printed. Started together on a 2-core machine, the two processes share the same load, so their
ratio is what to read, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics

from anyshot.config import load_config
from anyshot.experiment import build_method, prepare_data
from anyshot.training import fit

CONFIGS = ("clswgan/synthetic", "srwgan/synthetic", "clswgan/tep")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    for name in args.configs.split(","):
        cfg = load_config(name, {"device": "cpu"})
        method = build_method(cfg, 0)
        fit(method, prepare_data(cfg), epochs=args.epochs)
        secs = method.epoch_seconds_[1:] or method.epoch_seconds_
        print(json.dumps({"label": args.label, "config": name,
                          "s_per_epoch": round(statistics.median(secs), 4),
                          "epochs": len(method.epoch_seconds_)}), flush=True)


if __name__ == "__main__":
    main()
