"""The public estimator, as a user calls it, on TEP groups A-E and on the synthetic benchmark:
``method="auto"`` against each single method (its ``<method>/tabular`` preset).

For each (data set, seed, method) two fits, as a user would make them: ``generalized=False``
(ZSL: the unseen classes are the candidates) and ``generalized=True`` (GZSL: every class; the
estimator calibrates with the gamma its folds chose). The training rows are the split's
``trainval`` (seen classes only), labels are class names, the attribute table a DataFrame; the
unseen classes are the table's classes without rows. Per-class mean accuracy in %, and the
seconds of each fit. For ``auto`` the method it chose is recorded.

    OMP_NUM_THREADS=1 python benchmarks/estimator_real.py --data tep --seeds 0,1,2 \\
        --methods auto,factorised-gaussian,dap,attribute-regression \\
        --out benchmarks/results/estimator_real_tep.jsonl
    python benchmarks/estimator_real.py --summary benchmarks/results/estimator_real_tep.jsonl

``--data``: ``tep`` (per sample), ``tep-windows`` (windows of 40, mean and std), ``synthetic``
(the embedded benchmark) or ``tables`` (:data:`TABLES`, synthetic tables unlike the benchmark's).
``--table-seeds 0-9`` draws each table anew from every data seed listed (which classes are
unseen moves with it), to see how much one draw of test classes decides. ``--summary`` prints
the Markdown tables (mean over groups per seed, then mean +- std over seeds) from any number of
result files.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from anyshot import AnyShotClassifier
from anyshot.cli.checks import seed_list
from anyshot.data import make_synthetic
from anyshot.data.registry import load_dataset
from anyshot.estimator.auto import AUTO_CANDIDATES
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy

GROUPS = ("A", "B", "C", "D", "E")


#: ``--data tables``: tables unlike the ones the presets were chosen on (no choice was made on
#: them): binary attributes, and a small table with few attributes and two unseen classes.
TABLES = {
    "binary-16": {"binary_attributes": True, "seed": 1},
    "small-10": {"n_classes": 10, "n_unseen": 2, "n_attributes": 6, "n_features": 12,
                 "samples_per_class": 300, "seed": 2},
}


def problems(data: str, table_seeds: list[int] | None = None):
    """(name, AnyShotData) of each problem of ``data``; ``table_seeds`` draws each table anew
    (its classes, unseen ones and rows) from these data seeds instead of its own."""
    if data == "tep":
        return [(f"tep-{g}", load_dataset("tep", group=g)) for g in GROUPS]
    if data == "tep-windows":
        return [(f"tep-w40-{g}", load_dataset("tep", group=g, window=40,
                                               window_stats=["mean", "std"])) for g in GROUPS]
    if data == "tables" and table_seeds:
        return [(f"{name}/data{s}", make_synthetic(**{**params, "seed": s}))
                for name, params in TABLES.items() for s in table_seeds]
    if data == "tables":
        return [(name, make_synthetic(**params)) for name, params in TABLES.items()]
    return [("synthetic", load_dataset("synthetic"))]


def estimator(method: str, seed: int, generalized: bool) -> AnyShotClassifier:
    if method == "auto":
        return AnyShotClassifier(random_state=seed, generalized=generalized)
    preset = dict(AUTO_CANDIDATES).get(method, f"{method}/tabular")
    return AnyShotClassifier(preset=preset, random_state=seed, generalized=generalized)


def run(name: str, d, method: str, seed: int) -> dict:
    names = np.array([str(c) for c in d.class_names], dtype=object)
    A = pd.DataFrame(d.attributes, index=names)
    tv = d.trainval
    rec: dict = {"problem": name, "method": method, "seed": seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        zsl = estimator(method, seed, False).fit(d.X[tv], names[d.y[tv]], class_attributes=A)
        rec["seconds_zsl"] = time.perf_counter() - t0
        t = d.test_unseen
        rec["zsl"] = per_class_accuracy(d.y[t], _indices(zsl.predict(d.X[t]), names))
        t0 = time.perf_counter()
        gz = estimator(method, seed, True).fit(d.X[tv], names[d.y[tv]], class_attributes=A)
        rec["seconds_gzsl"] = time.perf_counter() - t0
    u = per_class_accuracy(d.y[d.test_unseen], _indices(gz.predict(d.X[d.test_unseen]), names))
    s = per_class_accuracy(d.y[d.test_seen], _indices(gz.predict(d.X[d.test_seen]), names))
    rec.update(gzsl_u=u, gzsl_s=s, gzsl_h=harmonic_mean(u, s), gamma=gz.gamma_)
    if method == "auto":
        rec["choice_zsl"] = next(r["method"] for r in zsl.selection_ if r["status"] == "chosen")
        rec["choice_gzsl"] = next(r["method"] for r in gz.selection_ if r["status"] == "chosen")
        rec["selection_zsl"], rec["selection_gzsl"] = zsl.selection_, gz.selection_
    return rec


def _indices(labels: np.ndarray, names: np.ndarray) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(label)] for label in labels])


def summary(paths: list[Path]) -> None:
    rows = [json.loads(line) for p in paths for line in p.read_text().splitlines() if line]
    df = pd.DataFrame(rows)
    keys = ["zsl", "gzsl_u", "gzsl_s", "gzsl_h", "seconds_zsl", "seconds_gzsl"]
    per_seed = df.groupby(["method", "seed"])[keys].mean()
    agg = per_seed.groupby("method").agg(["mean", "std"])
    print("| method | ZSL | GZSL U | GZSL S | GZSL H | s per fit (ZSL / GZSL) |")
    print("|---|---|---|---|---|---|")
    for m in agg.index:
        a = agg.loc[m]

        def f(k: str) -> str:
            std = a[(k, "std")]
            return (f"{a[(k, 'mean')] * 100:.1f} +- {0 if np.isnan(std) else std * 100:.1f}")

        print(f"| {m} | {f('zsl')} | {f('gzsl_u')} | {f('gzsl_s')} | {f('gzsl_h')} | "
              f"{a[('seconds_zsl', 'mean')]:.0f} / {a[('seconds_gzsl', 'mean')]:.0f} |")
    auto = df[df["method"] == "auto"]
    if len(auto):
        print("\n| problem | seed | auto's choice (ZSL / GZSL) | test-best single (ZSL / GZSL H) |")
        print("|---|---|---|---|")
        singles = df[df["method"] != "auto"]
        hits = [0, 0]
        for _, r in auto.sort_values(["problem", "seed"]).iterrows():
            same = singles[(singles["problem"] == r["problem"]) & (singles["seed"] == r["seed"])]
            if same.empty:
                continue
            bz = same.loc[same["zsl"].idxmax(), "method"]
            bh = same.loc[same["gzsl_h"].idxmax(), "method"]
            hits[0] += r["choice_zsl"] == bz
            hits[1] += r["choice_gzsl"] == bh
            print(f"| {r['problem']} | {r['seed']} | {r['choice_zsl']} / {r['choice_gzsl']} | "
                  f"{bz} / {bh} |")
        print(f"\nauto chose the test-best single method in {hits[0]} of {len(auto)} ZSL fits "
              f"and {hits[1]} of {len(auto)} GZSL fits.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=("tep", "tep-windows", "synthetic", "tables"), default="tep")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--groups", default=",".join(GROUPS), help="TEP groups")
    ap.add_argument("--table-seeds", help="--data tables: draw each table from these data seeds "
                                          "(e.g. 0-9) instead of its own")
    ap.add_argument("--tables", default=",".join(TABLES), help="--data tables: which tables")
    ap.add_argument("--methods", default="auto," + ",".join(n for n, _ in AUTO_CANDIDATES))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path, nargs="*")
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
        return
    groups = set(args.groups.split(","))
    tables = set(args.tables.split(","))
    table_seeds = seed_list(args.table_seeds) if args.table_seeds else None
    for name, d in problems(args.data, table_seeds):
        if name.startswith("tep") and name[-1] not in groups:
            continue
        if args.data == "tables" and name.split("/")[0] not in tables:
            continue
        for seed in seed_list(args.seeds):
            for method in args.methods.split(","):
                rec = run(name, d, method, seed)
                print(json.dumps({k: v for k, v in rec.items() if not k.startswith("selection")}),
                      flush=True)
                if args.out:
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
