"""Result records and their aggregation over seeds (mean +- std)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["RunResult", "summarize", "format_mean_std"]


@dataclass
class RunResult:
    """The outcome of one seed: metrics on the test sets plus everything needed to trust them.

    ``protocol`` names how epochs were chosen; ``peeks_at_test`` is True for protocols that
    looked at test data before reporting (they are opt-in and flagged on every printed line).
    """

    dataset: str
    method: str
    objective: str | None
    protocol: str
    peeks_at_test: bool
    seed: int
    metrics: dict[str, float]
    selected_epochs: dict[str, int] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    git_revision: str = "unknown"
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @property
    def protocol_label(self) -> str:
        return f"{self.protocol} (PEEKS AT TEST)" if self.peeks_at_test else self.protocol


def summarize(results: list[RunResult]) -> dict[str, tuple[float, float, int]]:
    """metric -> (mean, std, n) over seeds; std is the sample standard deviation (ddof=1)."""
    keys: list[str] = []
    for r in results:
        keys += [k for k in r.metrics if k not in keys]
    out = {}
    for k in keys:
        vals = np.array([r.metrics[k] for r in results if k in r.metrics], dtype=np.float64)
        std = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
        out[k] = (float(vals.mean()), std, int(vals.size))
    return out


def format_mean_std(mean: float, std: float, scale: float = 100.0, digits: int = 1) -> str:
    """'62.3 +- 1.4' (accuracies in percent by default)."""
    return f"{mean * scale:.{digits}f} +- {std * scale:.{digits}f}"
