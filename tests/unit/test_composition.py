"""Compositional conditioning, the factorised Gaussian, attribute consistency, the Gaussian final
classifier and the TEP window transform, each against values computed by hand."""

import math

import numpy as np
import pytest
import torch

from anyshot.data.dataset import AnyShotData
from anyshot.data.tep import _windows
from anyshot.errors import ConfigError
from anyshot.evaluation.gaussian_classifier import FullGaussianClassifier, GaussianClassifier
from anyshot.evaluation.task import Task
from anyshot.methods import make_method
from anyshot.nn.conditioning import CompositionalEmbedding, SemanticInput
from anyshot.nn.factorised_gaussian import (
    FactorisedGaussian,
    class_balance_weights,
    held_out_log_scale,
)
from anyshot.nn.generator import ConditionalGenerator
from anyshot.objectives.attribute_consistency import AttributeConsistency
from anyshot.training import fit


def test_compositional_embedding_sums_the_parts_of_each_value() -> None:
    emb = CompositionalEmbedding(attr_dim=2, code_dim=1)
    with torch.no_grad():
        emb.present.weight.copy_(torch.tensor([[10.0, 20.0]]))   # E1_1 = 10, E1_2 = 20
        emb.absent.weight.copy_(torch.tensor([[1.0, 2.0]]))      # E0_1 = 1,  E0_2 = 2
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    # h = (part of a_1's value + part of a_2's value) / 2
    expected = torch.tensor([[(10 + 2) / 2], [(1 + 20) / 2], [(10 + 20) / 2], [(1 + 2) / 2]])
    torch.testing.assert_close(emb(a), expected)
    # An unseen combination is the mean of parts that other combinations trained:
    # h(1,1) = h(1,0) + h(0,1) - h(0,0).
    out = emb(a)
    torch.testing.assert_close(out[2], out[0] + out[1] - out[3])


def test_semantic_input_rejects_unknown_names() -> None:
    with pytest.raises(ConfigError, match="conditioning"):
        SemanticInput(3, 4, conditioning="mlp")
    with pytest.raises(ConfigError, match="prior"):
        SemanticInput(3, 4, prior="gaussian")


def _toy_fg() -> tuple[FactorisedGaussian, torch.Tensor]:
    # 3 training classes over 2 binary attributes; 1-d features, 2 samples each.
    A = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])  # class 3 is unseen
    X = torch.tensor([[1.0], [3.0], [10.0], [12.0], [5.0], [7.0]])
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    return FactorisedGaussian(2, 1).fit(X, y, A, threshold=0.5, var_smoothing=0.0), A


def test_factorised_gaussian_pools_parts_by_precision() -> None:
    fg, A = _toy_fg()
    # Attribute 1 = 1: class 0 -> {1, 3}: mean 2, var 1. Attribute 2 = 1: class 1 -> {10, 12}:
    # mean 11, var 1. For unseen class 3 (1, 1) both parts have precision 1:
    # mean = (2 + 11) / 2 = 6.5, var = |I| / P = 2 / 2 = 1.
    mean, var = fg(A[3:])
    torch.testing.assert_close(mean, torch.tensor([[6.5]]))
    torch.testing.assert_close(var, torch.tensor([[1.0]]))
    # Class 2 (0, 0): attribute 1 = 0 -> {10, 12, 5, 7}: mean 8.5, var 7.25;
    # attribute 2 = 0 -> {1, 3, 5, 7}: mean 4, var 5.
    p1, p2 = 1 / 7.25, 1 / 5
    mean, var = fg(A[2:3])
    torch.testing.assert_close(mean, torch.tensor([[(8.5 * p1 + 4 * p2) / (p1 + p2)]]))
    torch.testing.assert_close(var, torch.tensor([[2 / (p1 + p2)]]))


def test_factorised_gaussian_skips_attributes_constant_over_training_classes() -> None:
    A = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])  # attribute 2 is 1 for both seen
    X = torch.tensor([[0.0], [2.0], [4.0], [6.0]])
    y = torch.tensor([0, 0, 1, 1])
    fg = FactorisedGaussian(2, 1).fit(X, y, A, threshold=0.5, var_smoothing=0.0)
    assert fg.informative.tolist() == [1.0, 0.0]
    mean, var = fg(A[2:])  # unseen class: a_1 = 1 -> class 0's samples only
    torch.testing.assert_close(mean, torch.tensor([[1.0]]))
    torch.testing.assert_close(var, torch.tensor([[1.0]]))


