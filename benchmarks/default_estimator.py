"""Time and accuracy of ``AnyShotClassifier()`` with its defaults on a 10,000 x 10 table.

The table: the synthetic benchmark with 6 classes (4 seen with 2,500 training rows each, 2
unseen), 10 features and 4 continuous attributes; with ``--shape wide``, 40 classes (32 seen
with 80 training rows each, 8 unseen), 512 features and 32 attributes (the width of image
features). One fit, then predictions on the held-out
test rows, per-class mean accuracy in %: GZSL (all six classes are candidates; U on the unseen,
S on the seen classes, H their harmonic mean) or, with ``--task zsl``, ZSL (an estimator with
``generalized=False``: the two unseen classes are the candidates).

    python benchmarks/default_estimator.py                   # the defaults (method="auto"), GZSL
    python benchmarks/default_estimator.py --task zsl        # ... ZSL
    python benchmarks/default_estimator.py --shape wide      # 2,560 x 512, 40 classes, GZSL
    python benchmarks/default_estimator.py --legacy          # f-CLSWGAN with the fixed defaults
                                                             # it had before they were sized
    python benchmarks/default_estimator.py --out benchmarks/results/default_estimator.jsonl

Threads follow the estimator's own rule (``threads=None``), as a user would get them.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from anyshot import AnyShotClassifier
from anyshot.data import make_synthetic
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy

#: The class defaults of f-CLSWGAN before they were sized to the data (paper-sized networks).
LEGACY = {"hidden": 4096, "critic_hidden": 4096, "batch_size": 64, "epochs": 30, "syn_num": 300,
          "pretrain": {"epochs": 50, "batch_size": 100, "lr": 1e-3, "beta1": 0.5},
          "classifier": {"epochs": 30, "batch_size": 256, "lr": 1e-3}}


#: The tables, as arguments of make_synthetic.
SHAPES = {"tall": {"n_classes": 6, "n_unseen": 2, "n_attributes": 4, "n_features": 10,
                   "samples_per_class": 3125},
          "wide": {"n_classes": 40, "n_unseen": 8, "n_attributes": 32, "n_features": 512,
                   "samples_per_class": 100}}


def run(legacy: bool, task: str = "gzsl", seed: int = 0, shape: str = "tall") -> dict:
    """One fit + test; returns seconds, the accuracies and the parameters used."""
    d = make_synthetic(**SHAPES[shape], seed=seed)
    names = np.array([f"class_{i}" for i in range(d.n_classes)], dtype=object)
    table = pd.DataFrame(d.attributes, index=names)
    tv = d.trainval
    clf = (AnyShotClassifier(method="clswgan", method_params=LEGACY, random_state=seed,
                             generalized=task == "gzsl") if legacy
           else AnyShotClassifier(random_state=seed, generalized=task == "gzsl"))
    t0 = time.perf_counter()
    clf.fit(d.X[tv], names[d.y[tv]], class_attributes=table)
    seconds = time.perf_counter() - t0
    tu, ts = d.test_unseen, d.test_seen
    u = per_class_accuracy(names[d.y[tu]], clf.predict(d.X[tu]))
    if task == "zsl":
        acc = {"zsl": round(u * 100, 1)}
    else:
        s = per_class_accuracy(names[d.y[ts]], clf.predict(d.X[ts]))
        acc = {"gzsl_u": round(u * 100, 1), "gzsl_s": round(s * 100, 1),
               "gzsl_h": round(harmonic_mean(u, s) * 100, 1)}
    chosen = next((r["method"] for r in clf.selection_ if r["status"] == "chosen"), None)
    return {"defaults": "legacy" if legacy else "auto", "shape": shape, "rows": int(tv.size),
            "features": int(d.X.shape[1]),
            "seconds": round(seconds, 1), **acc, "method": clf.method_.name, "chosen": chosen,
            "selection": [{k: r[k] for k in ("method", "score", "folds", "seconds", "status")}
                          for r in clf.selection_],
            "machine": f"{platform.processor() or platform.machine()}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy", action="store_true", help="the fixed defaults before sizing")
    parser.add_argument("--task", choices=("gzsl", "zsl"), default="gzsl")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tall")
    parser.add_argument("--out", type=Path, help="append a JSON line to this file (.jsonl)")
    args = parser.parse_args()
    row = run(args.legacy, args.task, shape=args.shape)
    print(json.dumps(row))
    if args.out is not None:
        with args.out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
