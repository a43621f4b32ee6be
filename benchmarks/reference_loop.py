"""A straightforward per-class-loop SRWGAN: the timing reference for benchmarks/perf.py.

:class:`LoopSRWGAN` is anyshot's SRWGAN with its vectorized per-class computations replaced by
the Python loops that a direct transcription of the method uses (one iteration per class):

* batches: samples of each class in the batch drawn class by class;
* class means of codes and features: one boolean-mask mean per class;
* per-sample prototype term: distances to all C * n prototypes, then the nearest prototype of
  each class found class by class, then the own class picked;
* class-mean prototype term: the (C * num, m) attribute matrix and a (C, C * num) averaging
  matrix filled class by class, distances to all prototypes, minima class by class;
* synthesis for the final classifier: one generator call per class.

Everything else (networks, objective, loss weights, optimizers, training loop) is the library's
own code, so the two implementations train the same model with the same step. Each loop helper
returns the same values as its vectorized counterpart on the same inputs (tested in
tests/unit/test_reference_loop.py); the random draws of batches and noise come in a different
order, so single runs are not bit-identical.

Not part of the package and not for training real models: it exists to be timed against.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import torch

import anyshot.methods.srwgan_terms as srwgan_terms
import anyshot.objectives.bias_elimination as bias_elimination
import anyshot.objectives.class_mean_classification as class_mean_classification
from anyshot.methods.srwgan import SRWGAN, RefinementBatch
from anyshot.methods.srwgan_terms import MeanPrototypes
from anyshot.utils import stream_generator

__all__ = ["LoopSRWGAN", "loop_class_means", "loop_mean_prototype_distance",
           "loop_nearest_prototype_distance"]


def loop_class_means(codes: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Per-class means, one boolean mask per class (zeros for a class absent from the batch)."""
    out = torch.zeros(n_classes, codes.shape[1], dtype=codes.dtype, device=codes.device)
    rows = []
    for c in range(n_classes):
        mask = labels == c
        rows.append(codes[mask].mean(dim=0) if bool(mask.any()) else out[c])
    return torch.stack(rows)


