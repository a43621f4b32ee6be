"""The precision setting: fp32 | tf32 | bf16, with amp: bf16 as its older spelling."""

from __future__ import annotations

import pytest

from anyshot.config import load_config
from anyshot.data.synthetic import make_synthetic
from anyshot.errors import ConfigError
from anyshot.methods import make_method
from anyshot.training import fit

TINY = dict(epochs=2, batch_size=16, hidden=16, critic_hidden=16, critic_iter=2,
            pretrain=dict(epochs=1))


def history(**params):
    data = make_synthetic(n_classes=6, n_unseen=2, n_features=8, n_attributes=5,
                          samples_per_class=10, seed=0)
    m = make_method("clswgan", {**TINY, **params}, seed=0)
    fit(m, data)
    return m


def test_default_is_fp32_on_cpu_and_tf32_is_fp32_there():
    fp32 = history()
    assert fp32.precision_ == "fp32"
    assert history(precision="tf32").history_ == fp32.history_  # no TF32 units on a CPU
    bf16 = history(precision="bf16")
    assert bf16.precision_ == "bf16" and bf16.history_ != fp32.history_
    assert history(amp="bf16").history_ == bf16.history_  # the older spelling


def test_bad_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="precision 'fp16' is unknown; choose one of fp32, tf32"):
        load_config("clswgan/synthetic", {"method.params.precision": "fp16"})
    with pytest.raises(ConfigError, match="amp: bf16 and precision: fp32 disagree"):
        load_config("clswgan/synthetic", {"method.params.precision": "fp32",
                                          "method.params.amp": "bf16"})