def test_factorised_gaussian_weighs_classes_alike_unless_told_samples() -> None:
    # Attribute 1 = 1 for classes 0 and 1: class 0 has three rows at 0, class 1 one row at 4.
    # Attribute 2 separates them: class 0 has a_2 = 0, class 1 a_2 = 1; class 2 = (0, 0).
    A = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    X = torch.tensor([[0.0], [0.0], [0.0], [4.0], [8.0], [10.0], [9.0]])
    y = torch.tensor([0, 0, 0, 1, 2, 2, 2])
    rows = FactorisedGaussian(2, 1).fit(X, y, A, threshold=0.5, var_smoothing=0.0,
                                        balance="samples")
    classes = FactorisedGaussian(2, 1).fit(X, y, A, threshold=0.5, var_smoothing=0.0)
    # part (a_1 = 1), by rows: {0, 0, 0, 4}: mean 1, var 4 - 1 = 3. By classes (weights
    # n_max / n_c = 1, 1, 1, 3): mean (0 + 12) / 6 = 2, var (16 * 3) / 6 - 4 = 4.
    torch.testing.assert_close(rows.mean_parts[1, 0], torch.tensor([1.0]))
    torch.testing.assert_close(rows.log_var_parts[1, 0].exp(), torch.tensor([3.0]))
    torch.testing.assert_close(classes.mean_parts[1, 0], torch.tensor([2.0]))
    torch.testing.assert_close(classes.log_var_parts[1, 0].exp(), torch.tensor([4.0]))
    # part (a_2 = 0): classes 0 and 2 have three rows each, so both give {0, 0, 0, 8, 10, 9}
    torch.testing.assert_close(classes.mean_parts[0, 1], rows.mean_parts[0, 1])
    assert class_balance_weights(y, "samples") is None
    assert class_balance_weights(torch.tensor([2, 2, 0, 0]), "classes") is None  # equal sizes
    torch.testing.assert_close(class_balance_weights(y, "classes"),
                               torch.tensor([1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0]))


def test_the_variance_scale_skips_classes_of_one_row() -> None:
    # class 0: rows 0 and 2 (variance 1), pooled without it at variance 4; class 1: a single
    # shot, whose variance (0) measures nothing: log kappa = log 1 - log 4 from class 0 alone
    X = torch.tensor([[0.0], [2.0], [5.0]])
    y = torch.tensor([0, 0, 1])
    held_out = {0: torch.tensor([4.0]), 1: torch.tensor([9.0])}
    log_kappa = held_out_log_scale(X, y, 0.0, lambda c: held_out[c])
    torch.testing.assert_close(log_kappa, torch.tensor([-math.log(4.0)]))
    # no class with two rows: no scale
    torch.testing.assert_close(held_out_log_scale(X[1:], y[1:], 0.0, lambda c: held_out[c]),
                               torch.zeros(1))


def _split(X: np.ndarray, y: np.ndarray, A: np.ndarray) -> AnyShotData:
    """Every sample for training, classes 0-2 seen, 3 unseen."""
    return AnyShotData.create(X, y, A, seen=[0, 1, 2], unseen=[3], trainval=np.arange(len(y)),
                              test_seen=[], test_unseen=[])


def test_generator_with_a_prior_starts_as_the_prior() -> None:
    fg_method = make_method("clswgan", {"prior": "factorised-gaussian", "out": "none",
                                        "hidden": 8, "critic_hidden": 8, "epochs": 1,
                                        "batch_size": 4, "pretrain": {"epochs": 1}})
    X = np.array([[1.0], [3.0], [10.0], [12.0], [5.0], [7.0]], dtype=np.float32)
    y = np.array([0, 0, 1, 1, 2, 2])
    A = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=np.float32)
    fg_method.config.lr = 0.0  # no update: G must still be exactly the prior
    fit(fg_method, _split(X, y, A), epochs=1)
    feats, labels = fg_method.synthesize(np.array([3]), 4000, seed=0)
    assert abs(float(feats.mean()) - 6.5) < 0.1 and abs(float(feats.var()) - 1.0) < 0.1
    assert labels.unique().tolist() == [3]


