"""An epoch of the final model is as much training as an epoch on validation (``matched``):
a validation fold trains on fewer classes, so one pass over its data is fewer generator steps."""

import math

import numpy as np
import pytest

from anyshot.config import load_config
from anyshot.errors import ConfigError
from anyshot.experiment import build_method, prepare_data
from anyshot.protocols.folds import matched_steps, validation_views
from anyshot.training import Trainer, fit

CFG = "clswgan/synthetic"


def _views(cfg):
    data = prepare_data(cfg)
    return data, validation_views(data, cfg.evaluation.validation, 0)


def test_matched_epoch_takes_the_validation_folds_mean_steps():
    cfg = load_config(CFG, {"evaluation.validation.folds": 3})
    data, views = _views(cfg)
    method = build_method(cfg, 0)
    assert method.config.steps_per_epoch is None
    bs = method.config.batch_size
    want = round(np.mean([math.ceil(v.trainval.size / bs) for v in views]))
    assert matched_steps(method.config, method.iterative, views) == want
    assert method.config.steps_per_epoch is None  # asked, not changed in place
    # fewer than one pass over the full split: the folds hold out seen classes and samples
    assert want < math.ceil(data.trainval.size / bs)


def test_explicit_steps_per_epoch_and_non_epoch_methods_are_left_alone():
    cfg = load_config(CFG, {"method.params.steps_per_epoch": 7})
    _, views = _views(cfg)
    method = build_method(cfg, 0)
    assert matched_steps(method.config, method.iterative, views) is None
    assert method.config.steps_per_epoch == 7
    ridge = build_method(load_config("attribute-regression/synthetic"), 0)
    assert matched_steps(ridge.config, ridge.iterative, views) is None  # no batches


def test_steps_per_epoch_sets_the_generator_steps_of_an_epoch(monkeypatch):
    cfg = load_config(CFG, {"method.params.steps_per_epoch": 3, "method.params.epochs": 2,
                            "method.params.hidden": 16, "method.params.critic_hidden": 16,
                            "method.params.critic_iter": 1,
                            "method.params.pretrain": {"epochs": 1}})
    data = prepare_data(cfg)
    method = build_method(cfg, 0)
    calls = []
    original = Trainer.generator_step
    monkeypatch.setattr(Trainer, "generator_step",
                        lambda self, epoch: calls.append(epoch) or original(self, epoch))
    fit(method, data)
    assert calls == [1, 1, 1, 2, 2, 2]


def test_unknown_epoch_length_and_bad_steps_are_refused():
    with pytest.raises(ConfigError, match="epoch_length"):
        load_config(CFG, {"evaluation.validation.epoch_length": "epochs"})
    with pytest.raises(ConfigError, match="steps_per_epoch"):
        load_config(CFG, {"method.params.steps_per_epoch": 0})
