"""A sweep of N trials shared by 1, 2 and 3 workers (separate ``anyshot sweep`` processes, one
thread each) through one PostgreSQL database, against the same sweep in SQLite with one worker.

    python benchmarks/sweep_workers.py --trials 24 --workers 1,2,3 \
        --config factorised-gaussian/tep --out benchmarks/results/sweep_workers.jsonl
    python benchmarks/sweep_workers.py --trials 24 --workers 1,2,3 \
        --config clswgan/tep --set method.params.epochs=2 \
        --out benchmarks/results/sweep_workers.jsonl

Each worker count gets a study of its own (``workers-K``); its trials are split evenly between
the K workers (``--trials N/K`` each), all started at once with the same command. Without
``--storage`` a throwaway PostgreSQL server is started (``tests/integration/postgres.py``:
needs the PostgreSQL server binaries and psycopg) and removed at the end.

Prints a Markdown table: wall time from the first start to the last exit (process start-up and
data loading included), trials per minute of that wall time, the span from the first trial's
start to the last trial's end, the best validation score the study found (held-out-fold with
the config's folds >= 2) and its trial, and the load average when the run started (the machine
may be shared). The SQLite row runs the same sweep with one worker and the same seed: with one
worker a study is reproducible, so the 1-worker PostgreSQL study and it find the same best.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: The search space of each method (``--space`` gives another): for the factorised Gaussian its
#: variance smoothing and the weight of its DAP term; for f-CLSWGAN its learning rate and the
#: weight of its classification loss.
SPACES = {
    "factorised-gaussian": {
        "method.params.var_smoothing": {"type": "float", "low": 1.0e-4, "high": 1.0e-1,
                                        "log": True},
        "method.params.dap_weight": {"type": "float", "low": 0.0, "high": 1.0},
    },
    "clswgan": {
        "method.params.optimizer.wgan-gp.lr": {"type": "float", "low": 3.0e-5, "high": 3.0e-4,
                                               "log": True},
        "method.params.cls_weight": {"type": "float", "low": 0.1, "high": 3.0, "log": True},
    },
}


def _split(trials: int, workers: int) -> list[int]:
    return [trials // workers + (1 if i < trials % workers else 0) for i in range(workers)]


def _run_workers(counts: list[int], args: argparse.Namespace, space: Path, storage: str | None,
                 study: str, out: Path) -> float:
    """Start one ``anyshot sweep`` process per entry of ``counts`` at once; wall seconds until
    the last one ends."""
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                       os.environ.get("PYTHONPATH")]))}
    sets = [a for s in ["device=cpu", *args.set] for a in ("--set", s)]
    t0 = time.perf_counter()
    procs = []
    for i, n in enumerate(counts):
        cmd = [sys.executable, "-m", "anyshot.cli", "sweep", "--config", args.config,
               "--space", str(space), "--trials", str(n), "--study-name", study,
               "--seed", str(args.seed), "--threads", "1", "--out", str(out / f"worker{i}"),
               *sets]
        if storage is not None:
            cmd += ["--storage", storage]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed (exit {p.returncode}): {err.strip()}")
    return time.perf_counter() - t0


def _row(name: str, workers: int, wall: float, storage: str, study: str, load: float) -> dict:
    import optuna

    from anyshot.sweep import load_sweep_result

    result = load_sweep_result(storage, study)
    trials = optuna.load_study(study_name=study, storage=storage).get_trials(
        states=(optuna.trial.TrialState.COMPLETE,))
    span = (max(t.datetime_complete for t in trials)
            - min(t.datetime_start for t in trials)).total_seconds()
    return {"storage": name, "workers": workers, "trials": result.n_trials, "wall_s": wall,
            "trials_per_min": 60 * result.n_trials / wall, "span_s": span,
            "best": result.best_value, "best_trial": result.best_number,
            "best_params": result.best_params, "metric": result.metric, "score": result.score,
            "states": result.states, "load": load,
            "params": {t.number: t.params for t in trials}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="factorised-gaussian/tep")
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--space", type=Path, help="search space YAML (default: SPACES[method])")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE config override")
    ap.add_argument("--storage", help="PostgreSQL URL to use instead of a throwaway server")
    ap.add_argument("--no-sqlite", action="store_true", help="skip the SQLite comparison")
    ap.add_argument("--out", type=Path, help="append one JSON line per row here")
    args = ap.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    server = None
    rows = []
    with tempfile.TemporaryDirectory(prefix="sweep-workers-") as tmp:
        tmp = Path(tmp)
        space = args.space
        if space is None:
            from anyshot.config import load_config

            space = tmp / "space.yaml"
            method = load_config(args.config).method.name
            space.write_text(yaml.safe_dump({"space": SPACES[method]}))
        storage = args.storage
        try:
            if storage is None:
                sys.path.insert(0, str(ROOT))
                from tests.integration.postgres import start_server

                server = start_server()
                storage = server.url(server.create_database())
            stamp = datetime.datetime.now().strftime("%H%M%S")
            for k in [int(w) for w in args.workers.split(",")]:
                study = f"workers-{k}-{stamp}"
                load = os.getloadavg()[0]
                wall = _run_workers(_split(args.trials, k), args, space, storage, study,
                                    tmp / study)
                rows.append(_row("PostgreSQL", k, wall, storage, study, load))
                print(f"{k} worker(s): {wall:.0f} s", flush=True)
            if not args.no_sqlite:
                load = os.getloadavg()[0]
                wall = _run_workers([args.trials], args, space, None, "sqlite", tmp / "sqlite")
                rows.append(_row("SQLite", 1, wall, f"sqlite:///{tmp / 'sqlite' / 'worker0'}"
                                 "/sweep.db", "sqlite", load))
                print(f"SQLite: {wall:.0f} s", flush=True)
        finally:
            if server is not None:
                server.stop()
    # Trials that drew the same values as the first row's study (trial n samples from (seed, n);
    # TPE's later proposals depend on which trials had finished, and so on timing).
    for r in rows:
        r["same_values"] = sum(r["params"].get(n) == v for n, v in rows[0]["params"].items())
    for r in rows:
        r["params"] = {str(n): v for n, v in r["params"].items()}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a") as fh:
            for r in rows:
                fh.write(json.dumps({"config": args.config, "seed": args.seed,
                                     "overrides": args.set, **r}) + "\n")
    print(f"config={args.config} trials={args.trials} seed={args.seed} overrides={args.set} "
          f"machine={platform.machine()} cpus={os.cpu_count()} "
          f"date={datetime.date.today().isoformat()}")
    metric = rows[0]["metric"] if rows else ""
    print(f"| storage | workers | trials | wall s | trials/min | trial span s | best {metric} "
          "| best trial | same values as row 1 | load at start |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['storage']} | {r['workers']} | {r['trials']} | {r['wall_s']:.0f} | "
              f"{r['trials_per_min']:.1f} | {r['span_s']:.0f} | {100 * r['best']:.2f} | "
              f"{r['best_trial']} | {r['same_values']}/{len(rows[0]['params'])} | "
              f"{r['load']:.1f} |")


if __name__ == "__main__":
    main()
