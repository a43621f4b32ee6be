"""The factorised Gaussian with full covariances: parts fitted in closed form, pooled by summing
precision matrices, checked by hand on tiny inputs."""

import math

import numpy as np
import pytest
import torch

from anyshot.data import make_synthetic
from anyshot.methods import Method, make_method
from anyshot.nn.factorised_gaussian import FactorisedGaussian
from anyshot.nn.full_covariance_gaussian import FullCovarianceGaussian
from anyshot.training import fit

# 4 samples, 2 features; classes 0 and 1; one attribute (class 1 has it).
X = torch.tensor([[0.0, 0.0], [2.0, 2.0], [4.0, 0.0], [6.0, 4.0]])
Y = torch.tensor([0, 0, 1, 1])
A = torch.tensor([[0.0], [1.0]])


def test_parts_are_the_shrunk_covariances_of_each_value():
    m = FullCovarianceGaussian(1, 2, shrinkage=0.5).fit(X, Y, A, threshold=0.5,
                                                        var_smoothing=0.0)
    # value 0: rows (0,0), (2,2): mean (1,1), covariance [[1,1],[1,1]] (population)
    # shrunk half-way to its diagonal: [[1, .5], [.5, 1]]
    np.testing.assert_allclose(m.mean_parts[0, 0], [1.0, 1.0])
    np.testing.assert_allclose(torch.linalg.inv(m.precision_parts[0, 0]),
                               [[1.0, 0.5], [0.5, 1.0]], atol=1e-5)
    # value 1: rows (4,0), (6,4): mean (5,2), covariance [[1,2],[2,4]] -> [[1,1],[1,4]]
    np.testing.assert_allclose(m.mean_parts[1, 0], [5.0, 2.0])
    np.testing.assert_allclose(torch.linalg.inv(m.precision_parts[1, 0]),
                               [[1.0, 1.0], [1.0, 4.0]], atol=1e-5)
    mean, cov = m(A)  # one informative attribute: each class is its own part
    np.testing.assert_allclose(mean, [[1.0, 1.0], [5.0, 2.0]], atol=1e-5)
    np.testing.assert_allclose(cov[1], [[1.0, 1.0], [1.0, 4.0]], atol=1e-5)


def test_two_parts_pool_by_summed_precision():
    m = FullCovarianceGaussian(2, 2)
    m.threshold.fill_(0.5)
    m.mean_parts[1, 0] = torch.tensor([2.0, 0.0])
    m.mean_parts[1, 1] = torch.tensor([0.0, 4.0])
    m.precision_parts[1, 0] = torch.tensor([[1.0, 0.0], [0.0, 0.0]]) + 1e-9 * torch.eye(2)
    m.precision_parts[1, 1] = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mean, cov = m(torch.tensor([[1.0, 1.0]]))
    # P = [[2, 0], [0, 1]]; P mean = (2, 0) + (0, 4)  ->  mean (1, 4); cov = 2 P^-1
    np.testing.assert_allclose(mean[0], [1.0, 4.0], atol=1e-5)
    np.testing.assert_allclose(cov[0], [[1.0, 0.0], [0.0, 2.0]], atol=1e-5)


@pytest.mark.parametrize("balance, rows_of_class_0", [("classes", 30), ("classes", 7),
                                                      ("samples", 7)])
