"""The real-score drift penalty: keeps a score critic's output on real features near zero.

A Wasserstein critic's scores are defined only up to a constant; nothing stops them drifting as a
whole. SRWGAN's critic loss adds the square of the mean score on the real batch:

    L_drift = ( (1 / B) sum_i D(x_i, a_i) )^2          (weighted 0.001 in L_D)

Critics without a score (EBGAN's energies) have no drift to penalise.
"""

from __future__ import annotations

import torch

__all__ = ["real_score_drift"]


def real_score_drift(score: torch.Tensor) -> torch.Tensor:
    """L_drift = (mean_i D(x_i, a_i))^2 of the critic's scores (B,) on a real batch: a scalar."""
    return score.mean().pow(2)
