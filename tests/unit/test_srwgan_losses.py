"""SRWGAN's building blocks and losses on tiny hand-computed inputs, plus gradient flow: each
loss trains exactly the parameters it should."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from anyshot.data.synthetic import make_synthetic
from anyshot.errors import ConfigError
from anyshot.methods.srwgan import SRWGAN, SRWGANConfig
from anyshot.nn.critic import CriticOutput
from anyshot.nn.mapping import NonRedundantMapping
from anyshot.nn.refinement import GaussianHead, SemanticRefinementGenerator
from anyshot.objectives.base import LossTerms
from anyshot.objectives.bias_elimination import (
    kmeans_prototypes,
    mean_prototype_distance,
    nearest_prototype_distance,
)
from anyshot.objectives.information_bottleneck import (
    DualAscentMultiplier,
    InformationBottleneck,
    gaussian_kl,
)
from anyshot.objectives.semantic_alignment import (
    BilinearCompatibility,
    class_means,
    gram,
    gram_alignment_loss,
    mask_absent,
    mean_entropy,
)
from anyshot.objectives.step import CriticStep, GeneratorStep
from anyshot.objectives.triplet_center import TripletCenterLoss, other_labels
from anyshot.training import fit


def gen(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


# ---------------------------------------------------------------- information bottleneck
def test_gaussian_kl_matches_hand_computation():
    mu = t([[1.0, 0.0], [0.0, 0.0]])
    sigma = t([[1.0, 0.5], [1.0, 1.0]])
    # sample 0: 0.5 * [(1 + 1 - log 1 - 1) + (0 + 0.25 - log 0.25 - 1)] = 0.5 * (1 + 0.636294)
    expected = t([0.5 * (1.0 + 0.25 - math.log(0.25) - 1.0), 0.0])
    assert torch.allclose(gaussian_kl(mu, sigma), expected, atol=1e-6)


def test_gaussian_kl_is_finite_when_sigma_underflows():
    kl = gaussian_kl(t([[0.0]]), t([[0.0]]))
    assert torch.isfinite(kl).all()
    assert kl.item() == pytest.approx(0.5 * (-math.log(1e-8) - 1), rel=1e-6)


def test_dual_ascent_update_and_clamp_at_zero():
    m = DualAscentMultiplier(bound=0.5, step=0.1)
    assert m.beta == 0.0
    assert m.update(2.5) == pytest.approx(0.2)           # 0 + 0.1 * (2.5 - 0.5)
    assert m.update(0.0) == pytest.approx(0.15)          # 0.2 + 0.1 * (0 - 0.5)
    assert m.update(-10.0) == 0.0                        # 0.15 - 1.05 < 0 -> clamped
    assert m.update(0.5) == 0.0                          # on the bound: no change
    m.beta.fill_(2.0)
    assert m.penalty(t(1.5)).item() == pytest.approx(2.0)   # 2 * (1.5 - 0.5)
    state = m.state_dict()
    other = DualAscentMultiplier(bound=0.5, step=0.1)
    other.load_state_dict(state)
    assert other.beta == 2.0 and isinstance(state["beta"], float)
    assert DualAscentMultiplier(0.1).step == 1e-6


def test_dual_ascent_updates_beta_in_place_after_the_penalty_is_formed():
    # beta stays one tensor (a CUDA graph reads and writes it at a fixed address); the penalty
    # formed before the update keeps the old beta and still back-propagates.
    m = DualAscentMultiplier(bound=0.5, step=0.1, beta=1.0)
    beta = m.beta
    kl = t(2.5).requires_grad_(True)
    penalty = m.penalty(kl)
    logged = m.update(kl)
    assert m.beta is beta and beta.item() == pytest.approx(1.2)   # 1 + 0.1 * (2.5 - 0.5)
    penalty.backward()
    assert penalty.item() == pytest.approx(2.0)                   # old beta 1 * (2.5 - 0.5)
    assert kl.grad.item() == pytest.approx(1.0)                   # d/dkl = old beta
    m.update(0.5)
    assert logged.item() == pytest.approx(1.2)                    # a log is a copy


def test_information_bottleneck_logs_the_beta_its_penalty_used():
    term = InformationBottleneck(bound=0.0, step=1.0)
    term.multiplier.beta.fill_(2.0)
    out = CriticOutput(code=t([[1.0]]), sigma=t([[1.0]]))   # KL(N(1, 1) || N(0, 1)) = 0.5
    terms = term(CriticStep(None, None, out, out))
    assert terms.loss.item() == pytest.approx(2.0 * 0.5)
    assert terms.logs["ib_beta"].item() == pytest.approx(2.0)     # before the update ...
    assert term.multiplier.beta.item() == pytest.approx(2.5)      # ... which moved beta by 0.5


# ---------------------------------------------------------------- triplet-centre loss
def test_other_label_is_never_the_true_class_and_is_uniform():
    labels = torch.randint(5, (200_000,), generator=gen(1))
    other = other_labels(labels, 5, gen(2))
    assert (other != labels).all()
    assert other.min() >= 0 and other.max() <= 4
    freq = torch.bincount(other[labels == 0], minlength=5).float()
    freq = freq / freq.sum()
    assert freq[0] == 0 and torch.allclose(freq[1:], torch.full((4,), 0.25), atol=0.01)


def test_triplet_center_loss_with_fixed_centres_and_seeded_draw():
    loss_fn = TripletCenterLoss(n_classes=3, dim=2, margin=10.0)
    with torch.no_grad():
        loss_fn.centers.copy_(t([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]]))
    codes = t([[1.0, 0.0], [3.0, 1.0]])
    labels = torch.tensor([0, 1])
    # Hinge 10 + d_own - d_other per (sample, other class):
    # sample 0 (d_own 1): other 1 -> 10 + 1 - 4 = 7;  other 2 -> 10 + 1 - 17 < 0 -> 0
    # sample 1 (d_own 1): other 0 -> 10 + 1 - 10 = 1; other 2 -> 10 + 1 - 18 < 0 -> 0
    table = {(0, 1): 7.0, (0, 2): 0.0, (1, 0): 1.0, (1, 2): 0.0}
    other = other_labels(labels, 3, gen(5))
    expected = np.mean([table[(int(y), int(o))] for y, o in zip(labels, other)])
    assert loss_fn(codes, labels, gen(5)).item() == pytest.approx(expected)
    # Every draw combination is one of the table's cases, so check them all as well.
    for o0 in (1, 2):
        for o1 in (0, 2):
            d_own = t([1.0, 1.0])
            d_other = (codes - loss_fn.centers[torch.tensor([o0, o1])]).pow(2).sum(1)
            hinge = torch.clamp(10.0 + d_own - d_other, min=0)
            assert hinge.tolist() == [table[(0, o0)], table[(1, o1)]]


def test_triplet_center_loss_single_class_is_zero():
    loss_fn = TripletCenterLoss(1, 2, margin=5.0)
    assert loss_fn(t([[1.0, 2.0]]), torch.tensor([0]), gen()).item() == 0.0


# ---------------------------------------------------------------- semantic alignment
def test_class_means_with_an_empty_class():
    codes = t([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    means = class_means(codes, torch.tensor([0, 0, 2]), 3)
    assert torch.equal(means, t([[2.0, 3.0], [0.0, 0.0], [5.0, 6.0]]))


def test_gram_and_gram_alignment():
    Zs = t([[1.0, 0.0], [0.0, 1.0]])
    Zu = t([[1.0, 1.0]])
    assert torch.equal(gram(Zs), torch.eye(2))
    assert torch.equal(gram(Zu), torch.ones(2, 2))
    # MSE(I, 1) = (0 + 1 + 1 + 0) / 4
    assert gram_alignment_loss(Zs, Zu).item() == pytest.approx(0.5)


def test_mean_entropy_uniform_and_one_hot():
    assert mean_entropy(torch.zeros(3, 4)).item() == pytest.approx(math.log(4), abs=1e-6)
    logits = torch.zeros(2, 3, requires_grad=True)
    one_hot = mask_absent(logits, torch.tensor([True, False, False]))
    h = mean_entropy(one_hot)
    assert h.item() == pytest.approx(0.0, abs=1e-7)
    h.backward()
    assert torch.isfinite(logits.grad).all()


def test_bilinear_compatibility_scores():
    bil = BilinearCompatibility(feature_dim=2, code_dim=1)
    with torch.no_grad():
        bil.W.copy_(t([[1.0], [2.0]]))            # W in R^{d x k}, d = 2, k = 1
    X = t([[1.0, 2.0]])
    Zbar = t([[1.0], [3.0]])
    # X W = 1*1 + 2*2 = 5; S = 5 * [1, 3]
    assert torch.equal(bil(X, Zbar), t([[5.0, 15.0]]))
    assert bil.W.shape == (2, 1)


# ---------------------------------------------------------------- prototypes
def test_nearest_prototype_distance_uses_the_own_class_only():
    P = t([[[0.0, 0.0], [2.0, 2.0]],        # class 0
           [[5.0, 5.0], [10.0, 0.0]]])      # class 1
    x = t([[1.0, 1.0], [9.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    # (1,1) vs class 0: min(2, 2); (9,1) vs class 1: min(32, 2); (1,1) vs class 1: min(32, 82)
    assert torch.equal(nearest_prototype_distance(x, y, P), t([2.0, 2.0, 32.0]))


def test_mean_prototype_distance():
    P = t([[[0.0, 0.0], [2.0, 2.0]], [[5.0, 5.0], [10.0, 0.0]]])
    samples = t([[[0.0, 0.0], [2.0, 0.0]],     # mean (1, 0): min(1, 5) = 1
                 [[10.0, 0.0], [10.0, 2.0]]])  # mean (10, 1): min(41, 1) = 1
    assert torch.equal(mean_prototype_distance(samples, P), t([1.0, 1.0]))


def test_batched_kmeans_recovers_clusters_per_class():
    X = t([[0, 0], [0, 1], [10, 0], [10, 1],               # class 0: (0, .5), (10, .5)
           [100, 0], [100, 2], [50, 0], [50, 2], [50, 4],  # class 1: (100, 1), (50, 2)
           [7, 7]])                                        # class 3: one sample
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 3])
    for seed in range(5):
        P = kmeans_prototypes(X, y, n_classes=4, n_clusters=2, rng=gen(seed))
        assert P.shape == (4, 2, 2)

        def rows(c):
            return sorted(map(tuple, P[c].tolist()))

        assert rows(0) == [(0.0, 0.5), (10.0, 0.5)]
        assert rows(1) == [(50.0, 2.0), (100.0, 1.0)]
        assert rows(2) == [(0.0, 0.0), (0.0, 0.0)]          # no samples: zeros
        assert rows(3) == [(7.0, 7.0), (7.0, 7.0)]          # fewer samples than clusters


# ---------------------------------------------------------------- networks
def test_gaussian_head_reparameterization_with_known_sigma():
    head = GaussianHead(attr_dim=2, nz=4)
    with torch.no_grad():
        head.linear.weight.zero_()
        head.linear.bias.copy_(t([1.0, -2.0, 0.0, math.log(3.0)]))
    a = torch.zeros(5, 2)
    out = head(a, gen(3))
    mu = t([1.0, -0.4])                  # LeakyReLU_0.2(-2) = -0.4
    sigma = t([0.5, 0.75])               # sigmoid(0) and sigmoid(log 3)
    eps = torch.randn((5, 2), generator=gen(3))
    assert torch.allclose(out.mu, mu.expand(5, 2))
    assert torch.allclose(out.sigma, sigma.expand(5, 2))
    assert torch.allclose(out.z, mu + sigma * eps)
    many = head(torch.zeros(50_000, 2), gen(4)).z
    assert torch.allclose(many.std(0), sigma, atol=0.01)


def test_refinement_generator_outputs_and_heads():
    G = SemanticRefinementGenerator(attr_dim=3, nz=4, hidden=8, feature_dim=5, n_heads=3)
    out = G(torch.rand(6, 3), gen())
    assert out.x.shape == (6, 5) and (out.x >= 0).all()
    assert len(out.z) == len(out.mu) == 3 and all(z.shape == (6, 2) for z in out.z)
    assert G.net[0].in_features == 3 * 2 + 3
    single = SemanticRefinementGenerator(3, 4, 8, 5, n_heads=1)(torch.rand(2, 3), gen())
    assert single.x.shape == (2, 5) and len(single.z) == 1
    with pytest.raises(ConfigError, match="nz"):
        GaussianHead(3, 5)


def test_mapping_score_and_autoencoder_modes():
    M = NonRedundantMapping(feature_dim=4, attr_dim=2, latent=3, kind="score")
    x, a = torch.rand(5, 4), torch.rand(5, 2)
    code = M.encode(x)
    assert torch.equal(code.z, code.mu) and ((code.sigma > 0) & (code.sigma < 1)).all()
    out = M(x, a, use_mean=True)
    assert torch.allclose(out.score, M.head(torch.cat([code.mu, a], 1)).squeeze(1))
    assert torch.equal(out.code, code.mu) and out.energy is None
    drawn = M.encode(x, gen(1))
    assert torch.allclose(drawn.z, code.mu + code.sigma * torch.randn((5, 3), generator=gen(1)))
    AE = NonRedundantMapping(4, 2, 3, kind="autoencoder")
    e = AE(x, a, use_mean=True)
    recon = AE.head(torch.cat([AE.encode(x).mu, a], 1))
    assert e.score is None and torch.allclose(e.energy, (recon - x).pow(2).mean(1))
    with pytest.raises(ConfigError, match="critic kind"):
        NonRedundantMapping(4, 2, 3, kind="nope")


# ---------------------------------------------------------------- batches and gradient flow
def tiny_method(**overrides) -> tuple[SRWGAN, object]:
    data = make_synthetic(n_classes=6, n_unseen=2, n_attributes=4, n_features=8,
                          samples_per_class=20, seed=0)
    cfg = SRWGANConfig(epochs=0, batch_size=16, nz=4, latent=6, hidden=16, k=0, loss_syn_num=3,
                       n_prototypes=2, **overrides)
    m = SRWGAN(cfg, seed=0)
    fit(m, data)
    return m, data


def test_class_balanced_batch_and_parallel_unseen_batch():
    m, data = tiny_method()
    batch = m.sample_batch()
    n_seen = m.train_classes_.numel()
    assert n_seen == 4 and batch.x.shape == (16, 8)
    counts = torch.bincount(m.seen_local_[batch.y], minlength=n_seen)
    assert (counts == 4).all()                                      # 16 slots / 4 classes
    assert torch.equal(batch.a, m.A_[batch.y])
    rows = (m.X_train_[:, None, :] == batch.x[None, :, :]).all(-1)  # which training rows
    assert torch.equal(m.y_train_[rows.float().argmax(0)], batch.y)
    assert set(batch.y_unseen.tolist()) == set(data.unseen.tolist())
    assert (torch.bincount(m.unseen_local_[batch.y_unseen]) == 8).all()
    assert torch.equal(batch.a_unseen, m.A_[batch.y_unseen])


def test_no_unseen_classes_skips_unseen_terms():
    data = make_synthetic(n_classes=5, n_unseen=1, n_attributes=4, n_features=8,
                          samples_per_class=20, shots=3, seed=0)
    cfg = SRWGANConfig(epochs=1, batch_size=16, nz=4, latent=6, hidden=16, k=0, loss_syn_num=3)
    m = SRWGAN(cfg, seed=0)
    fit(m, data)                               # the unseen class has shots: every class is trained
    assert m.unseen_classes_.numel() == 0
    logs = m.history_[-1]
    assert "gram_alignment" not in logs and "ubc1" not in logs and "sbc1" in logs


def _grads(module: torch.nn.Module) -> list[bool]:
    return [p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters()]


def _total(terms, step) -> LossTerms:
    """The terms of a step summed, with all their logs."""
    parts = [t for t in (term(step) for term in terms) if t is not None]
    return LossTerms(sum(t.loss for t in parts), {k: v for t in parts for k, v in t.logs.items()})


def _zero(m: SRWGAN) -> None:
    for mod in m._modules().values():
        mod.zero_grad(set_to_none=True)


def test_critic_terms_train_the_mapping_and_centres_not_the_generator():
    m, _ = tiny_method()
    _zero(m)
    batch = m.sample_batch()
    with torch.no_grad():
        fake = m.generate(batch.a, m.rng_)
    m.multiplier_.beta = torch.tensor(1.0)
    step = CriticStep(batch, fake, m.critic_view(batch.x, batch.a), m.critic_view(fake, batch.a))
    _total(m.critic_terms_, step).loss.backward()
    assert all(_grads(m.critic_.encoder)) and all(_grads(m.centers_))
    assert not any(_grads(m.generator_)) and not any(_grads(m.bilinear_))
    # The centre loss alone reaches M's encoder and the centres, never M's score head.
    _zero(m)
    mu = m.critic_.encode(batch.x).mu
    m.centers_(mu, m.seen_local_[batch.y], m.rng_).backward()
    assert all(_grads(m.critic_.encoder)) and all(_grads(m.centers_))
    assert not any(_grads(m.critic_.head)) and not any(_grads(m.generator_))


def test_generator_terms_train_the_generator_and_bilinear_maps_not_the_mapping():
    m, _ = tiny_method()
    _zero(m)
    batch = m.sample_batch()
    fake, generation = m.generate_for_training(batch, epoch=1)
    step = GeneratorStep(batch, fake, generation, m.generator_view(fake, batch.a), epoch=1)
    terms = _total(m.generator_terms_, step)
    assert {"cls_loss", "proto_sample", "proto_mean", "sbc1", "ubc1", "sbc2",
            "gram_alignment"} <= set(terms.logs)
    terms.loss.backward()
    assert all(_grads(m.generator_)) and all(_grads(m.bilinear_))
    assert not any(_grads(m.critic_)) and not any(_grads(m.centers_))


def test_each_generator_term_reaches_only_its_own_head():
    m, _ = tiny_method()
    G = m.generator_
    batch = m.sample_batch()
    y = m.seen_local_[batch.y]
    yu = m.unseen_local_[batch.y_unseen]
    out = G(batch.a, m.rng_)
    out_u = G(batch.a_unseen, m.rng_)
    # Compatibility CE of head 1: head 1 and bilinear map 1 only.
    _zero(m)
    scores = m.bilinear_[0](batch.x, class_means(out.z[0], y, 4))
    torch.nn.functional.cross_entropy(scores, y).backward(retain_graph=True)
    assert all(_grads(G.heads[0])) and all(_grads(m.bilinear_[0]))
    assert not any(_grads(G.heads[1])) and not any(_grads(G.heads[2])) and not any(_grads(G.net))
    assert not any(_grads(m.bilinear_[1]))
    # Gram alignment of head 3: head 3 only.
    _zero(m)
    gram_alignment_loss(class_means(out.z[2], y, 4), class_means(out_u.z[2], yu, 2)).backward(
        retain_graph=True)
    assert all(_grads(G.heads[2])) and not any(_grads(G.heads[0])) and not any(_grads(G.net))
    # Prototype term on the features: the whole generator, no bilinear map.
    _zero(m)
    nearest_prototype_distance(out.x, y, m.prototypes_).mean().backward(retain_graph=True)
    assert all(_grads(G)) and not any(_grads(m.bilinear_)) and not any(_grads(m.critic_))


def test_generator_adversarial_loss_reads_the_mean_code():
    m, _ = tiny_method()
    batch = m.sample_batch()
    x = batch.x
    out = m.generator_view(x, batch.a)
    code = m.critic_.encode(x)
    expected = m.critic_.head(torch.cat([code.mu, batch.a], 1)).squeeze(1)
    assert torch.allclose(out.score, expected)
    assert torch.allclose(m.transform(x), code.mu)


def test_ablation_switches_drop_modules():
    m, _ = tiny_method(use_mapping=False, use_bias_elimination=False, single_head=True)
    assert set(m._modules()) == {"generator", "critic"}
    assert m.generator_.n_heads == 1 and m.centers_ is None
    x = m.X_train_[:3]
    assert torch.equal(m.transform(x), x)
    full, _ = tiny_method()
    assert set(full._modules()) == {"generator", "critic", "centers", "bilinear1", "bilinear2"}