def test_one_feature_or_full_shrinkage_is_the_diagonal_model(balance, rows_of_class_0):
    d = make_synthetic(n_classes=6, n_unseen=2, n_features=5, n_attributes=4,
                       samples_per_class=30, seed=0)
    tv = d.trainval
    tv = np.concatenate([tv[d.y[tv] == 0][:rows_of_class_0], tv[d.y[tv] != 0]])
    Xt = torch.as_tensor(d.X[tv], dtype=torch.float32)
    yt = torch.as_tensor(d.y[tv])
    At = torch.as_tensor(d.attributes, dtype=torch.float32)
    diag = FactorisedGaussian(4, 5).fit(Xt, yt, At, balance=balance)
    full = FullCovarianceGaussian(4, 5, shrinkage=1.0).fit(Xt, yt, At, balance=balance)
    (m1, v1), (m2, c2) = diag(At), full(At)
    np.testing.assert_allclose(m2, m1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(torch.diagonal(c2, dim1=1, dim2=2), v1, rtol=1e-4, atol=1e-6)


def test_samples_follow_the_pooled_covariance():
    m = FullCovarianceGaussian(1, 2, shrinkage=0.5).fit(X, Y, A, threshold=0.5,
                                                        var_smoothing=0.0)
    g = torch.Generator().manual_seed(0)
    draws = m.sample(A[[1]].repeat(20000, 1), g)
    np.testing.assert_allclose(draws.mean(0), [5.0, 2.0], atol=0.05)
    np.testing.assert_allclose(torch.cov(draws.T), [[1.0, 1.0], [1.0, 4.0]], atol=0.1)


def test_the_method_option_fits_predicts_and_round_trips(tmp_path):
    from anyshot.evaluation import Task, evaluate

    data = make_synthetic(seed=0)
    method = fit(make_method("factorised-gaussian", {"covariance": "full", "syn_num": 200},
                             seed=0), data)
    assert evaluate(method, data, ["zsl"])["zsl"] > 0.4  # 5 unseen classes: chance 0.2
    method.save(tmp_path)
    back = Method.load(tmp_path)
    task = Task.of(data, "zsl")
    X = data.X[data.test_unseen]
    np.testing.assert_array_equal(back.build_classifier(task).predict(X),
                                  method.build_classifier(task).predict(X))
    with pytest.raises(Exception, match="covariance 'fulll' is unknown"):
        make_method("factorised-gaussian", {"covariance": "fulll"})
    with pytest.raises(Exception, match="shrinkage must be in"):
        make_method("factorised-gaussian", {"shrinkage": 1.5})


def test_the_held_out_variance_scale_keeps_the_correlations():
    # One attribute; classes 0-2 have it, 3-4 do not; two features, the second twice the
    # first: every part's correlation is 1, 0.5 after shrinking half-way to the diagonal
    # (which leaves the variances alone). Every class's own variance is (1, 4).
    A5 = torch.tensor([[1.0], [1.0], [1.0], [0.0], [0.0]])
    x = torch.tensor([0.0, 2.0, 10.0, 12.0, 20.0, 22.0, 30.0, 32.0, 40.0, 42.0])
    X5 = torch.stack([x, 2 * x], 1)
    Y5 = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    m = FullCovarianceGaussian(1, 2, shrinkage=0.5).fit(X5, Y5, A5, threshold=0.5,
                                                        var_smoothing=0.0)
    _, before = m(A5[:1])
    m.calibrate_variance(X5, Y5, A5, threshold=0.5, var_smoothing=0.0)
    # Held out, value 1 pools var 26, 101, 26 for classes 0-2 (feature 1; x4 for feature 2)
    # and classes 3-4 leave each other (var 1, 4): the diagonal model's kappa, per feature.
    log_kappa = -(2 * math.log(26.0) + math.log(101.0)) / 5
    torch.testing.assert_close(m.log_var_scale, torch.full((2,), log_kappa))
    _, after = m(A5[:1])
    torch.testing.assert_close(after, before * math.exp(log_kappa))   # correlation stays 0.5
    torch.testing.assert_close(after[0, 0, 1], 0.5 * (after[0, 0, 0] * after[0, 1, 1]).sqrt())
    # A saved model from before the scale loads with none.
    old = {k: v for k, v in m.state_dict().items() if k != "log_var_scale"}
    again = FullCovarianceGaussian(1, 2)
    again.load_state_dict(old)
    assert float(again.log_var_scale.abs().sum()) == 0.0
