"""The prior's class-held-out fits and the prior anchor, against values computed by hand."""

import math

import numpy as np
import pytest
import torch

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError
from anyshot.methods import make_method
from anyshot.nn.factorised_gaussian import FactorisedGaussian
from anyshot.objectives.prior_anchor import prior_anchor_loss
from anyshot.training import fit
from tests.unit.test_composition import _split as split_with_class_3_unseen

# 3 training classes over 2 binary attributes, 1-d features; class 3 has no samples.
A = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
X = torch.tensor([[1.0], [3.0], [10.0], [12.0], [5.0], [7.0]])
Y = torch.tensor([0, 0, 1, 1, 2, 2])


def test_held_out_fits_leave_each_class_out() -> None:
    fg = FactorisedGaussian(2, 1).fit_held_out(X, Y, A, threshold=0.5, var_smoothing=0.0)
    # Without class 0, attribute 1 is 0 for classes 1 and 2 (not informative); attribute 2 = 0
    # is class 2's {5, 7}: mean 6, var 1. Without class 1, symmetrically, attribute 1 = 0 is
    # class 2's {5, 7}. Without class 2, a_1 = 0 -> class 1's {10, 12} (mean 11, var 1) and
    # a_2 = 0 -> class 0's {1, 3} (mean 2, var 1): mean 6.5, var 2 / 2 = 1. Class 3 has no
    # samples and keeps the full fit: (1, 1) -> mean (2 + 11) / 2 = 6.5, var 1.
    torch.testing.assert_close(fg.held_out_mean, torch.tensor([[6.0], [6.0], [6.5], [6.5]]))
    torch.testing.assert_close(fg.held_out_var, torch.ones(4, 1))
    # The full fit is unchanged: class 0 (1, 0) pools a_1 = 1 -> {1, 3} (mean 2, var 1) and
    # a_2 = 0 -> {1, 3, 5, 7} (mean 4, var 5).
    mean, var = fg.moments(A[:1])
    torch.testing.assert_close(mean, torch.tensor([[(2 * 1 + 4 * 0.2) / 1.2]]))
    torch.testing.assert_close(var, torch.tensor([[2 / 1.2]]))
    mean, var = fg.moments(A[:1], torch.tensor([0]))
    torch.testing.assert_close(mean, torch.tensor([[6.0]]))
    # The held-out fits are training-time state: not saved with the model.
    assert "held_out_mean" not in fg.state_dict()


def _split() -> AnyShotData:
    return split_with_class_3_unseen(X.numpy(), Y.numpy(), A.numpy())


def _gan(**params) -> object:
    base = {"prior": "factorised-gaussian", "out": "none", "hidden": 8, "critic_hidden": 8,
            "epochs": 1, "batch_size": 4, "pretrain": {"epochs": 1}}
    return make_method("clswgan", {**base, **params})


def test_training_draws_come_from_the_held_out_fit_and_synthesis_from_the_full_one() -> None:
    m = _gan(prior_holdout=True)
    m.config.lr = 0.0                       # G stays the prior
    fit(m, _split(), epochs=1)
    prior = m.generator_.semantic.prior
    y = torch.zeros(4000, dtype=torch.int64)
    train_draw = m.generate(m.A_[y], torch.Generator().manual_seed(0), y)
    torch.testing.assert_close(train_draw.mean(), prior.held_out_mean[0, 0], atol=0.1, rtol=0)
    feats, _ = m.synthesize(np.array([0]), 4000, seed=0)
    full_mean = prior.moments(m.A_[:1])[0][0, 0]
    torch.testing.assert_close(feats.mean(), full_mean, atol=0.1, rtol=0)
    assert abs(float(full_mean - prior.held_out_mean[0, 0])) > 1.0


def test_prior_anchor_is_the_standardised_class_mean_shift() -> None:
    fake = torch.tensor([[1.0, 2.0], [3.0, 2.0], [0.0, 0.0], [2.0, -2.0]])
    mean = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    var = torch.tensor([[1.0, 4.0], [1.0, 4.0], [4.0, 1.0], [4.0, 1.0]])
    labels = torch.tensor([0, 0, 2, 2])     # class 1 absent from the batch
    # r: class 0 rows (0, 0.5) and (2, 0.5): mean (1, 0.5), |.|^2 = 1.25; class 2 rows (0, 0)
    # and (1, -2): mean (0.5, -1), |.|^2 = 1.25. Two classes present, d = 2: 2.5 / 4.
    loss = prior_anchor_loss(fake, mean, var, labels, n_classes=3)
    torch.testing.assert_close(loss, torch.tensor(0.625))


