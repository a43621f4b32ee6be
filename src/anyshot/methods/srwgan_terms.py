"""SRWGAN's loss terms, one small class each (:mod:`anyshot.methods.srwgan` lists them).

A term is built from explicit inputs (weights, modules, tensors) and called with the step
outputs (:class:`~anyshot.objectives.step.CriticStep` or ``GeneratorStep``, whose ``batch`` is a
:class:`RefinementBatch` and ``generation`` a :class:`RefinementGeneration`); it returns the
weighted loss and its detached logs (:class:`~anyshot.objectives.base.LossTerms`), or ``None``
where it does not apply. The loss math is in :mod:`anyshot.objectives`; a term only
reads its arguments from the step. Symbols are those of the method's spec: B the batch, y local
seen classes, Zbar_k^s / Zbar_k^u per-class means of head-k codes over the seen batch / the
parallel unseen batch, P the k-means prototypes of real seen features, S_k bilinear
compatibilities, H the mean entropy, s = structure_weight.

Critic terms:     RealScoreDrift, TripletCenter (the information bottleneck is
                  :class:`~anyshot.objectives.information_bottleneck.InformationBottleneck`)
Generator terms:  Classification, SamplePrototypes, MeanPrototypes and Structure, the s-weighted
                  sum of SeenCompatibility, UnseenCompatibility, SeenCompatibilityEntropy and
                  GramAlignment (summed inside the bracket, in that order, then scaled by s).

Terms are plain objects, not modules: the modules they read are trained and saved by the method.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import torch

from anyshot.nn.refinement import RefinementOutput
from anyshot.objectives.base import LossTerms
from anyshot.objectives.bias_elimination import mean_prototype_loss, sample_prototype_loss
from anyshot.objectives.class_mean_classification import class_mean_cross_entropy
from anyshot.objectives.score_drift import real_score_drift
from anyshot.objectives.semantic_alignment import (
    BilinearCompatibility,
    class_means,
    compatibility_cross_entropy,
    compatibility_entropy,
    present_classes,
    structure_alignment_loss,
)
from anyshot.objectives.step import CriticStep, GeneratorStep
from anyshot.objectives.triplet_center import TripletCenterLoss

__all__ = ["Classification", "GramAlignment", "MeanPrototypes", "RealScoreDrift",
           "RefinementBatch", "RefinementGeneration", "SamplePrototypes", "SeenCompatibility",
           "SeenCompatibilityEntropy", "Structure", "TripletCenter", "UnseenCompatibility"]


class RefinementBatch(NamedTuple):
    """A class-balanced batch: seen features (B, d), classes (B,), attributes (B, m), and a
    parallel batch of unseen classes (B,) with their attributes (B, m) (empty if none)."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor
    y_unseen: torch.Tensor
    a_unseen: torch.Tensor


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

    @classmethod
    def of_seen(cls, y: torch.Tensor, n_seen: int, codes: Sequence[torch.Tensor]
                ) -> "RefinementGeneration":
        """The seen batch's part, without an unseen batch: local labels y (B,), the classes
        present and Zbar_k^s of each head's codes (B, nz/2) (none given: no Zbar)."""
        present = present_classes(y, n_seen)
        return cls(y, present, [class_means(z, y, n_seen) for z in codes], None, None, None, [])

    def with_unseen(self, unseen: RefinementOutput, y_unseen: torch.Tensor, n_unseen: int
                    ) -> "RefinementGeneration":
        """This with the parallel unseen batch: G's output on it, its local labels (B,), then
        Zbar_k^u of its head codes and the unseen classes present."""
        codes = [class_means(z, y_unseen, n_unseen) for z in unseen.z]
        return self._replace(unseen=unseen, y_unseen=y_unseen,
                             present_unseen=present_classes(y_unseen, n_unseen),
                             unseen_codes=codes)


