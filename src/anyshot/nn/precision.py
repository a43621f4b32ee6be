"""The arithmetic of training and synthesis: fp32, tf32 (CUDA tensor cores) or bf16 autocast."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

__all__ = ["AMP_MODES", "PRECISIONS", "autocast", "resolve_precision"]

AMP_MODES = ("none", "bf16")
PRECISIONS = ("fp32", "tf32", "bf16")


def resolve_precision(precision: str | None, amp: str, device: torch.device) -> str:
    """The arithmetic in use: ``precision`` if set, else bf16 if ``amp`` asks for it, else tf32
    on CUDA and fp32 elsewhere."""
    if precision is not None:
        return precision
    if amp == "bf16":
        return "bf16"
    return "tf32" if device.type == "cuda" else "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: torch.device, cache: bool = True) -> Iterator[None]:
    """``precision`` for the block: bfloat16 autocast of forward passes for bf16, TF32 matrix
    products for tf32 on CUDA (the global setting is restored after). ``cache=False`` turns off
    autocast's cast cache (required inside CUDA graphs)."""
    tf32 = precision == "tf32" and device.type == "cuda"
    saved = torch.get_float32_matmul_precision()
    if tf32:
        torch.set_float32_matmul_precision("high")
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16",
                            cache_enabled=cache):
            yield
    finally:
        if tf32:
            torch.set_float32_matmul_precision(saved)
