"""Training checkpoints: atomic, self-checking, resumable.

A checkpoint is two files written atomically (temp file + rename): ``ckpt_<epoch>.safetensors``
(network weights, optimizer moments, the RNG state) and ``ckpt_<epoch>.json`` (epoch, optimizer
hyperparameters, history, the caller's own state, and the SHA-256 of the weights file). The
JSON is written last, so a checkpoint counts only once both files are complete. The newest
``keep`` checkpoints are kept; a corrupt newest checkpoint is reported with the previous good one
left in place.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import torch

from anyshot.errors import CheckpointError
from anyshot.io import atomic_write_text, load_tensors, save_tensors

__all__ = ["Checkpointer"]

_NAME = re.compile(r"ckpt_(\d+)\.json$")


class Checkpointer:
    """Saves and finds checkpoints in ``directory`` every ``every`` epochs."""

    def __init__(self, directory: str | Path, every: int = 1, keep: int = 2) -> None:
        if every < 1:
            raise ValueError("checkpoint every must be >= 1")
        self.directory = Path(directory)
        self.every = int(every)
        self.keep = max(1, int(keep))

    def due(self, epoch: int, last: int) -> bool:
        return epoch % self.every == 0 or epoch == last

    def epochs(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = [int(m.group(1)) for p in self.directory.iterdir() if (m := _NAME.match(p.name))]
        return sorted(found)

    def save(self, epoch: int, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        weights = self.directory / f"ckpt_{epoch:06d}.safetensors"
        save_tensors(weights, tensors)
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        atomic_write_text(self.directory / f"ckpt_{epoch:06d}.json",
                          json.dumps({"epoch": epoch, "sha256": digest, **state}))
        for old in self.epochs()[:-self.keep]:
            for suffix in (".json", ".safetensors"):
                (self.directory / f"ckpt_{old:06d}{suffix}").unlink(missing_ok=True)

    def load(self, epoch: int) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        meta_path = self.directory / f"ckpt_{epoch:06d}.json"
        weights = self.directory / f"ckpt_{epoch:06d}.safetensors"
        try:
            state = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(self._corrupt(meta_path, exc)) from exc
        if not weights.is_file():
            raise CheckpointError(self._corrupt(weights, "the weights file is missing"))
        if hashlib.sha256(weights.read_bytes()).hexdigest() != state.get("sha256"):
            raise CheckpointError(self._corrupt(weights, "its checksum does not match"))
        try:
            tensors = load_tensors(weights)
        except CheckpointError as exc:
            raise CheckpointError(self._corrupt(weights, exc)) from exc
        return tensors, state

    def latest(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """The newest checkpoint, or None; raises CheckpointError if it is corrupt."""
        found = self.epochs()
        return self.load(found[-1]) if found else None

    def _corrupt(self, path: Path, why: Any) -> str:
        older = [e for e in self.epochs() if f"{e:06d}" not in path.name]
        hint = (f" The previous checkpoint (epoch {older[-1]}) is kept: delete {path.name} and its "
                "twin (.json/.safetensors) to resume from it." if older else
                " No earlier checkpoint exists; delete the checkpoint files to start over.")
        return f"checkpoint {str(path)!r} is truncated or corrupt ({why}).{hint}"


def optimizer_tensors(
    prefix: str, opt: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state_dict into tensors (for safetensors) and JSON-able groups."""
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"{prefix}.{idx}.{k}"] = t
    return tensors, {"param_groups": sd["param_groups"]}


def restore_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                      meta: dict) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    groups = meta["param_groups"]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})