def test_prior_anchor_trains_and_is_logged() -> None:
    m = _gan(prior_anchor=1.0)
    fit(m, _split(), epochs=1)
    assert "prior_anchor" in m.history_[-1]
    assert np.isfinite(m.history_[-1]["prior_anchor"])


def test_prior_switches_need_a_fixed_prior() -> None:
    with pytest.raises(ConfigError, match="prior_holdout"):
        make_method("clswgan", {"prior_holdout": True})
    with pytest.raises(ConfigError, match="prior_holdout"):
        make_method("clswgan", {"prior": "factorised-gaussian", "prior_trainable": True,
                                "prior_holdout": True})
    with pytest.raises(ConfigError, match="prior_anchor"):
        make_method("clswgan", {"prior_anchor": 1.0})
    with pytest.raises(ConfigError, match="prior_anchor"):
        make_method("clswgan", {"prior": "factorised-gaussian", "prior_anchor": -1.0})


def test_held_out_variance_scale_is_the_mean_log_ratio_of_real_to_held_out_variance() -> None:
    # One attribute; classes 0-2 have it, 3-4 do not. Features 1-d, two rows each.
    A1 = torch.tensor([[1.0], [1.0], [1.0], [0.0], [0.0]])
    X1 = torch.tensor([[0.0], [2.0], [10.0], [12.0], [20.0], [22.0], [30.0], [32.0], [40.0],
                       [42.0]])
    Y1 = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    fg = FactorisedGaussian(1, 1).fit(X1, Y1, A1, threshold=0.5, var_smoothing=0.0)
    fg.calibrate_variance(X1, Y1, A1, threshold=0.5, var_smoothing=0.0)
    # Every class's own variance is 1. Without class 0, value 1 pools {10, 12, 20, 22}: var 26;
    # without class 1, {0, 2, 20, 22}: var 101; without class 2, {0, 2, 10, 12}: var 26;
    # classes 3 and 4 leave each other (var 1). log kappa = -(2 log 26 + log 101) / 5.
    log_kappa = -(2 * math.log(26.0) + math.log(101.0)) / 5
    torch.testing.assert_close(fg.log_var_scale, torch.tensor([log_kappa]))
    # Every class's variance is scaled: value 1 pools {0, 2, 10, 12, 20, 22} (var 203 / 3).
    _, var = fg(A1[:1])
    torch.testing.assert_close(var, torch.tensor([[203.0 / 3.0 * math.exp(log_kappa)]]))
    # A new fit starts without a scale; a model saved before the scale existed loads with none.
    fg.fit(X1, Y1, A1, threshold=0.5)
    assert float(fg.log_var_scale.abs().sum()) == 0.0
    old = {k: v for k, v in fg.state_dict().items() if k != "log_var_scale"}
    again = FactorisedGaussian(1, 1)
    again.load_state_dict(old)
    assert float(again.log_var_scale.abs().sum()) == 0.0


def test_the_variance_scale_is_a_checked_option_of_both_models() -> None:
    with pytest.raises(ConfigError, match="variance_scale"):
        make_method("factorised-gaussian", {"variance_scale": "loo"})
    for covariance in ("diagonal", "full"):
        m = make_method("factorised-gaussian", {"variance_scale": "held-out",
                                                "covariance": covariance})
        fit(m, _split())
        assert float(m.model_.log_var_scale.abs().sum()) > 0.0


def test_a_scaled_prior_scales_its_held_out_draws_too() -> None:
    fg = FactorisedGaussian(2, 1).fit_held_out(X, Y, A, threshold=0.5, var_smoothing=0.0)
    held = fg.held_out_var.clone()
    fg.calibrate_variance(X, Y, A, threshold=0.5, var_smoothing=0.0)
    # every class's own variance is 1 and so is every held-out variance (first test): kappa = 1
    torch.testing.assert_close(fg.log_var_scale, torch.zeros(1))
    with torch.no_grad():
        fg.log_var_scale.fill_(math.log(0.5))
    _, var = fg.moments(A[:2], torch.tensor([0, 1]))
    torch.testing.assert_close(var, held[:2] * 0.5)
