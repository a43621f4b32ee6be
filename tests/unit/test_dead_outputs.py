"""A generator whose ReLU output units died (0 for every sample) is reported once, naming the
dimensions and the fix; other outputs are never reported."""

from __future__ import annotations

import warnings

import pytest
import torch

from anyshot.data.synthetic import make_synthetic
from anyshot.data.transforms import scale_features
from anyshot.methods import make_method
from anyshot.training import fit

SMALL = dict(batch_size=16, hidden=16, critic_hidden=16, critic_iter=1, epochs=1,
             pretrain=dict(epochs=1))


@pytest.fixture(scope="module")
def data():
    d = make_synthetic(n_classes=6, n_unseen=2, n_features=8, n_attributes=4,
                       samples_per_class=20, seed=0)
    return scale_features(d, "minmax")


def _kill(method, dims):
    last = method.generator_.net[-1]
    with torch.no_grad():
        last.weight[dims] = 0.0
        last.bias[dims] = -1.0          # ReLU(-1) = 0 whatever z and a are


def test_dead_relu_outputs_are_reported_once_with_their_dimensions(data):
    m = fit(make_method("clswgan", {**SMALL, "out": "relu"}, seed=0), data)
    _kill(m, [1, 4])
    with pytest.warns(RuntimeWarning, match=r"output units .* are dead .*method.params.out=sigmoid"
                      ) as said:
        m.synthesize(data.unseen, 50)
    named = str(said[0].message).split("dimensions [")[1].split("]")[0]
    assert {1, 4} <= {int(v) for v in named.split(",")}   # (training may have killed others)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.synthesize(data.seen, 50)     # said once per model


def test_other_outputs_are_not_reported(data):
    m = fit(make_method("clswgan", {**SMALL, "out": "sigmoid"}, seed=0), data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.synthesize(data.unseen, 50)
