"""Small shared helpers: device resolution, seeding, provenance."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import torch

from anyshot.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a clear error."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "device 'cuda' was requested but no CUDA GPU is available; use --device cpu or auto."
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}.")


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A torch RNG for ``device`` seeded with ``seed``: the one source of training randomness."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@lru_cache(maxsize=1)
def git_revision() -> str:
    """The git revision of the anyshot source tree ('+dirty' when modified), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True,
            timeout=5,
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
            capture_output=True, text=True, timeout=5,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
