"""Soft attribute codes of the factorised Gaussian (``codes: soft``): a continuous attribute is
scaled to [0, 1] over the classes instead of binarised, each checked against values computed by
hand."""

import numpy as np
import pytest
import torch

from anyshot.data import make_synthetic
from anyshot.errors import ConfigError
from anyshot.evaluation import Task
from anyshot.methods import Method, make_method
from anyshot.nn.factorised_gaussian import FactorisedGaussian, attribute_codes
from anyshot.nn.full_covariance_gaussian import FullCovarianceGaussian
from anyshot.training import fit


def test_codes_scale_each_attribute_over_the_classes():
    A = torch.tensor([[0.0, 2.0, 5.0], [1.0, 4.0, 5.0], [0.5, 3.0, 5.0]])
    low, high = A.min(0).values, A.max(0).values
    a = torch.tensor([[0.25, 3.5, 5.0], [2.0, 1.0, 7.0]])
    # (0.25 - 0) / 1, (3.5 - 2) / 2; attribute 3 has no range: 0. Outside the range: clipped.
    torch.testing.assert_close(attribute_codes(a, "soft", A.mean(0), low, high),
                               torch.tensor([[0.25, 0.75, 0.0], [1.0, 0.0, 0.0]]))
    # hard codes: [a > t] with t = the mean over the classes (0.5, 3, 5)
    torch.testing.assert_close(attribute_codes(a, "hard", A.mean(0), low, high),
                               torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]))


def _one_attribute_model(codes: str) -> FactorisedGaussian:
    # class 0 (a = 0): {0, 2}, mean 1, var 1; class 1 (a = 1): {4, 8}, mean 6, var 4;
    # class 2 (a = 0.5) and class 3 (a = 0.25) have no rows.
    A = torch.tensor([[0.0], [1.0], [0.5], [0.25]])
    X = torch.tensor([[0.0], [2.0], [4.0], [8.0]])
    y = torch.tensor([0, 0, 1, 1])
    return FactorisedGaussian(1, 1, codes=codes).fit(X, y, A, var_smoothing=0.0)


def test_a_class_between_the_values_pools_both_parts_by_its_code():
    m = _one_attribute_model("soft")
    # b = 0.5: P = 0.5 / 1 + 0.5 / 4 = 0.625, mean = (0.5 * 1 / 1 + 0.5 * 6 / 4) / P = 2,
    # var = (b + 1 - b) / P = 1.6
    mean, var = m(torch.tensor([[0.5]]))
    torch.testing.assert_close(mean, torch.tensor([[2.0]]))
    torch.testing.assert_close(var, torch.tensor([[1.6]]))
    # b = 0.25: P = 0.75 + 0.0625 = 0.8125, mean = (0.75 + 0.375) / 0.8125
    mean, var = m(torch.tensor([[0.25]]))
    torch.testing.assert_close(mean, torch.tensor([[1.125 / 0.8125]]))
    torch.testing.assert_close(var, torch.tensor([[1 / 0.8125]]))
    # hard codes binarise at the mean over the classes, 0.4375: a = 0.5 reads as class 1's
    # part alone, a = 0.25 as class 0's
    h = _one_attribute_model("hard")
    torch.testing.assert_close(h(torch.tensor([[0.5], [0.25]]))[0], torch.tensor([[6.0], [1.0]]))


def test_a_training_class_between_the_values_counts_in_both_parts():
    # classes at a = 0, 0.5, 1 with rows {0, 2}, {2, 4}, {4, 6}: the part of value 1 weighs
    # them 0, 0.5, 1 -> mean (0.5 * 6 + 10) / 3 = 13 / 3; value 0 weighs 1, 0.5, 0 -> 5 / 3
    A = torch.tensor([[0.0], [0.5], [1.0]])
    X = torch.tensor([[0.0], [2.0], [2.0], [4.0], [4.0], [6.0]])
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    m = FactorisedGaussian(1, 1, codes="soft").fit(X, y, A, var_smoothing=0.0)
    torch.testing.assert_close(m.mean_parts[:, 0, 0], torch.tensor([5 / 3, 13 / 3]))


@pytest.mark.parametrize("model", ["diagonal", "full"])
def test_soft_and_hard_codes_agree_on_binary_attributes(model):
    data = make_synthetic(seed=0, binary_attributes=True)
    X = torch.as_tensor(data.X[data.trainval])
    y = torch.as_tensor(data.y[data.trainval])
    A = torch.as_tensor(data.attributes)
    out = []
    for codes in ("hard", "soft"):
        if model == "full":
            m = FullCovarianceGaussian(A.shape[1], X.shape[1], 0.1, codes).fit(X, y, A, 0.5)
        else:
            m = FactorisedGaussian(A.shape[1], X.shape[1], codes=codes).fit(X, y, A, 0.5)
        m.calibrate_variance(X, y, A, 0.5)
        out.append(m(A[data.unseen]))
    for hard, soft in zip(*out):
        torch.testing.assert_close(hard, soft)


def test_the_method_option_is_checked_learns_and_round_trips(tmp_path):
    with pytest.raises(ConfigError, match="codes"):
        make_method("factorised-gaussian", {"codes": "fuzzy"})
    data = make_synthetic(seed=0)   # continuous attributes
    method = fit(make_method("factorised-gaussian", {"codes": "soft", "syn_num": 200}, seed=0),
                 data)
    task = Task.of(data, "zsl")
    X, y = data.X[data.test_unseen], data.y[data.test_unseen]
    assert (method.build_classifier(task).predict(X) == y).mean() > 0.4  # chance 0.2
    method.save(tmp_path)
    back = Method.load(tmp_path)
    np.testing.assert_array_equal(back.build_classifier(task).predict(X),
                                  method.build_classifier(task).predict(X))


def test_a_model_saved_before_soft_codes_loads_with_hard_ones():
    m = _one_attribute_model("hard")
    state = {k: v for k, v in m.state_dict().items() if not k.startswith("code_")}
    back = FactorisedGaussian(1, 1)
    back.load_state_dict(state)
    torch.testing.assert_close(back(torch.tensor([[0.5]]))[0], m(torch.tensor([[0.5]]))[0])


def test_auto_leaves_the_soft_candidate_out_where_attributes_are_0_or_1():
    from anyshot.estimator.auto import AUTO_CANDIDATES, drop_redundant

    names = [name for name, _ in AUTO_CANDIDATES]
    assert "factorised-gaussian-soft" in names
    binary = np.array([[0, 1, 1], [1, 0, 1.0]])
    continuous = np.array([[0, 0.5, 1], [1, 0, 1.0]])
    kept = [c[0] for c in drop_redundant(list(AUTO_CANDIDATES), binary)]
    assert kept == [n for n in names if n != "factorised-gaussian-soft"]
    assert [c[0] for c in drop_redundant(list(AUTO_CANDIDATES), continuous)] == names
