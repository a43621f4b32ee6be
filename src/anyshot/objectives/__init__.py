"""Adversarial objectives (swappable by name) and auxiliary losses.

The objectives are chosen by name (:func:`make_objective`); the auxiliary losses are imported
from their own modules (``bias_elimination``, ``information_bottleneck``, ``semantic_alignment``,
``triplet_center``, ``score_drift``, ``class_mean_classification``, ``attribute_consistency``,
``prior_anchor``), each with its equation in the docstring.
"""

from anyshot.objectives import ebgan, wgan, wgan_gp  # noqa: F401  (registration)
from anyshot.objectives.base import (
    OBJECTIVES,
    AdversarialObjective,
    LossTerms,
    OptimizerSpec,
    make_objective,
    register_objective,
)

__all__ = [
    "OBJECTIVES",
    "AdversarialObjective",
    "LossTerms",
    "OptimizerSpec",
    "make_objective",
    "register_objective",
]
