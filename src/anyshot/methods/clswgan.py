"""f-CLSWGAN (Xian et al., "Feature Generating Networks for Zero-Shot Learning", CVPR 2018).

A conditional generator G(z, a) is trained against a conditional critic D(x, a) with an
adversarial objective (WGAN-GP in the paper) plus a classification loss from a softmax classifier
P(y | x; theta) pretrained on real seen features and then frozen:

    L_G = L_adv(G) - beta * E_{z, (a, y)} [ log P(y | G(z, a); theta) ]      (beta = cls_weight)

z ~ N(0, I) with as many dims as the attributes (the paper's choice) unless ``noise_dim`` is set.
Unseen-class features are synthesized and a softmax classifier is trained on them
(:class:`anyshot.methods.generative.GenerativeMethod`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from anyshot.evaluation.classifier import ClassifierConfig, SoftmaxClassifier
from anyshot.methods.base import GenerativeConfig, TrainingSet, register_method
from anyshot.methods.generative import GenerativeMethod
from anyshot.nn.conditioning import semantic_input
from anyshot.nn.critic import build_critic
from anyshot.nn.generator import ConditionalGenerator
from anyshot.nn.init import init_weights
from anyshot.objectives.base import LossTerms
from anyshot.objectives.step import GeneratorStep
from anyshot.utils import stream_seed


@dataclass
class CLSWGANConfig(GenerativeConfig):
    """f-CLSWGAN hyperparameters (paper values for CUB as defaults where they apply).

    Attributes:
        hidden: generator hidden width (ngh, 4096 in the paper).
        critic_hidden: critic hidden width (ndh, 4096 in the paper).
        noise_dim: noise dimension; ``None`` = attribute dimension, as in the paper.
        cls_weight: weight beta of the classification loss.
        pretrain: settings of the frozen seen-class classifier.
    """

    hidden: int = 4096
    critic_hidden: int = 4096
    noise_dim: int | None = None
    cls_weight: float = 0.01
    pretrain: ClassifierConfig = ClassifierConfig(epochs=50, batch_size=100, lr=1e-3, beta1=0.5)


@register_method
class CLSWGAN(GenerativeMethod):
    """f-CLSWGAN: conditional WGAN feature generator with a classification regularizer."""

    name = "clswgan"
    config_class = CLSWGANConfig
    config: CLSWGANConfig

    def _build(self, feature_dim: int, attr_dim: int) -> None:
        cfg = self.config
        nz = cfg.noise_dim or attr_dim
        self.generator_ = ConditionalGenerator(attr_dim, nz, cfg.hidden, feature_dim, cfg.out,
                                               semantic_input(cfg, attr_dim, feature_dim),
                                               correction=cfg.correction == "mlp")
        self.critic_ = build_critic(self.objective.critic_kind, feature_dim, attr_dim,
                                    cfg.critic_hidden)
        init_weights(self.generator_, self.rng_)
        init_weights(self.critic_, self.rng_)
        self.generator_terms_ = (self._classification,)

    def generate(self, a: torch.Tensor, rng: torch.Generator,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        z = torch.randn(a.shape[0], self.generator_.noise_dim, generator=rng,
                        device=a.device)
        return self.generator_(z, a, rng, y)

    def _prepare(self, train: TrainingSet) -> None:
        # Pretrained classifier over the training classes; local label = rank in train_classes.
        X, classes = self.X_train_, self.train_classes_
        lookup = torch.full((self.A_.shape[0],), -1, dtype=torch.int64, device=X.device)
        lookup[classes] = torch.arange(classes.numel(), device=X.device)
        self.local_label_ = lookup
        clf = SoftmaxClassifier(self.config.pretrain, seed=stream_seed(self.seed, "pretraining"),
                                device=X.device)
        clf.fit(X, lookup[self.y_train_], int(classes.numel()))
        self.pretrained_: nn.Module = clf.model_.requires_grad_(False)

    def _classification(self, step: GeneratorStep) -> LossTerms:
        """beta * CE(P(y | G(z, a); theta), y) with the frozen pretrained classifier theta."""
        ce = F.cross_entropy(self.pretrained_(step.fake), self.local_label_[step.batch.y])
        return LossTerms(self.config.cls_weight * ce, {"cls_loss": ce.detach()})