def test_conditional_generator_with_a_prior_needs_its_rng() -> None:
    gen = ConditionalGenerator(2, 3, 4, 1, "none", SemanticInput(2, 1, prior="factorised-gaussian"))
    with pytest.raises(ValueError, match="rng"):
        gen(torch.zeros(1, 3), torch.zeros(1, 2))


def test_attribute_consistency_is_the_bce_of_the_frozen_readers() -> None:
    cons = AttributeConsistency(feature_dim=2, attr_dim=2)
    with torch.no_grad():
        cons.readers.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        cons.readers.bias.copy_(torch.tensor([0.0, -1.0]))
    fake = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # logits: sample 1 -> (1, 1), sample 2 -> (-1, -1)
    # attribute 1: BCE(1, 1) = log(1 + e^-1), BCE(-1, 0) = log(1 + e^-1)
    # attribute 2: BCE(1, 0) = log(1 + e^1),  BCE(-1, 1) = log(1 + e^1)
    expected = (math.log1p(math.exp(-1)) + math.log1p(math.exp(1))) / 2
    assert cons(fake, a).item() == pytest.approx(expected, rel=1e-6)
    # With attribute 2 masked out (constant over the training classes) only attribute 1 counts.
    cons.mask.copy_(torch.tensor([1.0, 0.0]))
    assert cons(fake, a).item() == pytest.approx(math.log1p(math.exp(-1)), rel=1e-6)
    fake.requires_grad_(True)
    cons(fake, a).backward()
    assert cons.readers.weight.grad is None  # the readers stay frozen; only G gets gradients
    assert fake.grad is not None


def test_attribute_consistency_readers_learn_and_mask_constant_attributes() -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 3, generator=g)
    targets = torch.stack([(X[:, 0] > 0).float(), torch.ones(200)], dim=1)
    cons = AttributeConsistency(3, 2).fit(X, targets, generator=g)
    assert cons.mask.tolist() == [1.0, 0.0]
    acc = ((cons.readers(X)[:, 0] > 0).float() == targets[:, 0]).float().mean()
    assert acc > 0.95
    assert all(not p.requires_grad for p in cons.parameters())


def test_attribute_consistency_regresses_continuous_attributes() -> None:
    cons = AttributeConsistency(1, 1)
    cons.fit(torch.tensor([[0.0], [1.0]]), torch.tensor([[0.2], [0.7]]), steps=0)
    assert not cons.is_binary
    with torch.no_grad():
        cons.readers.weight.fill_(1.0)
        cons.readers.bias.zero_()
    # squared error: ((0.5 - 0.2)^2 + (1.0 - 0.7)^2) / 2
    val = cons(torch.tensor([[0.5], [1.0]]), torch.tensor([[0.2], [0.7]])).item()
    assert val == pytest.approx(0.09, rel=1e-5)


def test_gaussian_classifier_scores_are_log_likelihoods() -> None:
    X = torch.tensor([[0.0], [2.0], [10.0], [14.0]])
    y = torch.tensor([0, 0, 1, 1])
    clf = GaussianClassifier(var_smoothing=0.0).fit(X, y, 2)
    torch.testing.assert_close(clf.mean_, torch.tensor([[1.0], [12.0]]))
    torch.testing.assert_close(clf.var_, torch.tensor([[1.0], [4.0]]))
    ll = clf.logits(torch.tensor([[3.0]]))
    expected = [-0.5 * (4.0 + math.log(2 * math.pi)), -0.5 * (81 / 4 + math.log(8 * math.pi))]
    torch.testing.assert_close(ll, torch.tensor([expected]))
    shared = GaussianClassifier(shared=True, var_smoothing=0.0).fit(X, y, 2)
    torch.testing.assert_close(shared.var_, torch.tensor([[2.5], [2.5]]))


