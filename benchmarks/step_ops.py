"""Ops dispatched and host syncs per training step of the generative methods, on CPU.

A training step here is one generator step with its ``critic_iter`` critic steps. The counts
come from a :class:`~torch.utils._python_dispatch.TorchDispatchMode` around ``fit``: two fits
that differ by a known number of epochs are counted, and the difference is divided by the
number of steps it adds, so one-off work (building networks, k-means, pretraining) and the
per-epoch read of the logs cancel out. ``aten._local_scalar_dense`` is the op behind every
``.item()``, ``float(tensor)`` and ``if tensor:``; on a GPU each one waits for the device.

Only the public ``fit`` is used, so the same script measures any revision of the library:

    PYTHONPATH=src python benchmarks/step_ops.py            # this tree
    PYTHONPATH=/path/to/other/src python benchmarks/step_ops.py
    PYTHONPATH=src python benchmarks/step_ops.py --device cuda   # the same counts on a GPU
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from anyshot.data.synthetic import make_synthetic
from anyshot.methods import make_method
from anyshot.objectives import make_objective

SYNC_OP = "aten._local_scalar_dense.default"

#: Small networks: op counts do not depend on widths, and the script stays quick.
CONFIGS = {
    "clswgan": dict(batch_size=32, hidden=32, critic_hidden=32, critic_iter=5,
                    pretrain=dict(epochs=1)),
    "srwgan": dict(batch_size=32, nz=8, latent=16, hidden=32, k=0, critic_iter=5,
                   loss_syn_num=3, kmeans_iters=2),
}
OBJECTIVES = ("wgan-gp", "wgan", "ebgan")


class OpCounter(TorchDispatchMode):
    """Counts every aten op dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func)] += 1
        return func(*args, **(kwargs or {}))


def count_fit(method: str, objective: str, epochs: int, data, device: str) -> Counter[str]:
    m = make_method(method, {**CONFIGS[method], "epochs": epochs},
                    objective=make_objective(objective), device=device, seed=0)
    with OpCounter() as counter:
        m.fit(data)
    return counter.ops


def per_step(method: str, objective: str, data, device: str) -> dict[str, float]:
    """Ops and syncs per generator step (with its critic steps) over two extra epochs."""
    steps = math.ceil(len(data.trainval) / CONFIGS[method]["batch_size"])
    one = count_fit(method, objective, 1, data, device)
    three = count_fit(method, objective, 3, data, device)
    extra = 2 * steps
    ops = (sum(three.values()) - sum(one.values())) / extra
    syncs = (three[SYNC_OP] - one[SYNC_OP]) / extra
    return {"ops_per_step": round(ops, 1), "syncs_per_step": round(syncs, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--json", help="also write the table to this JSON file")
    parser.add_argument("--fused-cpu-adam", action="store_true",
                        help="fuse Adam on the CPU as on a GPU (the library fuses it on CUDA only)")
    args = parser.parse_args()
    if args.fused_cpu_adam:
        import anyshot.objectives.base as objectives_base

        # Adam fused on the CPU too, as it is on a GPU (the CPU default reads its step count
        # with .item(), which costs nothing on a CPU).
        objectives_base.FUSED_DEVICES = ("cpu", "cuda")
    torch.set_num_threads(1)
    data = make_synthetic(n_classes=10, n_unseen=3, n_features=32, n_attributes=8,
                          samples_per_class=20, seed=0)
    rows = {}
    print(f"{'method':10s} {'objective':9s} {'ops/step':>9s} {'syncs/step':>11s}")
    for method in CONFIGS:
        for objective in OBJECTIVES:
            r = per_step(method, objective, data, args.device)
            rows[f"{method}/{objective}"] = r
            print(f"{method:10s} {objective:9s} {r['ops_per_step']:9.1f} "
                  f"{r['syncs_per_step']:11.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