def _pairwise_sq_dist(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return ((x * x).sum(1, keepdim=True) + (p * p).sum(1)[None, :] - 2.0 * x @ p.T).clamp(min=0)


def _nearest_in_each_class(dist: torch.Tensor, n_classes: int, n_proto: int) -> torch.Tensor:
    """dist (n, C * n_proto) -> column index of the nearest prototype of every class (n, C)."""
    idx = torch.zeros(dist.shape[0], n_classes, dtype=torch.int64, device=dist.device)
    for c in range(n_classes):
        block = dist.detach()[:, c * n_proto:(c + 1) * n_proto]
        idx[:, c] = block.argmin(dim=1) + c * n_proto
    return idx


def loop_nearest_prototype_distance(x: torch.Tensor, y: torch.Tensor, prototypes: torch.Tensor
                                    ) -> torch.Tensor:
    """min_j ||x_i - P_{y_i, j}||^2 via all distances and a loop over classes."""
    C, n, d = prototypes.shape
    dist = _pairwise_sq_dist(x, prototypes.reshape(C * n, d))
    nearest = _nearest_in_each_class(dist, C, n)
    return dist.gather(1, nearest).gather(1, y[:, None]).squeeze(1)


def loop_mean_prototype_distance(samples: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """The class-mean prototype term with an averaging matrix filled class by class."""
    C, k, d = samples.shape
    flat = samples.reshape(C * k, d)
    labels = torch.arange(C, device=samples.device).repeat_interleave(k)
    average = torch.zeros(C, C * k, dtype=samples.dtype, device=samples.device)
    for c in range(C):
        members = torch.nonzero(labels == c).squeeze(1)
        average[c, members] = 1.0 / members.numel()
    means = average @ flat
    return loop_nearest_prototype_distance(means, torch.arange(C, device=samples.device),
                                           prototypes)


# Where SRWGAN's terms look its vectorized helpers up: (module, name) -> loop version.
_LOOPS = {(srwgan_terms, "class_means"): loop_class_means,
          (class_mean_classification, "class_means"): loop_class_means,
          (bias_elimination, "nearest_prototype_distance"): loop_nearest_prototype_distance,
          (bias_elimination, "mean_prototype_distance"): loop_mean_prototype_distance}


@contextlib.contextmanager
def _loop_helpers() -> Iterator[None]:
    """Swap SRWGAN's vectorized helpers for the loop versions while the block runs."""
    saved = {(module, name): getattr(module, name) for module, name in _LOOPS}
    try:
        for (module, name), fn in _LOOPS.items():
            setattr(module, name, fn)
        yield
    finally:
        for (module, name), fn in saved.items():
            setattr(module, name, fn)


def _looped(term):
    """``term`` run with the loop helpers in place of the vectorized ones."""
    def run(step):
        with _loop_helpers():
            return term(step)
    return run


class _RebuiltAttributes(MeanPrototypes):
    """The class-mean prototype term with its attribute matrix rebuilt by ``rebuild`` per call."""

    def __init__(self, term: MeanPrototypes, rebuild) -> None:
        super().__init__(term.generator, term.attributes, term.per_class, term.prototypes,
                         term.rng, term.weight)
        self.rebuild = rebuild

    def __call__(self, step):
        self.attributes = self.rebuild()
        return super().__call__(step)


class LoopSRWGAN(SRWGAN):
    """SRWGAN with per-class Python loops in batching, the generator terms and synthesis."""

    name = "srwgan-loop"  # not registered: benchmarks build it directly

    @property
    def seen_attr_rep_(self) -> torch.Tensor:
        """Attributes of loss_syn_num samples per seen class, rebuilt class by class each step."""
        num = self.config.loss_syn_num
        classes = self.train_classes_
        out = torch.empty(classes.numel() * num, self.A_.shape[1], device=self.A_.device)
        for i in range(classes.numel()):
            out[i * num:(i + 1) * num] = self.A_[classes[i]].repeat(num, 1)
        return out

    @seen_attr_rep_.setter
    def seen_attr_rep_(self, value: torch.Tensor) -> None:  # _prepare's precomputed copy is unused
        pass

    def sample_batch(self) -> RefinementBatch:
        B, dev, rng, sampler = self.config.batch_size, self.device, self.rng_, self.sampler_
        n_cls = sampler.classes.numel()
        slots = torch.cat([torch.randperm(n_cls, generator=rng, device=dev)
                           for _ in range(-(-B // n_cls))])[:B]
        pick = sampler.classes[slots]
        idx = torch.empty(B, dtype=torch.int64, device=dev)
        for c in range(sampler.counts.numel()):  # class by class
            where = torch.nonzero(pick == c).squeeze(1)
            if where.numel():
                offset = torch.randint(int(sampler.counts[c]), (where.numel(),), generator=rng,
                                       device=dev)
                idx[where] = sampler.order[sampler.starts[c] + offset]
        y = self.y_train_[idx]
        n_unseen = self.unseen_classes_.numel()
        if n_unseen:
            yu = self.unseen_classes_[torch.cat([torch.randperm(n_unseen, generator=rng, device=dev)
                                                 for _ in range(-(-B // n_unseen))])[:B]]
        else:
            yu = self.unseen_classes_
        return RefinementBatch(self.X_train_[idx], y, self.A_[y], yu, self.A_[yu])

    def generate_for_training(self, batch, epoch):
        with _loop_helpers():
            return super().generate_for_training(batch, epoch)

    def _set_terms(self) -> None:
        super()._set_terms()
        self.generator_terms_ = tuple(
            _looped(_RebuiltAttributes(term, lambda: self.seen_attr_rep_)
                    if isinstance(term, MeanPrototypes) else term)
            for term in self.generator_terms_)

    @torch.no_grad()
    def synthesize(self, classes, n_per_class, *, seed=None):
        """One generator call per class."""
        rng = stream_generator(self.seed if seed is None else seed, "synthesis", self.device)
        self.generator_.eval()
        parts_x, parts_y = [], []
        for c in np.asarray(classes, dtype=np.int64):
            a = self.A_[int(c)].repeat(int(n_per_class), 1)
            parts_x.append(self.generate(a, rng))
            parts_y.append(torch.full((int(n_per_class),), int(c), dtype=torch.int64,
                                      device=self.device))
        self.generator_.train()
        return torch.cat(parts_x), torch.cat(parts_y)
