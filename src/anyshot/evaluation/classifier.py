"""The final softmax classifier trained on real and/or synthetic features.

    p(c | x) = softmax(W x + b)_c,   trained by minimising cross-entropy with Adam.

It is trained for a fixed number of epochs (no selection on test data), in minibatches or, with
``batch_size: null``, full-batch (one Adam step per epoch on all rows at once: a few large
kernels instead of thousands of small steps; give it more epochs and a larger lr). Labels are
local indices 0..K-1 into the list of candidate classes it was built for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from anyshot.nn.init import init_weights
from anyshot.utils import make_generator

__all__ = ["SoftmaxClassifier", "ClassifierConfig"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Hyperparameters of the final classifier (``batch_size=None``: full batch)."""

    epochs: int = 30
    batch_size: int | None = 256
    lr: float = 1e-3
    beta1: float = 0.5


class SoftmaxClassifier:
    """A linear softmax classifier over ``n_classes`` local labels."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig(), *, seed: int = 0,
                 device: torch.device | str = "cpu") -> None:
        self.config = config
        self.seed = seed
        self.device = torch.device(device)

    def fit(self, X: torch.Tensor, y: torch.Tensor, n_classes: int) -> "SoftmaxClassifier":
        """Train on X (n, d) float and y (n,) int64 local labels in 0..n_classes-1."""
        cfg = self.config
        g = make_generator(self.seed, self.device)
        X = X.to(self.device, torch.float32)
        y = y.to(self.device, torch.int64)
        self.model_ = nn.Linear(X.shape[1], n_classes).to(self.device)
        init_weights(self.model_, g)
        # Fused Adam on CUDA: one kernel per step instead of one per parameter and operation.
        opt = torch.optim.Adam(self.model_.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999),
                               fused=self.device.type == "cuda" or None)
        n = X.shape[0]
        loss_fn = nn.CrossEntropyLoss()

        def step(Xb: torch.Tensor, yb: torch.Tensor) -> None:
            loss = loss_fn(self.model_(Xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(cfg.epochs):
            if cfg.batch_size is None:
                step(X, y)
                continue
            perm = torch.randperm(n, generator=g, device=self.device)
            for start in range(0, n, cfg.batch_size):
                idx = perm[start:start + cfg.batch_size]
                step(X[idx], y[idx])
        return self

    @torch.no_grad()
    def logits(self, X: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
        X = X.to(self.device, torch.float32)
        return torch.cat([self.model_(X[i:i + batch_size])
                          for i in range(0, X.shape[0], batch_size)])

    def predict(self, X: torch.Tensor) -> np.ndarray:
        """Local labels (n,) as a numpy array."""
        return self.logits(X).argmax(1).cpu().numpy()
