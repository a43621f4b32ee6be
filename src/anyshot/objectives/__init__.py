"""Adversarial objectives (swappable by name) and auxiliary losses."""

from anyshot.objectives import ebgan, wgan, wgan_gp  # noqa: F401  (registration)
from anyshot.objectives.base import (
    OBJECTIVES,
    AdversarialObjective,
    LossTerms,
    OptimizerSpec,
    make_objective,
    register_objective,
)
from anyshot.objectives.bias_elimination import (
    kmeans_prototypes,
    mean_prototype_distance,
    nearest_prototype_distance,
)
from anyshot.objectives.ebgan import pull_away_term
from anyshot.objectives.information_bottleneck import DualAscentMultiplier, gaussian_kl
from anyshot.objectives.semantic_alignment import (
    BilinearCompatibility,
    class_means,
    gram_alignment_loss,
    mean_entropy,
)
from anyshot.objectives.triplet_center import TripletCenterLoss
from anyshot.objectives.wgan_gp import gradient_penalty

__all__ = [
    "BilinearCompatibility",
    "DualAscentMultiplier",
    "TripletCenterLoss",
    "class_means",
    "gaussian_kl",
    "gradient_penalty",
    "gram_alignment_loss",
    "kmeans_prototypes",
    "mean_entropy",
    "mean_prototype_distance",
    "nearest_prototype_distance",
    "pull_away_term",
    "OBJECTIVES",
    "AdversarialObjective",
    "LossTerms",
    "OptimizerSpec",
    "make_objective",
    "register_objective",
]
