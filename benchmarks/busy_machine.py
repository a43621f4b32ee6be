"""``anyshot demo`` alone and beside one CPU-bound job, in one run, as a ratio of wall times.

    python benchmarks/busy_machine.py                       # automatic threads (the default)
    python benchmarks/busy_machine.py --threads 0 --threads auto   # every core vs automatic
    python benchmarks/busy_machine.py --out benchmarks/results/busy_machine.md

For each thread setting the demo runs as a fresh process alone, then beside one busy process (a
single-threaded Python loop in a session of its own, started before the demo and killed
after it), ``--repeat`` times in
alternation; the ratio of the median times, busy / alone, is what a user with one other job on
the machine sees. ``OMP_NUM_THREADS`` and
``MKL_NUM_THREADS`` are removed from the demo's environment: the demo must choose its threads
itself. The load average before each timing is recorded, since other users of a shared machine
count as busy jobs too.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUSY_LOOP = "while True:\n    pass\n"


def _demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["CI"] = "1"  # no progress bar
    return env


def time_demo(threads: str) -> float:
    """Wall seconds of one ``anyshot demo --device cpu`` process (start-up included)."""
    cmd = [sys.executable, "-m", "anyshot.cli", "demo", "--device", "cpu"]
    if threads != "auto":
        cmd += ["--threads", threads]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=_demo_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


def measure(threads: str, repeat: int = 1) -> dict:
    """The demo alone and beside one busy process, alternating ``repeat`` times; returns the
    median times, their ratio and the mean load averages before the timings."""
    alone, beside, load_alone, load_busy = [], [], [], []
    for _ in range(repeat):
        load_alone.append(os.getloadavg()[0])
        alone.append(time_demo(threads))
        # A session of its own, as a job started from another terminal: with the kernel's
        # autogroup scheduling, a child in the demo's session would split the demo's CPU share.
        busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP], start_new_session=True)
        try:
            time.sleep(1.0)  # let the busy job reach full speed
            load_busy.append(os.getloadavg()[0])
            beside.append(time_demo(threads))
        finally:
            busy.kill()
            busy.wait()
    a, b = statistics.median(alone), statistics.median(beside)
    return {"threads": threads, "repeat": repeat, "alone_s": round(a, 1),
            "beside_one_job_s": round(b, 1), "ratio": round(b / a, 2),
            "load_before_alone": round(statistics.mean(load_alone), 2),
            "load_before_busy": round(statistics.mean(load_busy), 2),
            "alone_all_s": [round(x, 1) for x in alone],
            "beside_all_s": [round(x, 1) for x in beside]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", action="append",
                        help="demo thread setting: auto (default), 0 (every core) or N; repeatable")
    parser.add_argument("--repeat", type=int, default=1, help="alone/busy pairs per setting")
    parser.add_argument("--out", type=Path, help="write a Markdown table here (+ .jsonl beside it)")
    args = parser.parse_args()
    rows = [measure(t, args.repeat) for t in (args.threads or ["auto"])]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    machine = f"{platform.processor() or platform.machine()}, {cores} cores"
    date = datetime.date.today().isoformat()
    lines = [f"# anyshot demo beside one CPU-bound job ({machine}, {date})", "",
             "`python benchmarks/busy_machine.py " + " ".join(
                 [f"--threads {t}" for t in (args.threads or [])]
                 + [f"--repeat {args.repeat}"]) + "`", "",
             "| demo threads | alone (s) | beside one busy job (s) | ratio | load avg before "
             "(alone / busy) | all timings alone ; beside (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['threads']} | {r['alone_s']} | {r['beside_one_job_s']} | "
                     f"{r['ratio']} | {r['load_before_alone']} / {r['load_before_busy']} | "
                     f"{', '.join(map(str, r['alone_all_s']))} ; "
                     f"{', '.join(map(str, r['beside_all_s']))} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
        args.out.with_suffix(".jsonl").write_text(
            "".join(json.dumps({**r, "machine": machine, "date": date}) + "\n" for r in rows))


if __name__ == "__main__":
    main()
