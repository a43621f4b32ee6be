"""CUDA-graph capture of the training steps (``cuda_graphs: true``): a critic or generator step
replays one captured graph instead of launching its few hundred kernels one by one.

A step can be captured because it never waits for the host: batches, noise and penalties draw
from the training generator on the device, the logs stay device tensors, and the dual-ascent
multiplier and the weight average are updated in place on the device
(tests/unit/test_step_syncs.py shows zero host syncs per step). What capture adds:

- the optimizers are built ``capturable`` (their step counts live on the device);
- the training random generator is registered with every graph, so each replay draws fresh
  numbers from it (the same numbers for the same seed);
- autocast runs without its cast cache, as graphs require;
- each kind of step runs eagerly ``WARMUP`` times, on a side stream as CUDA asks, before it is
  captured; the generator step is captured once per phase of the model
  (``step_phase(epoch)``: SRWGAN's unseen-entropy term switches on after epoch k).

Capture is tried on CUDA only. On another device, with a torch that cannot register a custom
generator with a graph, or when capture itself fails, training warns once and runs the same
steps eagerly. Replayed steps compute the same equations as eager ones; their numbers need not
match eager ones bit for bit, and are deterministic for a seed on one device.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Callable, Hashable

import torch

__all__ = ["StepGraphs", "WARMUP", "graphs_unavailable"]

WARMUP = 3
"""Eager runs of each kind of step before it is captured."""

Step = Callable[[], dict[str, torch.Tensor]]


def graphs_unavailable(device: torch.device) -> str | None:
    """Why training steps cannot be captured on ``device`` (``None``: they can)."""
    if device.type != "cuda":
        return f"CUDA graphs need a CUDA device; training runs on {device.type}"
    if not torch.cuda.is_available():
        return "CUDA graphs need CUDA, and this torch sees no CUDA device"
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        return ("this torch cannot register a custom random generator with a CUDA graph "
                "(torch.cuda.CUDAGraph.register_generator_state)")
    return None


class StepGraphs:
    """Captures and replays training steps by key (``"critic"``, ``("generator", phase)``).

    :meth:`run` is called with the key and the eager step; it returns the step's logs. Once a
    key is captured, its logs are the graph's static output tensors, overwritten by the next
    replay of that key: read them (``LogSums.add`` stacks them) before the next one.
    """

    def __init__(self, device: torch.device, generators: tuple[torch.Generator, ...]) -> None:
        self.device = device
        self.generators = generators
        self.reason = graphs_unavailable(device)
        self.graphs: dict[Hashable, torch.cuda.CUDAGraph] = {}
        self.outputs: dict[Hashable, dict[str, torch.Tensor]] = {}
        self.eager_runs: Counter = Counter()
        if self.reason is not None:
            warnings.warn(f"cuda_graphs is on, but {self.reason}: the steps run eagerly.",
                          RuntimeWarning, stacklevel=3)

    @property
    def active(self) -> bool:
        return self.reason is None

    def run(self, key: Hashable, step: Step) -> dict[str, torch.Tensor]:
        if self.reason is not None:
            return step()
        graph = self.graphs.get(key)
        if graph is not None:
            graph.replay()
            return self.outputs[key]
        if self.eager_runs[key] < WARMUP:
            self.eager_runs[key] += 1
            return self._side_stream(step)
        try:
            graph = torch.cuda.CUDAGraph()
            for generator in self.generators:
                graph.register_generator_state(generator)
            # Each graph keeps its own memory pool: critic and generator graphs replay
            # interleaved (5 to 1), not in the order they were captured, so they do not share.
            with torch.cuda.graph(graph):
                out = step()
        except Exception as err:  # capture is an optimisation: never lose a run to it
            self.reason = f"capturing the {key} step failed ({type(err).__name__}: {err})"
            warnings.warn(f"cuda_graphs: {self.reason}; training goes on eagerly.",
                          RuntimeWarning, stacklevel=3)
            torch.cuda.synchronize(self.device)
            return step()
        self.graphs[key] = graph
        self.outputs[key] = out
        graph.replay()  # capture records the step without running it
        return out

    def _side_stream(self, step: Step) -> dict[str, torch.Tensor]:
        current = torch.cuda.current_stream(self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(current)
        with torch.cuda.stream(side):
            out = step()
        current.wait_stream(side)
        return out
