"""SRWGAN's terms one by one, and the losses and class-balanced sampling behind them, against
values computed by hand on tiny inputs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from anyshot.data.sampling import (
    ClassBalancedSampler,
    cycled_choice,
    cycled_classes,
    local_index,
)
from anyshot.data.synthetic import make_synthetic
from anyshot.methods import srwgan_terms as terms
from anyshot.methods.srwgan import SRWGAN, SRWGANConfig
from anyshot.methods.srwgan_terms import RefinementBatch, RefinementGeneration
from anyshot.nn.critic import CriticOutput
from anyshot.nn.refinement import RefinementOutput
from anyshot.objectives.base import LossTerms
from anyshot.objectives.bias_elimination import mean_prototype_loss, sample_prototype_loss
from anyshot.objectives.class_mean_classification import class_mean_cross_entropy
from anyshot.objectives.information_bottleneck import InformationBottleneck
from anyshot.objectives.score_drift import real_score_drift
from anyshot.objectives.semantic_alignment import (
    BilinearCompatibility,
    compatibility_cross_entropy,
    compatibility_entropy,
    structure_alignment_loss,
)
from anyshot.objectives.step import CriticStep, GeneratorStep
from anyshot.objectives.triplet_center import TripletCenterLoss
from anyshot.training import fit


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def b(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.bool)


def i64(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.int64)


def approx(value: torch.Tensor, expected: float) -> bool:
    return value.item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


# Hand-computed examples shared by a loss and its term.
# Classification: real class means Xbar = [[2, 0], [0, 2], absent]; fakes [1,0], [0,1], [1,1] of
# classes 0, 0, 1 have logits [2, 0], [0, 2], [2, 2] (class 2 masked out).
CLS_REAL, CLS_FAKE = t([[1, 0], [3, 0], [0, 2]]), t([[1, 0], [0, 1], [1, 1]])
CLS_Y, CLS_PRESENT = i64([0, 0, 1]), b([True, True, False])
CLS = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2)) + math.log(2)) / 3
# Prototypes on a line: class 0 at 0 and 3, class 1 at 10 and 20.
PROTOS = t([[[0.0], [3.0]], [[10.0], [20.0]]])
PROTO_SAMPLE = (min(2 ** 2, 1 ** 2) + min(2 ** 2, 8 ** 2)) / 2        # x = 2 (class 0), 12 (1)
PROTO_MEAN = (min(2 ** 2, 1 ** 2) + min(6 ** 2, 4 ** 2)) / 2          # means 2 (class 0), 16 (1)
H_QUARTER = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))         # softmax [0, log 3]


# ---------------------------------------------------------------- losses (objectives)
def test_real_score_drift_is_the_squared_mean_score():
    assert approx(real_score_drift(t([1.0, 2.0, 3.0])), 4.0)            # (6 / 3)^2
    assert approx(real_score_drift(t([-1.0, 1.0])), 0.0)


def test_class_mean_cross_entropy_by_hand():
    assert approx(class_mean_cross_entropy(CLS_FAKE, CLS_REAL, CLS_Y, CLS_PRESENT), CLS)
    # Unmasked, absent class 2 (mean 0, logit 0) would take probability: a different value.
    everything = class_mean_cross_entropy(CLS_FAKE, CLS_REAL, CLS_Y, b([True, True, True]))
    assert not approx(everything, CLS)


def test_compatibility_cross_entropy_and_entropy_by_hand():
    scores = t([[1.0, 2.0, 9.0], [0.0, 0.0, 9.0]])
    present = b([True, True, False])                                     # column 2 masked
    sbc = compatibility_cross_entropy(scores, i64([1, 0]), present)
    assert approx(sbc, (math.log(1 + math.exp(-1)) + math.log(2)) / 2)
    assert approx(compatibility_entropy(t([[0.0, 0.0, 5.0]]), present), math.log(2))
    assert approx(compatibility_entropy(t([[0.0, math.log(3.0)]]), b([True, True])), H_QUARTER)


def test_structure_alignment_sums_the_gram_mse_of_every_head():
    # Head 1: Gram [[1, 0], [0, 0]] vs [[0, 0], [0, 1]] -> MSE 2 / 4; head 2: [[2]] vs [[1]] -> 1.
    seen, unseen = [t([[1.0, 0.0]]), t([[1.0], [1.0]])], [t([[0.0, 1.0]]), t([[1.0]])]
    assert approx(structure_alignment_loss(seen, unseen), 0.5 + 1.0)
    assert approx(structure_alignment_loss(seen[:1], unseen[:1]), 0.5)


def test_prototype_losses_by_hand():
    assert approx(sample_prototype_loss(t([[2.0], [12.0]]), i64([0, 1]), PROTOS), PROTO_SAMPLE)
    samples = t([[[1.0], [3.0]], [[14.0], [18.0]]])
    assert approx(mean_prototype_loss(samples, PROTOS), PROTO_MEAN)


# ---------------------------------------------------------------- class-balanced sampling
def test_local_index_maps_classes_to_their_positions():
    assert local_index(i64([4, 1]), 6).tolist() == [-1, 1, -1, -1, 0, -1]
    assert local_index(i64([]), 3).tolist() == [-1, -1, -1]


def test_cycled_classes_are_permutations_drawn_in_order():
    slots = cycled_classes(3, 7, gen(0), torch.device("cpu"))
    assert slots.shape == (7,)
    assert sorted(slots[:3].tolist()) == sorted(slots[3:6].tolist()) == [0, 1, 2]
    # One uniform draw per class and permutation: 3 x 3 draws, each row argsorted.
    u = torch.rand(3, 3, generator=gen(0))
    by_hand = [min(range(3), key=lambda j: u[r, j].item()) for r in range(3)]
    assert [slots[0].item(), slots[3].item(), slots[6].item()] == by_hand


def test_cycled_choice_takes_from_the_classes_and_draws_nothing_when_empty():
    rng = gen(1)
    picked = cycled_choice(i64([7, 9]), 4, rng)
    assert sorted(picked[:2].tolist()) == sorted(picked[2:].tolist()) == [7, 9]
    state = rng.get_state()
    assert cycled_choice(i64([]), 4, rng).numel() == 0
    assert torch.equal(rng.get_state(), state)


def test_class_balanced_sampler_index_and_draws_by_hand():
    # Samples 0..4 of classes 1, 0, 1, 2, 1; class 3 has none.
    s = ClassBalancedSampler(i64([1, 0, 1, 2, 1]), 4)
    assert s.order.tolist() == [1, 0, 2, 4, 3]                       # class 0 | 1 1 1 | 2
    assert s.counts.tolist() == [1, 3, 1, 0] and s.starts.tolist() == [0, 1, 4, 5]
    assert s.classes.tolist() == [0, 1, 2]                            # class 3 never picked
    idx = s.draw(6, gen(3))
    # The same draws by hand: two permutations of the 3 classes, then u per slot.
    g = gen(3)
    perm = torch.rand(2, 3, generator=g).argsort(dim=1).reshape(-1).tolist()
    u = torch.rand(6, generator=g).tolist()
    members = {0: [1], 1: [0, 2, 4], 2: [3]}
    assert idx.tolist() == [members[c][math.floor(u[i] * len(members[c]))]
                            for i, c in enumerate(perm)]
    labels = i64([1, 0, 1, 2, 1])[idx]
    assert torch.bincount(labels, minlength=4).tolist() == [2, 2, 2, 0]


# ---------------------------------------------------------------- steps for the terms
def generation(y, present, seen_codes, unseen=None, present_unseen=None, unseen_codes=()):
    return RefinementGeneration(i64(y), b(present), [t(z) for z in seen_codes], unseen, None,
                                None if present_unseen is None else b(present_unseen),
                                [t(z) for z in unseen_codes])


def generator_step(fake, x=None, gen_=None, epoch=1, y=None) -> GeneratorStep:
    batch = RefinementBatch(x, y, None, None, None)
    return GeneratorStep(batch, fake, gen_, CriticOutput(), epoch)


def bilinear(W) -> BilinearCompatibility:
    """S(X, Zbar) = X W Zbar^T with W (d x k) given."""
    W = t(W)
    layer = BilinearCompatibility(W.shape[0], W.shape[1])
    with torch.no_grad():
        layer.W.copy_(W)
    return layer


def test_refinement_generation_class_means_and_present_classes():
    g = RefinementGeneration.of_seen(i64([0, 0, 2]), 3, [t([[1.0], [3.0], [5.0]])])
    assert g.seen_codes[0].tolist() == [[2.0], [0.0], [5.0]]          # class 1 absent: zeros
    assert g.present.tolist() == [True, False, True] and g.unseen is None
    out = RefinementOutput(t([[0.5], [0.5]]), (t([[2.0], [4.0]]),), (t([[0.0], [0.0]]),))
    gu = g.with_unseen(out, i64([1, 1]), 2)
    assert gu.unseen is out and gu.y_unseen.tolist() == [1, 1]
    assert gu.unseen_codes[0].tolist() == [[0.0], [3.0]]
    assert gu.present_unseen.tolist() == [False, True]
    assert RefinementGeneration.of_seen(i64([0]), 1, []).seen_codes == []


# ---------------------------------------------------------------- critic terms
def test_real_score_drift_term_weights_and_logs():
    step = CriticStep(None, None, CriticOutput(score=t([1.0, 2.0, 3.0])), CriticOutput())
    out = terms.RealScoreDrift(0.5)(step)
    assert approx(out.loss, 0.5 * 4.0) and list(out.logs) == ["real_score_sq"]
    assert approx(out.logs["real_score_sq"], 4.0) and not out.logs["real_score_sq"].requires_grad
    energy = CriticStep(None, None, CriticOutput(energy=t([1.0])), CriticOutput())
    assert terms.RealScoreDrift(0.5)(energy) is None                  # no score, no drift


def test_triplet_center_term_by_hand():
    # Two classes: the other class is the only other one. Centres 0 and 10, codes 1 and 9:
    # max(0, 100 + 1 - 81) = 20 for both samples.
    centers = TripletCenterLoss(2, 1, margin=100.0)
    with torch.no_grad():
        centers.centers.copy_(t([[0.0], [10.0]]))
    local = i64([-1, 0, 1])                                           # global classes 1, 2
    rng = gen(0)
    term = terms.TripletCenter(centers, local, rng, weight=0.1)
    batch = RefinementBatch(None, i64([1, 2]), None, None, None)
    state = rng.get_state()
    out = term(CriticStep(batch, None, CriticOutput(code=t([[1.0], [9.0]])), CriticOutput()))
    assert approx(out.loss, 0.1 * 20.0) and approx(out.logs["center_loss"], 20.0)
    assert not torch.equal(rng.get_state(), state)                    # y' drawn from rng


# ---------------------------------------------------------------- generator terms
def test_classification_term_by_hand():
    g = generation(CLS_Y.tolist(), CLS_PRESENT.tolist(), [])
    out = terms.Classification(2.0)(generator_step(CLS_FAKE, x=CLS_REAL, gen_=g))
    assert approx(out.loss, 2.0 * CLS) and approx(out.logs["cls_loss"], CLS)


def test_sample_prototypes_term_by_hand():
    g = generation([0, 1], [True, True], [])
    out = terms.SamplePrototypes(PROTOS, 0.3)(generator_step(t([[2.0], [12.0]]), gen_=g))
    assert approx(out.loss, 0.3 * PROTO_SAMPLE) and approx(out.logs["proto_sample"], PROTO_SAMPLE)


def test_mean_prototypes_term_draws_per_class_and_matches_by_hand():
    calls = []

    def generator(a, rng):                                            # G(a) = a, and records
        calls.append((a, rng))
        return SimpleNamespace(x=a)

    attributes, rng = t([[1.0], [3.0], [14.0], [18.0]]), gen(0)       # 2 draws per class
    term = terms.MeanPrototypes(generator, attributes, 2, PROTOS, rng, weight=0.5)
    out = term(generator_step(t([[0.0]])))
    assert approx(out.loss, 0.5 * PROTO_MEAN) and approx(out.logs["proto_mean"], PROTO_MEAN)
    assert len(calls) == 1 and calls[0][0] is attributes and calls[0][1] is rng


def test_seen_compatibility_term_by_hand():
    # X W = [[1], [0]], Zbar_1^s = [[1], [2]]: scores [[1, 2], [0, 0]], classes 1 and 0.
    g = generation([1, 0], [True, True], [[[1.0], [2.0]]])
    out = terms.SeenCompatibility(bilinear([[1.0], [0.0]]), 0.1)(
        generator_step(t([[0.0, 0.0]]), x=t([[1.0, 0.0], [0.0, 1.0]]), gen_=g))
    sbc = (math.log(1 + math.exp(-1)) + math.log(2)) / 2
    assert approx(out.loss, 0.1 * sbc) and list(out.logs) == ["sbc1"]
    assert approx(out.logs["sbc1"], sbc)


def test_unseen_compatibility_term_after_epoch_k_only():
    # One unseen fake, X W = [[1]], Zbar_1^u = [[0], [0], [5]] with class 2 absent: H = log 2.
    unseen = RefinementOutput(t([[1.0, 0.0]]), (), ())
    g = generation([0], [True], [[[1.0]]], unseen=unseen, present_unseen=[True, True, False],
                   unseen_codes=[[[0.0], [0.0], [5.0]]])
    term = terms.UnseenCompatibility(bilinear([[1.0], [0.0]]), 0.01, after_epoch=3)
    assert term(generator_step(t([[0.0]]), gen_=g, epoch=3)) is None
    out = term(generator_step(t([[0.0]]), gen_=g, epoch=4))
    assert approx(out.loss, 0.01 * math.log(2)) and approx(out.logs["ubc1"], math.log(2))
    no_unseen = generation([0], [True], [[[1.0]]])
    assert term(generator_step(t([[0.0]]), gen_=no_unseen, epoch=4)) is None


def test_seen_compatibility_entropy_term_reads_head_two():
    # Head 2's Zbar_2^s = [[0], [log 3]] and X W = [[1]]: softmax [1/4, 3/4].
    g = generation([0], [True, True], [[[9.0], [9.0]], [[0.0], [math.log(3.0)]]])
    out = terms.SeenCompatibilityEntropy(bilinear([[1.0]]), 0.1)(
        generator_step(t([[0.0]]), x=t([[1.0]]), gen_=g))
    assert approx(out.loss, 0.1 * H_QUARTER) and approx(out.logs["sbc2"], H_QUARTER)


def test_gram_alignment_term_by_hand():
    unseen = RefinementOutput(t([[0.0]]), (), ())
    g = generation([0], [True], [[[1.0, 0.0]], [[1.0], [1.0]]], unseen=unseen,
                   present_unseen=[True], unseen_codes=[[[0.0, 1.0]], [[1.0]]])
    out = terms.GramAlignment(0.2)(generator_step(t([[0.0]]), gen_=g))
    assert approx(out.loss, 0.2 * 1.5) and approx(out.logs["gram_alignment"], 1.5)
    assert terms.GramAlignment(0.2)(generator_step(t([[0.0]]),
                                                   gen_=generation([0], [True], []))) is None


def test_structure_adds_its_parts_in_order_then_scales():
    def part(value, name):
        return lambda step: LossTerms(t(value), {name: t(value)})

    step = generator_step(t([[0.0]]))
    out = terms.Structure(0.5, [part(2.0, "a"), lambda step: None, part(3.0, "b")])(step)
    assert approx(out.loss, 0.5 * 5.0) and list(out.logs) == ["a", "b"]
    # In float32 ((0 + 1e8) + 1) - 1e8 is 0, while 1 + (1e8 - 1e8) would be 1: order kept.
    ordered = terms.Structure(1.0, [part(1e8, "x"), part(1.0, "y"), part(-1e8, "z")])(step)
    assert ordered.loss.item() == 0.0
    empty = terms.Structure(0.5, [lambda step: None])(step)
    assert empty.loss.item() == 0.0 and empty.logs == {}


# ---------------------------------------------------------------- SRWGAN's term list
def fitted(**overrides) -> SRWGAN:
    data = make_synthetic(n_classes=6, n_unseen=2, n_attributes=4, n_features=8,
                          samples_per_class=20, seed=0)
    cfg = SRWGANConfig(epochs=0, batch_size=16, nz=4, latent=6, hidden=16, k=0, loss_syn_num=3,
                       n_prototypes=2, **overrides)
    return fit(SRWGAN(cfg, seed=0), data)


def kinds(seq) -> list[str]:
    return [type(x).__name__ for x in seq]


@pytest.mark.parametrize("overrides, critic, generator, structure", [
    ({}, ["RealScoreDrift", "InformationBottleneck", "TripletCenter"],
     ["Classification", "SamplePrototypes", "MeanPrototypes", "Structure"],
     ["SeenCompatibility", "UnseenCompatibility", "SeenCompatibilityEntropy", "GramAlignment"]),
    (dict(single_head=True, use_center_loss=False), ["RealScoreDrift", "InformationBottleneck"],
     ["Classification", "SamplePrototypes", "MeanPrototypes", "Structure"],
     ["SeenCompatibility", "UnseenCompatibility", "GramAlignment"]),
    (dict(use_mapping=False, use_bias_elimination=False), ["RealScoreDrift"],
     ["Classification", "Structure"], ["GramAlignment"]),
    (dict(use_bias_elimination=False, use_alignment=False), None, ["Classification"], None),
])
def test_switches_choose_the_terms_in_their_order(overrides, critic, generator, structure):
    m = fitted(**overrides)
    if critic is not None:
        assert kinds(m.critic_terms_) == critic
    assert kinds(m.generator_terms_) == generator
    if structure is not None:
        assert kinds(m.generator_terms_[-1].parts) == structure


def test_only_the_bottleneck_keeps_checkpoint_state():
    m = fitted()
    stateful = [x for x in (*m.critic_terms_, *m.generator_terms_) if hasattr(x, "state_dict")]
    assert len(stateful) == 1 and isinstance(stateful[0], InformationBottleneck)
    assert list(stateful[0].state_dict()) == ["beta"]
    assert stateful[0].multiplier is m.multiplier_
