"""Adversarial objectives (swappable by name) and auxiliary losses."""

from anyshot.objectives.base import (
    OBJECTIVES,
    AdversarialObjective,
    LossTerms,
    OptimizerSpec,
    make_objective,
    register_objective,
)
from anyshot.objectives import ebgan, wgan, wgan_gp  # noqa: F401  (registration)

__all__ = [
    "OBJECTIVES",
    "AdversarialObjective",
    "LossTerms",
    "OptimizerSpec",
    "make_objective",
    "register_objective",
]