def test_full_covariance_classifiers_read_correlations() -> None:
    # Class 0: (2, 1), (-2, -1), (1, 2), (-1, -2): mean 0, covariance [[2.5, 2], [2, 2.5]]
    # (det 2.25, inverse [[2.5, -2], [-2, 2.5]] / 2.25); class 1: the same points + (10, 10).
    pts = torch.tensor([[2.0, 1.0], [-2.0, -1.0], [1.0, 2.0], [-1.0, -2.0]])
    X = torch.cat([pts, pts + 10.0])
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    x = torch.tensor([[1.0, -1.0]])               # against the correlation of class 0
    const = math.log(2.25) + 2 * math.log(2 * math.pi)
    quad0 = (2.5 + 2.5 + 4.0) / 2.25              # = 4
    quad1 = (2.5 * 81 + 2.5 * 121 - 4.0 * 99) / 2.25   # diff (-9, -11)
    expected = torch.tensor([[-0.5 * (quad0 + const), -0.5 * (quad1 + const)]])
    for tied in (False, True):                    # equal class covariances: the pooled one too
        clf = FullGaussianClassifier(tied=tied, var_smoothing=0.0).fit(X, y, 2)
        torch.testing.assert_close(clf.logits(x), expected)
    # the diagonal model sees only the variances: quadratic term 1 / 2.5 + 1 / 2.5 = 0.8
    diag = GaussianClassifier(var_smoothing=0.0).fit(X, y, 2).logits(x)
    assert diag[0, 0].item() == pytest.approx(-0.5 * (0.8 + 2 * math.log(2.5)
                                                     + 2 * math.log(2 * math.pi)))


def test_generalized_tasks_may_use_their_own_final_classifier() -> None:
    from anyshot.data.synthetic import make_synthetic

    data = make_synthetic(n_classes=6, n_unseen=2, n_features=5, n_attributes=4,
                          samples_per_class=20, seed=0)
    m = fit(make_method("factorised-gaussian", {"gzsl_final_classifier": "gaussian-full",
                                                "syn_num": 20}, seed=0), data)
    zsl = m.build_classifier(Task.of(data, "zsl"))
    everything = Task.of(data, "gzsl")
    tv = data.trainval
    gzsl = m.build_classifier(everything, data.X[tv], data.y[tv])
    assert type(zsl.clf) is GaussianClassifier and type(gzsl.clf) is FullGaussianClassifier
    same = fit(make_method("factorised-gaussian", {"syn_num": 20}, seed=0), data)
    assert type(same.build_classifier(everything, data.X[tv], data.y[tv]).clf) \
        is GaussianClassifier                     # default: final_classifier for both


def test_final_classifier_choice_is_validated() -> None:
    with pytest.raises(ConfigError, match="gzsl_final_classifier"):
        make_method("clswgan", {"gzsl_final_classifier": "knn"})
    with pytest.raises(ConfigError, match="final_classifier"):
        make_method("clswgan", {"final_classifier": "knn"})
    with pytest.raises(ConfigError, match="dap_weight"):
        make_method("factorised-gaussian", {"dap_weight": -1.0})


def test_window_transform_on_a_tiny_run() -> None:
    run = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0], [6.0, 1.0]])
    out = _windows(run, 3, ("mean", "std", "slope"))
    # windows rows 0-2 and 1-3; per variable mean, std (population), slope per step
    mean = [[2.0, 2.0], [4.0, 2.0]]
    std = [[np.std([0, 2, 4]), np.std([1, 1, 4])], [np.std([2, 4, 6]), np.std([1, 4, 1])]]
    slope = [[2.0, 1.5], [2.0, 0.0]]
    np.testing.assert_allclose(out, np.hstack([mean, std, slope]))


def test_windows_never_cross_runs_and_treat_seen_and_unseen_alike() -> None:
    # Two runs summarised separately equal the windows of each run alone: no window takes rows
    # of both, and the same function transforms every run, seen or unseen.
    r1 = np.arange(10, dtype=np.float64).reshape(5, 2)
    r2 = 100 + np.arange(8, dtype=np.float64).reshape(4, 2)
    w1, w2 = _windows(r1, 3, ("mean",)), _windows(r2, 3, ("mean",))
    assert w1.shape == (3, 2) and w2.shape == (2, 2)
    assert w1.max() < 100 <= w2.min()
    joined = _windows(np.vstack([r1, r2]), 3, ("mean",))
    assert joined.shape[0] == w1.shape[0] + w2.shape[0] + 2  # 2 windows would straddle the runs


def test_consistency_heads_feed_generation_with_the_switch_on() -> None:
    m = make_method("clswgan", {"attribute_consistency": 1.0, "hidden": 8, "critic_hidden": 8,
                                "epochs": 1, "batch_size": 4, "pretrain": {"epochs": 1}})
    X = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    y = np.repeat([0, 1, 2], 4)
    A = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    fit(m, _split(X, y, A), epochs=1)
    assert "attr_consistency" in m.history_[0]
