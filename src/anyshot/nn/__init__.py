"""Small network building blocks shared by the methods."""

from anyshot.nn.critic import AutoEncoderCritic, CriticOutput, ScoreCritic, build_critic
from anyshot.nn.generator import ConditionalGenerator
from anyshot.nn.init import init_weights

__all__ = [
    "AutoEncoderCritic",
    "ConditionalGenerator",
    "CriticOutput",
    "ScoreCritic",
    "build_critic",
    "init_weights",
]
