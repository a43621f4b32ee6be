"""pseudo_count: in FSL / GFSL the synthetic features of a class with real shots weigh as
pseudo_count real samples in the final classifier (``shot_weights`` and the weighted fits)."""

import numpy as np
import pytest
import torch

from anyshot.errors import ConfigError
from anyshot.evaluation.classifier import FinalClassifierConfig, SoftmaxClassifier
from anyshot.evaluation.final_classifier import (
    SynthesisConfig,
    shot_weights,
    synthetic_classifier,
)
from anyshot.evaluation.gaussian_classifier import FullGaussianClassifier, GaussianClassifier
from anyshot.evaluation.task import Task


def test_shot_weights_by_hand():
    # Class 0: k = 2 shots and N = 4 synthetic features, n0 = 2:
    #   w_real = (2 + 4) / (2 + 2) = 1.5,  w_syn = 1.5 * 2 / 4 = 0.75
    #   (the total stays k + N: 2 * 1.5 + 4 * 0.75 = 6)
    # Class 1 has real rows only (a seen class), class 2 synthetic ones only: weight 1.
    real = torch.tensor([0, 0, 1])
    syn = torch.tensor([0, 0, 0, 0, 2, 2, 2])
    w = shot_weights(real, syn, 2.0)
    assert w.tolist() == [1.5, 1.5, 1.0, 0.75, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0]
    # The class's weighted mean: (k * mean_shots + n0 * mean_synthetic) / (k + n0).
    shots_mean, syn_mean = 3.0, 7.0
    x = torch.tensor([2.0, 4.0, 0.0, 7.0, 7.0, 7.0, 7.0, 0.0, 0.0, 0.0])
    mean0 = float((w[:2] * x[:2]).sum() + (w[3:7] * x[3:7]).sum()) / float(w[:2].sum()
                                                                           + w[3:7].sum())
    assert mean0 == pytest.approx((2 * shots_mean + 2 * syn_mean) / 4)
    assert shot_weights(torch.tensor([1, 1]), syn, 2.0) is None  # no class has both


def test_weighted_gaussian_fits_by_hand():
    # One class, x = 0, 2, 4 with weights 1, 1, 2: mean (0 + 2 + 8) / 4 = 2.5,
    # variance (0 + 4 + 2 * 16) / 4 - 2.5^2 = 9 - 6.25 = 2.75.
    X = torch.tensor([[0.0], [2.0], [4.0]])
    y = torch.zeros(3, dtype=torch.int64)
    w = torch.tensor([1.0, 1.0, 2.0])
    diag = GaussianClassifier(var_smoothing=0.0).fit(X, y, 1, w)
    assert diag.mean_.item() == pytest.approx(2.5) and diag.var_.item() == pytest.approx(2.75)
    full = FullGaussianClassifier(var_smoothing=0.0).fit(X, y, 1, w)
    assert (full.chol_ @ full.chol_.mT).item() == pytest.approx(2.75)
    # An integer weight is that many copies of the row.
    copies = torch.tensor([[0.0], [2.0], [4.0], [4.0]])
    plain = GaussianClassifier(var_smoothing=0.0).fit(copies, torch.zeros(4, dtype=torch.int64), 1)
    assert torch.allclose(plain.var_, diag.var_) and torch.allclose(plain.mean_, diag.mean_)


def test_weighted_softmax_loss_is_the_weighted_mean():
    torch.manual_seed(0)
    X = torch.randn(6, 3)
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    cfg = FinalClassifierConfig(epochs=1, min_steps=1, batch_size=None, lr=0.1)
    # Weights 2 on a row = the row twice, for a full-batch step.
    w = torch.tensor([2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    a = SoftmaxClassifier(cfg, seed=0).fit(X, y, 2, w)
    b = SoftmaxClassifier(cfg, seed=0).fit(torch.cat([X, X[:1]]), torch.cat([y, y[:1]]), 2)
    assert torch.allclose(a.model_.weight, b.model_.weight, atol=1e-6)


class _Fixed:
    """A synthesizing method whose synthetic features of class c are all equal to 10 * c."""

    def __init__(self, pseudo_count):
        self.config = SynthesisConfig(syn_num=50, final_classifier="gaussian",
                                      pseudo_count=pseudo_count)
        self.device = torch.device("cpu")
        self.seed = 0
        self.A_ = torch.zeros(3, 2)

    def synthesize(self, classes, n):
        y = torch.as_tensor(classes).repeat_interleave(n)
        return 10.0 * y[:, None].float().expand(-1, 2).clone(), y

    def transform(self, X):
        return X


@pytest.mark.parametrize("pseudo_count", [None, 5.0])
def test_the_final_classifier_moves_a_class_to_its_shots_by_k_over_k_plus_n0(pseudo_count):
    # Class 1 (synthetic features at 10) has k = 5 shots at 0; class 2 has no shots.
    task = Task.over(np.array([1, 2]), np.array([1, 2]), np.array([], dtype=np.int64),
                     generalized=False, few_shot=True)
    clf = synthetic_classifier(_Fixed(pseudo_count), task, np.zeros((5, 2), np.float32),
                               np.ones(5, np.int64))
    means = clf.clf.mean_[:, 0].tolist()
    n0 = 50 if pseudo_count is None else pseudo_count  # None: each synthetic feature weighs one
    assert means[0] == pytest.approx(10.0 * n0 / (5 + n0))
    assert means[1] == pytest.approx(20.0)


def test_pseudo_count_must_be_positive():
    with pytest.raises(ConfigError, match="pseudo_count must be a positive"):
        SynthesisConfig(pseudo_count=0)
