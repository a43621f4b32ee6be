"""Training and evaluation speed at the FLO shape, against the per-class-loop reference; how
training time grows with the number of classes and the feature dimension; how much of a step is
matrix products (and so how fast any implementation could be); and what torch.compile gives.

    python benchmarks/perf.py flo      [--device cpu|cuda] [--threads N] [--out FILE.md]
    python benchmarks/perf.py scaling  [--device cpu|cuda] [--classes 20,100,500,2000]
                                       [--dims 512,1024,2048] [--out FILE.md]
    python benchmarks/perf.py roofline [--device cpu|cuda] [--bf16] [--out FILE.md]
    python benchmarks/perf.py compile  [--device cpu|cuda] [--out FILE.md]

Data: the synthetic benchmark drawn at the requested shape (FLO: 102 classes of which 20 unseen,
80 samples per class = 8,160 x 2,048 features, 1,024-d attributes; 82 x 64 = 5,248 training
samples), min-max scaled like the real presets. Hyperparameters: the official FLO presets
(srwgan/flo, clswgan/flo). ``--batch-size`` overrides the preset's batch (SRWGAN's is 2048,
f-CLSWGAN's paper value is 64).

Each case runs in a fresh subprocess, so its peak resident memory (ru_maxrss) is its own; on
CUDA the peak allocated GPU memory is reported too. Timings:

* s/epoch: one full training epoch (ceil(n_train / B) generator steps, each with critic_iter
  critic steps), after one warm-up step; all SRWGAN terms on (epoch > k). ``flo`` runs its
  cases round-robin ``--repeat`` times (default 2) and keeps each case's fastest epoch and
  evaluation.
* eval s: one evaluation, ZSL + GZSL: synthesize syn_num features per unseen class, encode,
  train the final classifier (twice) and classify the test sets.

``roofline`` asks how fast any implementation of the same SRWGAN step could be on this machine.
It runs one generator step (5 critic steps + 1 generator step) of each implementation under a
dispatch mode that records every matrix product (aten.mm / aten.addmm / aten.bmm: shapes, dtype,
FLOPs), times the step, then replays exactly those products alone on random tensors of the same
shapes and dtypes. The replay time is a lower bound on the step for any code that computes the
same products, so ``loop step / vectorized replay`` bounds the speed-up that removing Python
loops (or any other overhead) can buy at that arithmetic.

``compile`` times SRWGAN's feature MLP (G's [z_1..z_3, a] -> 4096 -> 2048 network at the FLO
preset), forward and backward on a batch of 2048, eager against ``torch.compile`` (default mode):
the first compiled call (a cold compilation included: inductor's caches are off), then the mean
of later calls.

Cases: ``vectorized`` is anyshot; ``loop`` is benchmarks/reference_loop.py (the same SRWGAN step
with per-class Python loops), measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLO_SHAPE = {"n_classes": 102, "n_unseen": 20, "n_features": 2048, "n_attributes": 1024,
             "samples_per_class": 80}


# ---------------------------------------------------------------------------- one case (child)
def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_case(spec: dict) -> dict:
    """Build data and a method as ``spec`` says, time training steps and one evaluation."""
    import torch

    from anyshot.config import load_config
    from anyshot.data.synthetic import make_synthetic
    from anyshot.data.transforms import scale_features
    from anyshot.evaluation.scoring import evaluate
    from anyshot.experiment import build_method
    from anyshot.training import fit
    from anyshot.training.graphs import WARMUP

    torch.set_num_threads(spec["threads"])
    overrides = {"device": spec["device"], "method.params.amp": spec["amp"],
                 "method.params.cuda_graphs": bool(spec.get("graphs"))}
    if spec.get("batch_size"):
        overrides["method.params.batch_size"] = spec["batch_size"]
    cfg = load_config(f"{spec['method']}/flo", overrides)
    shape = {k: spec[k] for k in FLO_SHAPE}
    data = scale_features(make_synthetic(**shape, seed=0), "minmax")
    if spec["impl"] == "loop":
        sys.path.insert(0, str(HERE))
        from reference_loop import LoopSRWGAN

        template = build_method(cfg, 0)
        method = LoopSRWGAN(template.config, objective=template.objective,
                            device=template.device, seed=0)
    else:
        method = build_method(cfg, 0)
    dev = method.device
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    fit(method, data, epochs=0)  # networks, optimizers and one-off work (prototypes, pretraining)
    _sync(dev)
    prepare_s = time.perf_counter() - t0
    B = method.config.batch_size
    n_train = int(data.trainval.size)
    steps_per_epoch = math.ceil(n_train / B)
    epoch_no = int(getattr(method.config, "k", 0)) + 1  # every term of the method is on
    # warm-up (allocator, kernels; with CUDA graphs, the eager runs before capture and capture)
    method.trainer_.train_epoch(epoch_no, WARMUP + 1 if spec.get("graphs") else 1)
    _sync(dev)
    if spec.get("roofline"):
        return {**spec, **roofline_case(method, epoch_no, dev)}
    steps = spec.get("steps") or steps_per_epoch
    t0 = time.perf_counter()
    method.trainer_.train_epoch(epoch_no, steps)
    _sync(dev)
    step_s = (time.perf_counter() - t0) / steps
    out = {**spec, "batch": B, "n_train": n_train, "steps_per_epoch": steps_per_epoch,
           "prepare_s": prepare_s, "step_s": step_s, "epoch_s": step_s * steps_per_epoch,
           "timed_steps": steps,
           "samples_per_s": B * method.config.critic_iter / step_s,
           "graphs_active": bool(method.trainer_.graphs and method.trainer_.graphs.active)}
    if spec.get("eval", True):
        t0 = time.perf_counter()
        metrics = evaluate(method, data, ["zsl", "gzsl"])
        _sync(dev)
        out["eval_s"] = time.perf_counter() - t0
        out["metrics"] = metrics
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if dev.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
        out["gpu"] = torch.cuda.get_device_name(dev)
    return out


# ---------------------------------------------------------------------------- roofline (child)
def _gemm_recorder():
    """A dispatch mode recording (op, operand shapes, dtype, FLOPs) of every matrix product."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    products = {torch.ops.aten.mm, torch.ops.aten.addmm, torch.ops.aten.bmm}

    class Recorder(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            packet = func._overloadpacket
            if packet in products:
                flops = flop_registry[packet](*args, **kwargs, out_val=out)
                operands = tuple(a for a in args if isinstance(a, torch.Tensor))
                self.calls.append((str(packet), tuple(tuple(a.shape) for a in operands),
                                   out.dtype, int(flops)))
            return out

    return Recorder()


def _replay_gemms(calls: list[tuple], device) -> float:
    """Seconds to run the recorded products alone (operands made once, outside the timing)."""
    import torch

    gen = torch.Generator(device=device).manual_seed(0)
    made = []
    for op, shapes, dtype, _ in calls:
        made.append((op, [torch.randn(s, generator=gen, device=device).to(dtype) for s in shapes]))
    fns = {"aten.mm": torch.mm, "aten.bmm": torch.bmm, "aten.addmm": torch.addmm}
    for op, ts in made[:8]:  # warm-up
        fns[op](*ts)
    _sync(device)
    t0 = time.perf_counter()
    for op, ts in made:
        fns[op](*ts)
    _sync(device)
    return time.perf_counter() - t0


def roofline_case(method, epoch_no: int, device) -> dict:
    """FLOPs and matrix products of one generator step, its time (the faster of two), and the
    products' replay time (the faster of two)."""
    rec = _gemm_recorder()
    with rec:
        method.trainer_.train_epoch(epoch_no, 1)
    step_s = math.inf
    for _ in range(2):  # the faster of two timed steps
        t0 = time.perf_counter()
        method.trainer_.train_epoch(epoch_no, 1)
        _sync(device)
        step_s = min(step_s, time.perf_counter() - t0)
    replay_s = min(_replay_gemms(rec.calls, device) for _ in range(2))
    return {"gflop_per_step": sum(c[3] for c in rec.calls) / 1e9, "gemms_per_step": len(rec.calls),
            "step_s": step_s, "gemm_replay_s": replay_s}


# ---------------------------------------------------------------------------- compile (child)
def compile_case(spec: dict) -> dict:
    """Eager vs torch.compile on G's feature MLP at the FLO preset, forward + backward."""
    os.environ["TORCHINDUCTOR_FORCE_DISABLE_CACHES"] = "1"  # time a cold compile
    import torch

    from anyshot.config import load_config
    from anyshot.nn.refinement import SemanticRefinementGenerator

    torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    p = load_config("srwgan/flo", {}).method.params
    torch.manual_seed(0)
    G = SemanticRefinementGenerator(spec["n_attributes"], p["nz"], p["hidden"],
                                    spec["n_features"]).to(device)
    net = G.net if spec["impl"] == "eager" else torch.compile(G.net)
    x = torch.randn(p["batch_size"], G.net[0].in_features, device=device)

    def call() -> float:
        t0 = time.perf_counter()
        net(x).square().mean().backward()
        _sync(device)
        return time.perf_counter() - t0

    first = call()
    later = [call() for _ in range(spec["calls"])]
    return {**spec, "first_call_s": first, "call_s": sum(later) / len(later)}


# ---------------------------------------------------------------------------- driver (parent)
def spawn(spec: dict) -> dict:
    """Run one case in a fresh interpreter and return its JSON result."""
    proc = subprocess.run([sys.executable, __file__, "case", json.dumps(spec)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"case {spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine(device: str, threads: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{cpu}, {os.cpu_count()} logical cores ({threads} torch threads), device {device}, "
            f"torch {torch.__version__}, Python {platform.python_version()}, "
            f"{dt.date.today().isoformat()}")


def flo(args) -> list[str]:
    base = {**FLO_SHAPE, "device": args.device, "threads": args.threads, "amp": "none",
            "batch_size": args.batch_size}
    cases = [
        {**base, "method": "srwgan", "impl": "vectorized"},
        {**base, "method": "srwgan", "impl": "loop"},
        {**base, "method": "clswgan", "impl": "vectorized"},
    ]
    if args.bf16:
        cases.append({**base, "method": "srwgan", "impl": "vectorized", "amp": "bf16"})
    if args.graphs:
        cases += [{**base, "method": m, "impl": "vectorized", "graphs": True}
                  for m in ("srwgan", "clswgan")]
    lines = [f"machine: {machine(args.device, args.threads)}", "",
             "| method | implementation | amp | CUDA graphs | batch | s/epoch | samples/s (critic) "
             "| eval s | peak RSS MB | peak GPU MB | ZSL | GZSL H |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    # Cases run round-robin ``--repeat`` times; each row keeps its fastest repeat (the first
    # process after a quiet spell runs a few percent slower, whichever case it is).
    runs = [[] for _ in cases]
    for _ in range(args.repeat):
        for i, spec in enumerate(cases):
            runs[i].append(spawn(spec))
    results = []
    for reps in runs:
        r = dict(min(reps, key=lambda x: x["epoch_s"]))
        r["eval_s"] = min(x["eval_s"] for x in reps)
        r["repeats_epoch_s"] = [x["epoch_s"] for x in reps]
        results.append(r)
        m = r.get("metrics", {})
        graphed = ("off" if not r.get("graphs") else
                   "on" if r.get("graphs_active") else "fell back")
        row = (f"| {r['method']} | {r['impl']} | {r['amp']} | {graphed} "
               f"| {r.get('batch', 'preset')} "
               f"| {r['epoch_s']:.2f} | {r['samples_per_s']:.0f} | {r['eval_s']:.2f} "
               f"| {r['peak_rss_mb']:.0f} | {r.get('peak_gpu_mb', float('nan')):.0f} "
               f"| {m.get('zsl', float('nan')):.3f} | {m.get('gzsl_h', float('nan')):.3f} |")
        _emit(lines, row)
    vec = next(r for r in results if r["method"] == "srwgan" and r["impl"] == "vectorized")
    loop = next(r for r in results if r["impl"] == "loop")
    lines += ["", f"SRWGAN epoch speed-up over the loop reference: "
                  f"{loop['epoch_s'] / vec['epoch_s']:.2f}x; evaluation: "
                  f"{loop['eval_s'] / vec['eval_s']:.2f}x. (ZSL / GZSL H after one epoch only "
                  "show that both paths run end to end; they are not results.)"]
    _write(args, lines, results)
    return lines


def scaling(args) -> list[str]:
    base = {**FLO_SHAPE, "device": args.device, "threads": args.threads, "amp": "none",
            "method": "srwgan", "eval": False, "steps": args.steps, "batch_size": args.batch_size}
    lines = [f"machine: {machine(args.device, args.threads)}", "",
             f"SRWGAN, FLO preset, batch {args.batch_size or 2048}, {args.samples} samples per "
             f"class, 20% unseen classes; seconds per generator step (5 critic steps + 1 "
             f"generator step, mean of {args.steps} after a warm-up step) and per epoch "
             "(steps per epoch x s/step).", "",
             "| classes | feature dim | attr dim | n_train | s/step vectorized | s/step loop "
             "| loop / vectorized | s/epoch vectorized | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    grid = [(c, 2048) for c in args.classes] + [(102, d) for d in args.dims if d != 2048]
    results = []
    for n_classes, dim in grid:
        spec = {**base, "n_classes": n_classes, "n_unseen": max(1, n_classes // 5),
                "n_features": dim, "samples_per_class": args.samples}
        vec = spawn({**spec, "impl": "vectorized"})
        loop = spawn({**spec, "impl": "loop"}) if n_classes <= args.loop_max_classes else None
        results += [r for r in (vec, loop) if r]
        loop_s = f"{loop['step_s']:.3f}" if loop else "not run"
        ratio = f"{loop['step_s'] / vec['step_s']:.2f}x" if loop else "-"
        row = (f"| {n_classes} | {dim} | {spec['n_attributes']} | {vec['n_train']} "
               f"| {vec['step_s']:.3f} | {loop_s} | {ratio} | {vec['epoch_s']:.1f} "
               f"| {vec['peak_rss_mb']:.0f} |")
        _emit(lines, row)
    _write(args, lines, results)
    return lines


def roofline(args) -> list[str]:
    base = {**FLO_SHAPE, "device": args.device, "threads": args.threads, "amp": "none",
            "method": "srwgan", "batch_size": args.batch_size, "roofline": True}
    cases = [{**base, "impl": "vectorized"}, {**base, "impl": "loop"}]
    if args.bf16:
        cases.append({**base, "impl": "vectorized", "amp": "bf16"})
    lines = [f"machine: {machine(args.device, args.threads)}", "",
             "SRWGAN at the FLO shape, one generator step (5 critic steps + 1 generator step, "
             "all terms on). Replay: the step's own matrix products run alone.", "",
             "| implementation | amp | GFLOP/step | products/step | step s | replay s "
             "| products' share | GFLOP/s |",
             "|---|---|---|---|---|---|---|---|"]
    results = [spawn(spec) for spec in cases]
    for r in results:
        row = (f"| {r['impl']} | {r['amp']} | {r['gflop_per_step']:.0f} | {r['gemms_per_step']} "
               f"| {r['step_s']:.2f} | {r['gemm_replay_s']:.2f} "
               f"| {r['gemm_replay_s'] / r['step_s']:.0%} "
               f"| {r['gflop_per_step'] / r['step_s']:.0f} |")
        _emit(lines, row)
    vec, loop = results[0], results[1]
    lines += ["", f"Measured speed-up over the loop reference (float32): "
                  f"{loop['step_s'] / vec['step_s']:.2f}x. Upper bound for any float32 "
                  f"implementation computing the same products: loop step / vectorized replay = "
                  f"{loop['step_s'] / vec['gemm_replay_s']:.2f}x."]
    if args.bf16:
        bf = results[2]
        lines.append(f"bf16 autocast: {loop['step_s'] / bf['step_s']:.2f}x over the float32 loop "
                     f"reference (bound {loop['step_s'] / bf['gemm_replay_s']:.2f}x).")
    _write(args, lines, results)
    return lines


def compile_(args) -> list[str]:
    base = {**FLO_SHAPE, "device": args.device, "threads": args.threads, "compile": True,
            "calls": 5}
    lines = [f"machine: {machine(args.device, args.threads)}", "",
             "SRWGAN's feature MLP at the FLO preset (1,624 -> 4,096 -> 2,048, LeakyReLU, ReLU "
             "out), forward + backward of a batch of 2,048; later calls: mean of 5.", "",
             "| mode | first call s (incl. compile) | later calls s |", "|---|---|---|"]
    results = [spawn({**base, "impl": impl}) for impl in ("eager", "compiled")]
    for r in results:
        row = f"| {r['impl']} | {r['first_call_s']:.2f} | {r['call_s']:.3f} |"
        _emit(lines, row)
    eager, comp = results
    lines += ["", f"torch.compile / eager, later calls: {comp['call_s'] / eager['call_s']:.2f}x "
                  "the time."]
    _write(args, lines, results)
    return lines


def _emit(lines: list[str], row: str) -> None:
    """Add a table row to the report and show it as soon as it is measured."""
    lines.append(row)
    print(row, flush=True)


def _write(args, lines: list[str], results: list[dict]) -> None:
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        cmd = "python benchmarks/perf.py " + " ".join(sys.argv[1:])
        args.out.write_text("\n".join([f"command: `{cmd}`", *lines]) + "\n")
        args.out.with_suffix(".jsonl").write_text(
            "".join(json.dumps(r, sort_keys=True) + "\n" for r in results))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "case":
        spec = json.loads(sys.argv[2])
        result = compile_case(spec) if spec.get("compile") else run_case(spec)
        print(json.dumps(result, sort_keys=True))
        return
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["flo", "scaling", "roofline", "compile"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--bf16", action="store_true", help="also time SRWGAN with amp=bf16")
    ap.add_argument("--graphs", action="store_true",
                    help="also time SRWGAN and f-CLSWGAN with cuda_graphs on")
    ap.add_argument("--repeat", type=int, default=2, help="round-robin repeats of the FLO cases")
    ap.add_argument("--classes", type=lambda s: [int(v) for v in s.split(",")],
                    default=[20, 100, 500, 2000])
    ap.add_argument("--dims", type=lambda s: [int(v) for v in s.split(",")],
                    default=[512, 1024, 2048])
    ap.add_argument("--samples", type=int, default=40, help="samples per class (scaling)")
    ap.add_argument("--steps", type=int, default=2, help="timed generator steps (scaling)")
    ap.add_argument("--loop-max-classes", type=int, default=2000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    {"flo": flo, "scaling": scaling, "roofline": roofline, "compile": compile_}[args.what](args)


if __name__ == "__main__":
    main()
