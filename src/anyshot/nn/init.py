"""Weight initialisation shared by every network: Linear weights ~ N(0, 0.02), biases 0."""

from __future__ import annotations

import torch
from torch import nn


def init_weights(module: nn.Module, generator: torch.Generator, std: float = 0.02) -> None:
    """Initialise every Linear layer of ``module`` from ``generator`` (no global RNG)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.normal_(0.0, std, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
