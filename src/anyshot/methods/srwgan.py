"""SRWGAN (Feng et al., "Bias-Eliminated Semantic Refinement for Any-Shot Learning", TIP 2022).

G (:mod:`anyshot.nn.refinement`) refines a class attribute a into three stochastic codes z_1..z_3
and a feature x = G(a); the mapping M (:mod:`anyshot.nn.mapping`) encodes features into a
Gaussian code (mu, sigma) and is the critic. Each generator step (M read on mu) follows
``critic_iter`` critic steps on fresh class-balanced batches. The terms, in the order they are
added (:mod:`anyshot.methods.srwgan_terms` defines the symbols):

    L_D = L_adv(M; x_real, x_fake, a)                   (WGAN-GP: + 10 GP)
        + 0.001 * (mean D(x_real, a))^2                 RealScoreDrift (score critics only)
        + beta * (KL - i_c)                             InformationBottleneck (dual ascent on beta)
        + w_center * L_tc(mu_real, y)                   TripletCenter
    L_G = L_adv(G) + w_cls * CE(x_fake Xbar^T, y)       Classification (Xbar: real class means)
        + param2 * mean_i min_j ||x_fake_i - P_{y_i j}||^2          SamplePrototypes      L_1
        + param1 * mean_c min_j ||mean G(a_c) - P_{c j}||^2         MeanPrototypes        L_2
        + s * ( a_w * CE(S_1(x_real, Zbar_1^s), y)                  SeenCompatibility     L_1
              + [epoch > k] b_w * H(S_1(x_fake^u, Zbar_1^u))        UnseenCompatibility   L_1
              + a_w * H(S_2(x_real, Zbar_2^s))                      SeenCompatibilityEntropy
              + c_w * sum_k MSE(Gram(Zbar_k^s), Gram(Zbar_k^u)) )   GramAlignment   L_1,2,3

Structure adds up the bracket, then scales it by s. Terms that need unseen classes are skipped
when every class is a training class (e.g. FSL). The final classifier reads M's mu.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from anyshot.data.sampling import ClassBalancedSampler, cycled_choice, local_index
from anyshot.errors import ConfigError, check_choice
from anyshot.methods import srwgan_terms as terms
from anyshot.methods.base import GenerativeConfig, TrainingSet, register_method
from anyshot.methods.generative import GenerativeMethod
from anyshot.methods.srwgan_terms import RefinementBatch, RefinementGeneration
from anyshot.nn.conditioning import semantic_input
from anyshot.nn.critic import CriticOutput, build_critic
from anyshot.nn.init import init_weights
from anyshot.nn.mapping import NonRedundantMapping
from anyshot.nn.refinement import SemanticRefinementGenerator
from anyshot.objectives.bias_elimination import kmeans_prototypes
from anyshot.objectives.information_bottleneck import InformationBottleneck
from anyshot.objectives.semantic_alignment import BilinearCompatibility
from anyshot.objectives.triplet_center import TripletCenterLoss
from anyshot.utils import stream_generator

#: Where SRWGAN's final classifier works: M's mean code (the paper) or the generated features.
CLASSIFIER_SPACES = ("code", "features")

__all__ = ["CLASSIFIER_SPACES", "RefinementBatch", "RefinementGeneration", "SRWGAN", "SRWGANConfig"]


@dataclass
class SRWGANConfig(GenerativeConfig):
    """SRWGAN hyperparameters (the paper's CUB values as defaults where they apply), named as in
    the module docstring."""

    nz: int = 300                     # width of each refinement head (each emits nz/2 dims)
    latent: int = 1024                # L, the code width of the mapping M
    hidden: int = 4096                # ngh, hidden width of the generator's feature MLP
    a_w: float = 1e-1                 # the paper's a: compatibility CE (head 1), entropy (head 2)
    b_w: float = 1e-3                 # the paper's b: unseen compatibility entropy
    c_w: float = 1e-3                 # the paper's c: Gram alignment
    center_weight: float = 1e-2       # w_center, weight of the triplet-centre loss ...
    center_margin: float = 190.0      # ... and its margin Delta
    cls_weight: float = 0.05          # w_cls, the classification regularizer on class means
    structure_weight: float = 1e-3    # s, weight of all compatibility, entropy and Gram terms
    i_c: float = 0.1                  # the information constraint KL <= i_c ...
    beta_step: float = 1e-6           # ... and the dual ascent step on its multiplier beta
    real_score_weight: float = 1e-3   # weight of (mean D(x_real, a))^2 in the critic loss
    k: int = 10                       # the unseen entropy is on for epochs > k (counted from 1)
    param1: float = 1e-2              # weight of the class-mean prototype term (L_2)
    param2: float = 1e-3              # weight of the per-sample prototype term (L_1)
    n_prototypes: int = 3             # k-means prototypes per seen class ...
    kmeans_iters: int = 25            # ... and Lloyd iterations
    loss_syn_num: int = 20            # draws of G per seen class in the class-mean prototype term
    # Ablation switches.
    use_mapping: bool = True          # off: a plain critic on raw features, no KL / centre loss
    use_center_loss: bool = True      # the triplet-centre term
    use_bias_elimination: bool = True  # the prototype, compatibility and entropy terms
    use_alignment: bool = True        # the Gram terms
    single_head: bool = False         # one refinement head instead of three
    # Where the final classifier works: "code" (M's mean code, the paper) or "features" (the
    # generated features themselves, where a prior's composition shapes unseen classes).
    classifier_space: str = "code"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("classifier_space", self.classifier_space, CLASSIFIER_SPACES)
        if self.correction != "mlp":
            raise ConfigError("SRWGAN's features come from its refinement heads through the "
                              "MLP; correction: none is for f-CLSWGAN (use prior: composed "
                              "here to compose under the MLP).")

@register_method
class SRWGAN(GenerativeMethod):
    """SRWGAN: semantic refinement generator, information-bottleneck mapping critic and
    bias-eliminating prototype / compatibility / Gram-alignment terms."""

    name = "srwgan"
    config_class = SRWGANConfig
    config: SRWGANConfig

    def _build(self, feature_dim: int, attr_dim: int) -> None:
        cfg, dev, rng = self.config, self.device, self.rng_
        n_heads, kind = 1 if cfg.single_head else 3, self.objective.critic_kind
        self.generator_ = SemanticRefinementGenerator(
            attr_dim, cfg.nz, cfg.hidden, feature_dim, cfg.out, n_heads,
            semantic_input(cfg, attr_dim, feature_dim)).to(dev)
        if cfg.use_mapping:
            self.critic_ = NonRedundantMapping(feature_dim, attr_dim, cfg.latent, kind).to(dev)
        else:
            self.critic_ = build_critic(kind, feature_dim, attr_dim, cfg.latent).to(dev)
        init_weights(self.generator_, rng)
        init_weights(self.critic_, rng)
        self.centers_: TripletCenterLoss | None = None
        if cfg.use_mapping and cfg.use_center_loss:
            n_seen = self.train_classes_.numel()
            self.centers_ = TripletCenterLoss(n_seen, cfg.latent, cfg.center_margin).to(dev)
            self.centers_.reset_parameters(rng)
        self.bilinear_ = nn.ModuleList()
        if cfg.use_bias_elimination:
            for _ in range(min(n_heads, 2)):
                self.bilinear_.append(BilinearCompatibility(feature_dim, cfg.nz // 2).to(dev))
            init_weights(self.bilinear_, rng)

    def networks(self) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        generator_side, critic_side = super().networks()
        if self.centers_ is not None:
            critic_side["centers"] = self.centers_
        for i, bil in enumerate(self.bilinear_, start=1):
            generator_side[f"bilinear{i}"] = bil
        return generator_side, critic_side

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """The final classifier's features: M's mean code mu (n, L), or X itself without M or
        with ``classifier_space: features``."""
        if self.config.use_mapping and self.config.classifier_space == "code":
            return self.critic_.encode(X).mu
        return X

    def _prepare(self, train: TrainingSet) -> None:
        cfg, n_rows, n_seen = self.config, int(self.A_.shape[0]), int(self.train_classes_.numel())
        self.seen_local_ = local_index(self.train_classes_, n_rows)     # -1 off the seen rows
        self.unseen_local_ = local_index(self.unseen_classes_, n_rows)
        local = self.seen_local_[self.y_train_]
        self.sampler_ = ClassBalancedSampler(local, n_seen)
        self.seen_attr_rep_ = self.A_[self.train_classes_].repeat_interleave(cfg.loss_syn_num, 0)
        if cfg.use_bias_elimination:
            self.prototypes_ = kmeans_prototypes(
                self.X_train_, local, n_seen, cfg.n_prototypes,
                stream_generator(self.seed, "kmeans", self.device), cfg.kmeans_iters)
        self._set_terms()

    def _set_terms(self) -> None:
        """The terms of L_D and L_G (module docstring), in the order they are added."""
        cfg, bias, align = self.config, self.config.use_bias_elimination, self.config.use_alignment
        bottleneck = InformationBottleneck(cfg.i_c, cfg.beta_step, device=self.device)
        self.multiplier_ = bottleneck.multiplier
        self.critic_terms_ = (
            terms.RealScoreDrift(cfg.real_score_weight),
            *((bottleneck,) if cfg.use_mapping else ()),
            *((terms.TripletCenter(self.centers_, self.seen_local_, self.rng_, cfg.center_weight),)
              if self.centers_ is not None else ()))
        structure = (
            *((terms.SeenCompatibility(self.bilinear_[0], cfg.a_w),
               terms.UnseenCompatibility(self.bilinear_[0], cfg.b_w, cfg.k)) if bias else ()),
            *((terms.SeenCompatibilityEntropy(self.bilinear_[1], cfg.a_w),)
              if len(self.bilinear_) > 1 else ()),
            *((terms.GramAlignment(cfg.c_w),) if align else ()))
        self.generator_terms_ = (
            terms.Classification(cfg.cls_weight),
            *((terms.SamplePrototypes(self.prototypes_, cfg.param2),
               terms.MeanPrototypes(self.generator_, self.seen_attr_rep_, cfg.loss_syn_num,
                                    self.prototypes_, self.rng_, cfg.param1)) if bias else ()),
            *((terms.Structure(cfg.structure_weight, structure),) if bias or align else ()))

    def sample_batch(self) -> RefinementBatch:
        """Class-balanced seen samples and unseen classes (:mod:`anyshot.data.sampling`)."""
        idx = self.sampler_.draw(self.config.batch_size, self.rng_)
        yu = cycled_choice(self.unseen_classes_, self.config.batch_size, self.rng_)
        y = self.y_train_[idx]
        return RefinementBatch(self.X_train_[idx], y, self.A_[y], yu, self.A_[yu])

    def generate(self, a: torch.Tensor, rng: torch.Generator,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator_(a, rng, y).x

    def step_phase(self, epoch: int) -> int:
        """1 once the unseen-entropy term is on (epoch > k), else 0."""
        return int(epoch > self.config.k)

    def generate_for_training(self, batch: RefinementBatch, epoch: int
                              ) -> tuple[torch.Tensor, RefinementGeneration]:
        """G(a) on the batch and, when a term needs it, G on the parallel unseen batch (drawn
        here, before the prototype term's draw, from the training stream)."""
        cfg, bias, align = self.config, self.config.use_bias_elimination, self.config.use_alignment
        n_unseen = int(self.unseen_classes_.numel())
        out = self.generator_(batch.a, self.rng_, batch.y)
        gen = RefinementGeneration.of_seen(self.seen_local_[batch.y],
                                           int(self.train_classes_.numel()),
                                           out.z if bias or align else [])
        if not (n_unseen > 0 and (align or (bias and epoch > cfg.k))):
            return out.x, gen
        unseen = self.generator_(batch.a_unseen, self.rng_)
        return out.x, gen.with_unseen(unseen, self.unseen_local_[batch.y_unseen], n_unseen)

    def critic_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """M reads a drawn code z (eps from the training stream); a plain critic without M."""
        return self.critic_(x, a, self.rng_) if self.config.use_mapping else self.critic_(x, a)

    def generator_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """M reads its mean code mu; a plain critic without M."""
        return self.critic_(x, a, use_mean=True) if self.config.use_mapping else self.critic_(x, a)
