"""Composed generation: the composed Gaussian (``prior: composed``), the generator that is
nothing but it (``correction: none``) and SRWGAN's ``classifier_space``, against values computed
by hand."""

import math

import numpy as np
import pytest
import torch

from anyshot.errors import ConfigError
from anyshot.methods import make_method
from anyshot.nn.composed_gaussian import ComposedGaussian
from anyshot.nn.conditioning import SemanticInput
from anyshot.nn.factorised_gaussian import FactorisedGaussian
from anyshot.nn.generator import ConditionalGenerator
from anyshot.training import fit
from anyshot.training.trainer import generator_groups
from tests.unit.test_prior_terms import A, X, Y, _split


def _two_attributes(d: int = 1, rank: int = 0) -> ComposedGaussian:
    """Closed-form parts set by hand: value 0 -> mean 0, value 1 -> means (2, 4); all var 1."""
    cg = ComposedGaussian(2, d, rank)
    with torch.no_grad():
        cg.closed.mean_parts.zero_()
        cg.closed.mean_parts[1, 0] = 2.0
        cg.closed.mean_parts[1, 1] = 4.0
        cg.closed.log_var_parts.zero_()
    return cg


def test_part_offsets_pool_by_precision() -> None:
    cg = _two_attributes()
    with torch.no_grad():
        cg.delta_mean[1, 0] = 1.0                 # part (attribute 0, value 1): mean 2 -> 3
        cg.delta_log_var[1, 1] = math.log(3.0)    # part (attribute 1, value 1): var 1 -> 3
    # a = (1, 1): P = 1 + 1/3 = 4/3; mean = (3 * 1 + 4 / 3) / (4/3) = 3.25; var = 2 / P = 1.5
    mean, var = cg(torch.tensor([[1.0, 1.0]]))
    torch.testing.assert_close(mean, torch.tensor([[3.25]]))
    torch.testing.assert_close(var, torch.tensor([[1.5]]))
    # the closed form itself is untouched: (2 + 4) / 2 = 3, var 2 / 2 = 1
    mean, var = cg.closed(torch.tensor([[1.0, 1.0]]))
    torch.testing.assert_close(mean, torch.tensor([[3.0]]))
    torch.testing.assert_close(var, torch.tensor([[1.0]]))


def test_correlation_factors_average_over_the_values_and_add_covariance() -> None:
    cg = _two_attributes(d=2, rank=1)
    with torch.no_grad():
        cg.factors[1, 0] = torch.tensor([1.0, 2.0])    # attribute 0, value 1
        cg.factors[0, 1] = torch.tensor([3.0, 0.0])    # attribute 1, value 0
    a = torch.tensor([[1.0, 0.0]])
    # F(b) = ([1, 2] + [3, 0]) / 2 = [2, 1]
    torch.testing.assert_close(cg.factor(a), torch.tensor([[[2.0], [1.0]]]))
    # x = mean + sqrt(var) eps + F u: covariance diag(var) + F F^T = [[1 + 4, 2], [2, 1 + 1]]
    # (var: attribute 0 = 1 and attribute 1 = 0 pool two unit variances: 2 / 2 = 1)
    draws = cg.sample(a.expand(200_000, 2), torch.Generator().manual_seed(0))
    cov = torch.cov(draws.T)
    torch.testing.assert_close(cov, torch.tensor([[5.0, 2.0], [2.0, 2.0]]), atol=0.05, rtol=0)


def test_shared_learning_trains_one_variance_offset_and_one_factor_for_every_class() -> None:
    cg = ComposedGaussian(2, 2, rank=1, learn="shared")
    with torch.no_grad():
        cg.closed.mean_parts.zero_()
        cg.closed.log_var_parts.zero_()
        cg.shared_log_var.copy_(torch.tensor([math.log(0.5), 0.0]))
        cg.factors.copy_(torch.tensor([1.0, -1.0]))
    assert not cg.delta_mean.requires_grad and not cg.delta_log_var.requires_grad
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # two unit-variance parts pool to var 1; exp(s) halves the first feature's for every class
    torch.testing.assert_close(cg(a)[1], torch.tensor([[0.5, 1.0], [0.5, 1.0]]))
    torch.testing.assert_close(cg.factor(a), torch.tensor([[[1.0], [-1.0]]] * 2))
    with pytest.raises(ConfigError, match="prior_learn"):
        ComposedGaussian(2, 2, learn="both")