# ---------------------------------------------------------------------- critic terms
class RealScoreDrift:
    """w * (mean_i D(x_i, a_i))^2 on the real batch (w = real_score_weight, 0.001 in the paper;
    :mod:`anyshot.objectives.score_drift`); ``None`` for critics without a score."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, step: CriticStep) -> LossTerms | None:
        if step.real_out.score is None:
            return None
        drift = real_score_drift(step.real_out.score)
        return LossTerms(self.weight * drift, {"real_score_sq": drift.detach()})


class TripletCenter:
    """w_center * L_tc(mu_real, y), L_tc = mean_i max(0, Delta + ||mu_i - c_{y_i}||^2
    - ||mu_i - c_{y'_i}||^2) with y'_i != y_i drawn from ``rng``
    (:mod:`anyshot.objectives.triplet_center`).

    Args:
        centers: the loss with its learnable centres c (C_s x L).
        local: (n_rows,) the local seen index of every class index (the batch's y are global).
        rng: the training stream the other classes y' are drawn from.
        weight: w_center.
    """

    def __init__(self, centers: TripletCenterLoss, local: torch.Tensor, rng: torch.Generator,
                 weight: float) -> None:
        self.centers = centers
        self.local = local
        self.rng = rng
        self.weight = weight

    def __call__(self, step: CriticStep) -> LossTerms:
        tc = self.centers(step.real_out.code, self.local[step.batch.y], self.rng)
        return LossTerms(self.weight * tc, {"center_loss": tc.detach()})


# ---------------------------------------------------------------------- generator terms
class Classification:
    """w_cls * CE(x_fake Xbar^T, y), Xbar the real batch's class means
    (:mod:`anyshot.objectives.class_mean_classification`)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms:
        gen = step.generation
        cls = class_mean_cross_entropy(step.fake, step.batch.x, gen.y, gen.present)
        return LossTerms(self.weight * cls, {"cls_loss": cls.detach()})


class SamplePrototypes:
    """param2 * mean_i min_j ||x_fake_i - P_{y_i j}||^2, L_1's prototype part
    (:mod:`anyshot.objectives.bias_elimination`); prototypes P (C_s, n, d)."""

    def __init__(self, prototypes: torch.Tensor, weight: float) -> None:
        self.prototypes = prototypes
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms:
        p1 = sample_prototype_loss(step.fake, step.generation.y, self.prototypes)
        return LossTerms(self.weight * p1, {"proto_sample": p1.detach()})


class MeanPrototypes:
    """param1 * mean_c min_j ||mean G(a_c) - P_{c j}||^2, L_2's prototype part: ``per_class``
    fresh draws of G for every seen class (:mod:`anyshot.objectives.bias_elimination`).

    Args:
        generator: G; ``generator(a, rng).x`` are features.
        attributes: (C_s * per_class, m) each seen class's attribute row ``per_class`` times,
            classes in prototype order.
        per_class: loss_syn_num.
        prototypes: P (C_s, n, d).
        rng: the training stream G's codes are drawn from.
        weight: param1.
    """

    def __init__(self, generator: Callable[..., RefinementOutput], attributes: torch.Tensor,
                 per_class: int, prototypes: torch.Tensor, rng: torch.Generator,
                 weight: float) -> None:
        self.generator = generator
        self.attributes = attributes
        self.per_class = per_class
        self.prototypes = prototypes
        self.rng = rng
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms:
        syn = self.generator(self.attributes, self.rng).x
        samples = syn.view(self.prototypes.shape[0], self.per_class, -1)
        p2 = mean_prototype_loss(samples, self.prototypes)
        return LossTerms(self.weight * p2, {"proto_mean": p2.detach()})


class SeenCompatibility:
    """a_w * CE(S_1(x_real, Zbar_1^s), y), the paper's SBC (head 1, in L_1)."""

    def __init__(self, bilinear: BilinearCompatibility, weight: float) -> None:
        self.bilinear = bilinear
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms:
        gen = step.generation
        sbc1 = compatibility_cross_entropy(self.bilinear(step.batch.x, gen.seen_codes[0]), gen.y,
                                           gen.present)
        return LossTerms(self.weight * sbc1, {"sbc1": sbc1.detach()})


class UnseenCompatibility:
    """[epoch > k] b_w * H(S_1(x_fake^u, Zbar_1^u)), the paper's UBC (head 1, in L_1), on the
    fakes of the parallel unseen batch; ``None`` until epoch k + 1 or without unseen classes."""

    def __init__(self, bilinear: BilinearCompatibility, weight: float, after_epoch: int) -> None:
        self.bilinear = bilinear
        self.weight = weight
        self.after_epoch = after_epoch

    def __call__(self, step: GeneratorStep) -> LossTerms | None:
        gen = step.generation
        if gen.unseen is None or step.epoch <= self.after_epoch:
            return None
        ubc1 = compatibility_entropy(self.bilinear(gen.unseen.x, gen.unseen_codes[0]),
                                     gen.present_unseen)
        return LossTerms(self.weight * ubc1, {"ubc1": ubc1.detach()})


class SeenCompatibilityEntropy:
    """a_w * H(S_2(x_real, Zbar_2^s)), head 2's compatibility entropy (in L_2)."""

    def __init__(self, bilinear: BilinearCompatibility, weight: float) -> None:
        self.bilinear = bilinear
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms:
        gen = step.generation
        sbc2 = compatibility_entropy(self.bilinear(step.batch.x, gen.seen_codes[1]), gen.present)
        return LossTerms(self.weight * sbc2, {"sbc2": sbc2.detach()})


class GramAlignment:
    """c_w * sum_k MSE(Gram(Zbar_k^s), Gram(Zbar_k^u)), the paper's CBC (one Gram term in each
    of L_1, L_2, L_3); ``None`` without unseen classes."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms | None:
        gen = step.generation
        if gen.unseen is None:
            return None
        cbc = structure_alignment_loss(gen.seen_codes, gen.unseen_codes)
        return LossTerms(self.weight * cbc, {"gram_alignment": cbc.detach()})


class Structure:
    """s * (sum of ``parts``): the compatibility, entropy and Gram terms of L_1, L_2, L_3, added
    up in order inside the bracket (parts that return ``None`` are left out), then scaled by s
    = structure_weight. Always a loss (0 when no part applies)."""

    def __init__(self, weight: float, parts: Sequence[Callable[[GeneratorStep],
                                                                LossTerms | None]]) -> None:
        self.weight = weight
        self.parts = tuple(parts)

    def __call__(self, step: GeneratorStep) -> LossTerms:
        total = step.fake.new_zeros(())
        logs: dict[str, torch.Tensor] = {}
        for part in self.parts:
            out = part(step)
            if out is not None:
                total = total + out.loss
                logs.update(out.logs)
        return LossTerms(self.weight * total, logs)

