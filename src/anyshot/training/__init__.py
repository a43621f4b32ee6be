"""Training: :class:`Trainer` fits a generative method (the adversarial loop, its tensors,
prior fits, regularizers, weight average and checkpoints); :func:`fit` fits any method."""

from anyshot.training.trainer import Trainer, fit

__all__ = ["Trainer", "fit"]