def test_held_out_draws_move_the_held_out_fit_by_what_training_changed() -> None:
    cg = _two_attributes()
    with torch.no_grad():
        cg.delta_mean[1, 0] = 1.0                 # pooled mean of (1, 1): 3 -> 3.5
        cg.delta_log_var[0, 0] = math.log(2.0)    # (0, 1): var 2 / (1/2 + 1) = 4/3 (was 1)
    cg.closed.held_out_mean = torch.tensor([[10.0], [20.0]])
    cg.closed.held_out_var = torch.tensor([[2.0], [5.0]])
    a = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    mean, var = cg.draw_moments(a, torch.tensor([0, 1]))
    # class 0, a = (1, 1): 10 + (3.5 - 3); var 2 * (1 / 1)
    # class 1, a = (0, 1): mean (0 * 1/2 + 4 * 1) / (3/2) = 8/3 against 2 -> 20 + 2/3;
    # var 5 * (4/3) / 1
    torch.testing.assert_close(mean, torch.tensor([[10.5], [20.0 + 2.0 / 3.0]]))
    torch.testing.assert_close(var, torch.tensor([[2.0], [20.0 / 3.0]]))
    # without classes (synthesis), the trained model itself; moments() is the closed form
    torch.testing.assert_close(cg.draw_moments(a)[0], cg(a)[0])
    torch.testing.assert_close(cg.moments(a, torch.tensor([0, 1]))[0],
                               torch.tensor([[10.0], [20.0]]))


def test_untrained_it_draws_exactly_what_the_closed_form_draws() -> None:
    cg = ComposedGaussian(2, 1, rank=4).fit(X, Y, A, threshold=0.5)
    fg = FactorisedGaussian(2, 1).fit(X, Y, A, threshold=0.5)
    a = A[[0, 1, 3, 3]]
    torch.testing.assert_close(cg.sample(a, torch.Generator().manual_seed(3)),
                               fg.sample(a, torch.Generator().manual_seed(3)))


def test_a_generator_without_correction_is_its_prior_and_trains_the_parts() -> None:
    sem = SemanticInput(2, 1, prior="composed", prior_rank=2)
    g = ConditionalGenerator(2, 3, 8, 1, out="none", semantic=sem, correction=False)
    assert g.net is None
    sem.prior.fit(X, Y, A, threshold=0.5)
    z = torch.zeros(5, 3)
    x = g(z, A[[0] * 5], torch.Generator().manual_seed(1))
    torch.testing.assert_close(x, sem.prior.sample(A[[0] * 5], torch.Generator().manual_seed(1)))
    x.sum().backward()
    assert sem.prior.delta_mean.grad is not None and sem.prior.delta_mean.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="needs a prior"):
        ConditionalGenerator(2, 3, 8, 1, correction=False)


def test_composed_switches_are_validated() -> None:
    with pytest.raises(ConfigError, match="correction"):
        make_method("clswgan", {"correction": "none"})
    with pytest.raises(ConfigError, match="correction"):
        make_method("clswgan", {"prior": "composed", "correction": "affine"})
    with pytest.raises(ConfigError, match="prior_lr"):
        make_method("clswgan", {"prior": "composed", "prior_lr": 0.0})
    with pytest.raises(ConfigError, match="f-CLSWGAN"):
        make_method("srwgan", {"prior": "composed", "correction": "none"})
    make_method("clswgan", {"prior": "composed", "prior_holdout": True})   # allowed


def _composed(**params):
    base = {"prior": "composed", "correction": "none", "prior_rank": 2, "out": "none",
            "hidden": 8, "critic_hidden": 8, "epochs": 1, "batch_size": 4,
            "pretrain": {"epochs": 1}}
    return make_method("clswgan", {**base, **params})


def test_the_prior_learns_at_its_own_rate_and_training_moves_its_parts() -> None:
    m = _composed(prior_lr=0.05, prior_holdout=True)
    fit(m, _split(), epochs=2)
    prior = m.generator_.semantic.prior
    groups = generator_groups(m, {"generator": m.generator_}, 0.05)
    assert [g.get("lr") for g in groups] == [None, 0.05]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in prior.parameters()}
    assert len(groups[0]["params"]) == 0         # nothing but the prior: no MLP
    assert float(prior.delta_mean.detach().abs().max()) > 0.0
    assert float(prior.factors.detach().abs().max()) > 0.0
    # a saved model synthesizes what the trained one did
    again = type(m)(m.config)
    again.load_state_tensors(m.state_tensors())
    a, b = m.synthesize(np.array([3]), 50), again.synthesize(np.array([3]), 50)
    torch.testing.assert_close(a[0], b[0])


def test_srwgan_classifies_in_the_space_its_config_names() -> None:
    base = {"prior": "composed", "out": "none", "nz": 4, "latent": 4, "hidden": 8,
            "epochs": 1, "batch_size": 4, "loss_syn_num": 2, "n_prototypes": 1}
    with pytest.raises(ConfigError, match="classifier_space"):
        make_method("srwgan", {**base, "classifier_space": "latent"})
    for space in ("code", "features"):
        m = make_method("srwgan", {**base, "classifier_space": space})
        fit(m, _split(), epochs=1)
        x = torch.randn(3, 1)
        out = m.transform(x)
        if space == "features":
            assert out is x
        else:
            torch.testing.assert_close(out, m.critic_.encode(x).mu)
