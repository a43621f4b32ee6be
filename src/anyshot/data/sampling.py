"""Class-balanced batches, drawn on the device without a Python loop over classes.

The B slots of a batch cycle through random permutations of the classes, so every class fills
about B / C slots (each one exactly once per C consecutive slots); each slot then takes a
uniformly random sample of its class. Samples are found through a class-sorted index built once:
class c owns ``order[starts[c] : starts[c] + counts[c]]``. Batch sampling lives in the data
layer (as episodic sampling does in easyfsl), below the methods that draw their batches with it.
"""

from __future__ import annotations

import torch

__all__ = ["ClassBalancedSampler", "cycled_choice", "cycled_classes", "local_index"]


def cycled_classes(n_classes: int, size: int, rng: torch.Generator, device: torch.device
                   ) -> torch.Tensor:
    """``size`` slots (size,) cycling through fresh random permutations of 0..n_classes-1 (one
    uniform draw per class and permutation, from ``rng``)."""
    reps = -(-size // n_classes)
    perms = torch.rand(reps, n_classes, generator=rng, device=device).argsort(dim=1)
    return perms.reshape(-1)[:size]


def cycled_choice(classes: torch.Tensor, size: int, rng: torch.Generator) -> torch.Tensor:
    """``size`` entries of ``classes`` (k,) cycling through their random permutations; ``classes``
    itself (no draw) when it is empty."""
    if not classes.numel():
        return classes
    return classes[cycled_classes(classes.numel(), size, rng, classes.device)]


def local_index(classes: torch.Tensor, n_rows: int) -> torch.Tensor:
    """(n_rows,) int64: the position of each global class index in ``classes`` (k,), -1 for the
    rows not among them, so ``local_index(classes, n)[y]`` turns classes y into 0..k-1."""
    lookup = torch.full((n_rows,), -1, dtype=torch.int64, device=classes.device)
    lookup[classes] = torch.arange(classes.numel(), device=classes.device)
    return lookup


class ClassBalancedSampler:
    """Draws class-balanced sample indices for labels (n,) in 0..n_classes-1.

    Slots cycle through permutations of the classes that have samples (a class without any is
    never picked); a slot's sample is ``order[starts[c] + floor(u * counts[c])]``, u ~ U[0, 1).
    """

    def __init__(self, labels: torch.Tensor, n_classes: int) -> None:
        counts = torch.bincount(labels, minlength=n_classes)
        self.order = torch.argsort(labels, stable=True)
        self.starts = torch.cumsum(counts, 0) - counts
        self.counts = counts
        self.classes = torch.nonzero(counts > 0).squeeze(1)

    def draw(self, size: int, rng: torch.Generator) -> torch.Tensor:
        """``size`` sample indices (size,): first the slots' classes, then one uniform draw per
        slot for its sample, both from ``rng``."""
        dev = self.order.device
        pick = self.classes[cycled_classes(self.classes.numel(), size, rng, dev)]
        offset = (torch.rand(size, generator=rng, device=dev) * self.counts[pick]).long()
        # u * count can round up to count in float32: clamp to the class's last sample
        return self.order[self.starts[pick] + torch.minimum(offset, self.counts[pick] - 1)]
