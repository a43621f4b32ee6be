"""Small network building blocks shared by the methods."""

from anyshot.nn.critic import AutoEncoderCritic, CriticOutput, ScoreCritic, build_critic
from anyshot.nn.generator import ConditionalGenerator
from anyshot.nn.init import init_weights
from anyshot.nn.mapping import MappingOutput, NonRedundantMapping
from anyshot.nn.refinement import GaussianHead, RefinementOutput, SemanticRefinementGenerator

__all__ = [
    "AutoEncoderCritic",
    "ConditionalGenerator",
    "CriticOutput",
    "GaussianHead",
    "MappingOutput",
    "NonRedundantMapping",
    "RefinementOutput",
    "SemanticRefinementGenerator",
    "ScoreCritic",
    "build_critic",
    "init_weights",
]
