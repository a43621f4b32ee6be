"""On-device sums of the step logs: one host read per epoch."""

from __future__ import annotations

import torch

__all__ = ["LogSums"]


class LogSums:
    """Running sums of the detached scalar logs of training steps, kept on the device.

    Every step of an epoch logs the same names; :meth:`means` reads all sums to the host at once
    (the epoch's only synchronisation) and divides by the number of steps.
    """

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.total: torch.Tensor | None = None
        self.count = 0

    def add(self, logs: dict[str, torch.Tensor]) -> None:
        if not logs:
            return
        values = torch.stack([v.detach().float() for v in logs.values()])
        if self.total is None:
            self.names, self.total = tuple(logs), values
        elif tuple(logs) != self.names:
            raise RuntimeError(f"a training step logged {sorted(logs)} after {sorted(self.names)}; "
                               "every step of an epoch must log the same names.")
        else:
            self.total = self.total + values
        self.count += 1

    def means(self) -> dict[str, float]:
        if self.total is None:
            return {}
        return dict(zip(self.names, (self.total.double() / self.count).tolist()))
