"""SRWGAN (Feng et al., "Bias-Eliminated Semantic Refinement for Any-Shot Learning", TIP 2022).

A semantic refinement generator G (:mod:`anyshot.nn.refinement`) turns a class attribute a into
three stochastic codes z_1, z_2, z_3 and a feature x = G(a); a non-redundant mapping M
(:mod:`anyshot.nn.mapping`) encodes features into a Gaussian code (mu, sigma) and is the critic.
Per generator step, ``critic_iter`` critic steps, each on a fresh class-balanced batch:

    L_D = L_adv(M; x_real, x_fake, a)                            (the objective; WGAN-GP: + 10 GP)
          + 0.001 * (mean D(x_real, a))^2                         (score critics only)
          + beta * (KL - i_c) + w_center * L_tc(mu_real, y)
    beta <- max(0, beta + 1e-6 * (KL - i_c))                     (dual ascent)

then one generator step (M read on mu):

    L_G = L_adv(G) + w_cls * CE(x_fake Xbar^T, y)                Xbar: real batch class means
        + param2 * mean_i min_j ||x_fake_i - P_{y_i j}||^2        \\
          + s * (a_w * CE(S_1(x_real, Zbar_1^s), y)               |  L_1 (head 1)
                 + [epoch > k] b_w * H(S_1(x_fake^u, Zbar_1^u))   |
                 + c_w * MSE(Gram(Zbar_1^s), Gram(Zbar_1^u)))     /
        + param1 * mean_c min_j ||mean G(a_c) - P_{c j}||^2       \\
          + s * (a_w * H(S_2(x_real, Zbar_2^s))                   |  L_2 (head 2)
                 + c_w * MSE(Gram(Zbar_2^s), Gram(Zbar_2^u)))     /
        + s * c_w * MSE(Gram(Zbar_3^s), Gram(Zbar_3^u))              L_3 (head 3)

with P the k-means prototypes of real seen features, S_k bilinear compatibilities, Zbar_k^s / ^u
per-class means of head-k codes over the seen batch / a parallel batch of unseen-class attributes
(no unseen feature is ever used). Terms that need unseen classes are skipped when every class is
a training class (e.g. FSL). The final classifier is trained on M's mu.

Switches for ablations: ``use_mapping`` (off: a plain critic, raw features, no KL / centre loss),
``use_center_loss``, ``use_bias_elimination`` (prototype, compatibility and entropy terms),
``use_alignment`` (Gram terms), ``single_head``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from anyshot.methods.base import GenerativeConfig, TrainingSet, register_method
from anyshot.methods.generative import GenerativeMethod
from anyshot.nn.conditioning import semantic_input
from anyshot.nn.critic import CriticOutput, build_critic
from anyshot.nn.init import init_weights
from anyshot.nn.mapping import NonRedundantMapping
from anyshot.nn.refinement import RefinementOutput, SemanticRefinementGenerator
from anyshot.objectives.base import LossTerms
from anyshot.objectives.bias_elimination import (
    kmeans_prototypes,
    mean_prototype_distance,
    nearest_prototype_distance,
)
from anyshot.objectives.information_bottleneck import InformationBottleneck
from anyshot.objectives.semantic_alignment import (
    BilinearCompatibility,
    class_means,
    gram_alignment_loss,
    mask_absent,
    mean_entropy,
    present_classes,
)
from anyshot.objectives.step import CriticStep, GeneratorStep
from anyshot.objectives.triplet_center import TripletCenterLoss
from anyshot.utils import stream_generator

__all__ = ["RefinementBatch", "RefinementGeneration", "SRWGAN", "SRWGANConfig"]


@dataclass
class SRWGANConfig(GenerativeConfig):
    """SRWGAN hyperparameters (the paper's CUB values as defaults where they apply).

    Attributes:
        nz: width of each refinement head (each emits nz/2 dims).
        latent: L, the code width of the mapping M.
        hidden: ngh, hidden width of the generator's feature MLP.
        a_w / b_w / c_w: the paper's a, b, c (compatibility CE / entropy, unseen entropy, Gram).
        center_weight / center_margin: weight and margin Delta of the triplet-centre loss.
        cls_weight: weight of the classification regularizer on real class means.
        structure_weight: s, the weight of all compatibility, entropy and Gram terms.
        i_c / beta_step: information constraint KL <= i_c and the dual ascent step on beta.
        real_score_weight: weight of (mean D(x_real, a))^2 in the critic loss.
        k: the unseen-entropy term is on for epochs > k (epochs count from 1).
        param1 / param2: weights of the class-mean (L_2) and per-sample (L_1) prototype terms.
        n_prototypes: k-means prototypes per seen class; kmeans_iters: Lloyd iterations.
        loss_syn_num: synthetic features per seen class for the class-mean prototype term.
        use_mapping / use_center_loss / use_bias_elimination / use_alignment / single_head:
            ablation switches (see the module docstring).
    """

    nz: int = 300
    latent: int = 1024
    hidden: int = 4096
    a_w: float = 1e-1
    b_w: float = 1e-3
    c_w: float = 1e-3
    center_weight: float = 1e-2
    center_margin: float = 190.0
    cls_weight: float = 0.05
    structure_weight: float = 1e-3
    i_c: float = 0.1
    beta_step: float = 1e-6
    real_score_weight: float = 1e-3
    k: int = 10
    param1: float = 1e-2
    param2: float = 1e-3
    n_prototypes: int = 3
    kmeans_iters: int = 25
    loss_syn_num: int = 20
    use_mapping: bool = True
    use_center_loss: bool = True
    use_bias_elimination: bool = True
    use_alignment: bool = True
    single_head: bool = False


class RefinementBatch(NamedTuple):
    """A class-balanced batch: seen features (B, d), classes (B,), attributes (B, m), and a
    parallel batch of unseen classes (B,) with their attributes (B, m) (empty if none)."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor
    y_unseen: torch.Tensor
    a_unseen: torch.Tensor


def _cycled_classes(n_classes: int, size: int, rng: torch.Generator, device: torch.device
                    ) -> torch.Tensor:
    """``size`` slots cycling through fresh random permutations of 0..n_classes-1."""
    reps = -(-size // n_classes)
    perms = torch.rand(reps, n_classes, generator=rng, device=device).argsort(dim=1)
    return perms.reshape(-1)[:size]


class RefinementGeneration(NamedTuple):
    """What a generator step of SRWGAN hands its terms besides the fakes: the local seen labels
    y (B,) of the batch and which seen classes it holds (present), the per-class means
    Zbar_k^s of each head's codes, and the parallel unseen batch (its generator output, local
    labels, present classes and Zbar_k^u; ``None`` / empty when no term needs it)."""

    y: torch.Tensor
    present: torch.Tensor
    seen_codes: list[torch.Tensor]
    unseen: RefinementOutput | None
    y_unseen: torch.Tensor | None
    present_unseen: torch.Tensor | None
    unseen_codes: list[torch.Tensor]


@register_method
class SRWGAN(GenerativeMethod):
    """SRWGAN: semantic refinement generator, information-bottleneck mapping critic and
    bias-eliminating prototype / compatibility / Gram-alignment terms."""

    name = "srwgan"
    config_class = SRWGANConfig
    config: SRWGANConfig

    # ------------------------------------------------------------------ networks and terms
    def _build(self, feature_dim: int, attr_dim: int) -> None:
        cfg, dev, rng = self.config, self.device, self.rng_
        n_heads = 1 if cfg.single_head else 3
        kind = self.objective.critic_kind
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
        bottleneck = InformationBottleneck(cfg.i_c, cfg.beta_step, device=dev)
        self.multiplier_ = bottleneck.multiplier
        self.critic_terms_ = (self._real_score_drift,
                              *((bottleneck,) if cfg.use_mapping else ()),
                              *((self._triplet_center,) if self.centers_ is not None else ()))
        bias, align = cfg.use_bias_elimination, cfg.use_alignment
        self.generator_terms_ = (self._classification,
                                 *((self._sample_prototypes, self._mean_prototypes) if bias
                                   else ()),
                                 *((self._structure,) if bias or align else ()))

    def networks(self) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        generator_side, critic_side = super().networks()
        if self.centers_ is not None:
            critic_side["centers"] = self.centers_
        for i, bil in enumerate(self.bilinear_, start=1):
            generator_side[f"bilinear{i}"] = bil
        return generator_side, critic_side

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """The final classifier's features: M's mean code mu (n, L), or X itself without M."""
        return self.critic_.encode(X).mu if self.config.use_mapping else X

    # ------------------------------------------------------------------ data
    def _prepare(self, train: TrainingSet) -> None:
        cfg, dev = self.config, self.device
        seen, unseen = self.train_classes_, self.unseen_classes_
        # Class bookkeeping: local seen / unseen indices of every attribute row (-1 elsewhere).
        n_rows = int(self.A_.shape[0])
        self.seen_local_ = torch.full((n_rows,), -1, dtype=torch.int64, device=dev)
        self.seen_local_[seen] = torch.arange(seen.numel(), device=dev)
        self.unseen_local_ = torch.full((n_rows,), -1, dtype=torch.int64, device=dev)
        self.unseen_local_[unseen] = torch.arange(unseen.numel(), device=dev)
        local = self.seen_local_[self.y_train_]
        n_seen = int(seen.numel())
        counts = torch.bincount(local, minlength=n_seen)
        # Samples sorted by class: class c owns order_[starts_[c] : starts_[c] + counts_[c]].
        self.order_ = torch.argsort(local, stable=True)
        self.starts_ = torch.cumsum(counts, 0) - counts
        self.counts_ = counts
        self.sampled_classes_ = torch.nonzero(counts > 0).squeeze(1)
        self.seen_attr_rep_ = self.A_[seen].repeat_interleave(cfg.loss_syn_num, dim=0)
        if cfg.use_bias_elimination:
            self.prototypes_ = kmeans_prototypes(self.X_train_, local, n_seen, cfg.n_prototypes,
                                                 stream_generator(self.seed, "kmeans", dev),
                                                 cfg.kmeans_iters)

    def sample_batch(self) -> RefinementBatch:
        """Class-balanced: slots cycle through permutations of the seen classes, each slot takes
        a random sample of its class; unseen slots cycle through the unseen classes."""
        B, dev, rng = self.config.batch_size, self.device, self.rng_
        pick = self.sampled_classes_[_cycled_classes(self.sampled_classes_.numel(), B, rng, dev)]
        offset = (torch.rand(B, generator=rng, device=dev) * self.counts_[pick]).long()
        idx = self.order_[self.starts_[pick] + torch.minimum(offset, self.counts_[pick] - 1)]
        y = self.y_train_[idx]
        n_unseen = self.unseen_classes_.numel()
        if n_unseen:
            yu = self.unseen_classes_[_cycled_classes(n_unseen, B, rng, dev)]
        else:
            yu = self.unseen_classes_
        return RefinementBatch(self.X_train_[idx], y, self.A_[y], yu, self.A_[yu])

    # ------------------------------------------------------------------ generator & critic
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
        cfg = self.config
        out = self.generator_(batch.a, self.rng_, batch.y)
        n_seen = int(self.train_classes_.numel())
        y = self.seen_local_[batch.y]
        present = present_classes(y, n_seen)
        bias, align = cfg.use_bias_elimination, cfg.use_alignment
        if not (bias or align):
            return out.x, RefinementGeneration(y, present, [], None, None, None, [])
        n_unseen = int(self.unseen_classes_.numel())
        use_unseen = n_unseen > 0 and (align or (bias and epoch > cfg.k))
        zs = [class_means(z, y, n_seen) for z in out.z]                     # Zbar_k^seen
        if not use_unseen:
            return out.x, RefinementGeneration(y, present, zs, None, None, None, [])
        unseen = self.generator_(batch.a_unseen, self.rng_)
        yu = self.unseen_local_[batch.y_unseen]
        zu = [class_means(z, yu, n_unseen) for z in unseen.z]               # Zbar_k^unseen
        return out.x, RefinementGeneration(y, present, zs, unseen, yu,
                                           present_classes(yu, n_unseen), zu)

    def critic_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """M reads a drawn code z (eps from the training stream); a plain critic without M."""
        if self.config.use_mapping:
            return self.critic_(x, a, self.rng_)
        return self.critic_(x, a)

    def generator_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        if self.config.use_mapping:
            return self.critic_(x, a, use_mean=True)
        return self.critic_(x, a)

    # ------------------------------------------------------------------ critic terms
    def _real_score_drift(self, step: CriticStep) -> LossTerms | None:
        """0.001 * (mean D(x_real, a))^2, for critics that output a score."""
        if step.real_out.score is None:
            return None
        drift = step.real_out.score.mean().pow(2)
        return LossTerms(self.config.real_score_weight * drift, {"real_score_sq": drift.detach()})

    def _triplet_center(self, step: CriticStep) -> LossTerms:
        """w_center * L_tc(mu_real, y)."""
        tc = self.centers_(step.real_out.code, self.seen_local_[step.batch.y], self.rng_)
        return LossTerms(self.config.center_weight * tc, {"center_loss": tc.detach()})

    # ------------------------------------------------------------------ generator terms
    def _classification(self, step: GeneratorStep) -> LossTerms:
        """w_cls * CE(x_fake Xbar^T, y): real class means of the batch act as prototypes."""
        gen = step.generation
        xbar = class_means(step.batch.x, gen.y, int(self.train_classes_.numel()))
        cls = F.cross_entropy(mask_absent(step.fake @ xbar.T, gen.present), gen.y)
        return LossTerms(self.config.cls_weight * cls, {"cls_loss": cls.detach()})

    def _sample_prototypes(self, step: GeneratorStep) -> LossTerms:
        """param2 * mean_i min_j ||x_fake_i - P_{y_i j}||^2."""
        p1 = nearest_prototype_distance(step.fake, step.generation.y, self.prototypes_).mean()
        return LossTerms(self.config.param2 * p1, {"proto_sample": p1.detach()})

    def _mean_prototypes(self, step: GeneratorStep) -> LossTerms:
        """param1 * mean_c min_j ||mean G(a_c) - P_{c j}||^2 over loss_syn_num draws a class."""
        cfg = self.config
        syn = self.generator_(self.seen_attr_rep_, self.rng_).x
        p2 = mean_prototype_distance(syn.view(int(self.train_classes_.numel()), cfg.loss_syn_num,
                                              -1), self.prototypes_).mean()
        return LossTerms(cfg.param1 * p2, {"proto_mean": p2.detach()})

    def _structure(self, step: GeneratorStep) -> LossTerms:
        """s * (a_w * CE(S_1(x_real, Zbar_1^s), y) + [epoch > k] b_w * H(S_1(x_fake^u, Zbar_1^u))
        + a_w * H(S_2(x_real, Zbar_2^s)) + c_w * sum_k MSE(Gram(Zbar_k^s), Gram(Zbar_k^u)))."""
        cfg, gen, x = self.config, step.generation, step.batch.x
        zs, zu = gen.seen_codes, gen.unseen_codes
        structure = step.fake.new_zeros(())
        logs: dict[str, torch.Tensor] = {}
        if cfg.use_bias_elimination:
            sbc1 = F.cross_entropy(mask_absent(self.bilinear_[0](x, zs[0]), gen.present), gen.y)
            structure = structure + cfg.a_w * sbc1
            logs["sbc1"] = sbc1.detach()
            if gen.unseen is not None and step.epoch > cfg.k:
                ubc1 = mean_entropy(mask_absent(self.bilinear_[0](gen.unseen.x, zu[0]),
                                                gen.present_unseen))
                structure = structure + cfg.b_w * ubc1
                logs["ubc1"] = ubc1.detach()
            if len(self.bilinear_) > 1:
                sbc2 = mean_entropy(mask_absent(self.bilinear_[1](x, zs[1]), gen.present))
                structure = structure + cfg.a_w * sbc2
                logs["sbc2"] = sbc2.detach()
        if cfg.use_alignment and gen.unseen is not None:
            cbc = sum(gram_alignment_loss(s, u) for s, u in zip(zs, zu))
            structure = structure + cfg.c_w * cbc
            logs["gram_alignment"] = cbc.detach()
        return LossTerms(cfg.structure_weight * structure, logs)
