"""The Trainer runs any generative method's terms: a method plugs in a loss by listing a function
of the step outputs, its logs reach the epoch history, and early stopping ends the loop."""

from __future__ import annotations

import pytest
import torch

from anyshot.data.synthetic import make_synthetic
from anyshot.methods.base import StopTraining, config_from_dict
from anyshot.methods.clswgan import CLSWGAN, CLSWGANConfig
from anyshot.objectives.base import LossTerms
from anyshot.objectives.step import GeneratorStep
from anyshot.training import fit
from anyshot.training.trainer import _add_terms

TINY = dict(epochs=2, batch_size=16, hidden=16, critic_hidden=16, critic_iter=2,
            pretrain=dict(epochs=1))


def tiny(**changes) -> CLSWGANConfig:
    return config_from_dict(CLSWGANConfig, {**TINY, **changes}, "test")


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_classes=6, n_unseen=2, n_features=8, n_attributes=5,
                          samples_per_class=10, seed=0)


class MeanMatching(CLSWGAN):
    """f-CLSWGAN plus one term: w * ||mean x_fake - mean x_real||^2 (a new method in 10 lines)."""

    def _build(self, feature_dim: int, attr_dim: int) -> None:
        super()._build(feature_dim, attr_dim)
        self.generator_terms_ = (*self.generator_terms_, self._mean_matching)

    def _mean_matching(self, step: GeneratorStep) -> LossTerms:
        gap = (step.fake.mean(0) - step.batch.x.mean(0)).pow(2).sum()
        return LossTerms(0.5 * gap, {"mean_gap": gap.detach()})


def test_a_new_term_is_trained_and_logged(data):
    m = fit(MeanMatching(tiny(), seed=0), data)
    assert [row["epoch"] for row in m.history_] == [1, 2]
    assert all(row["mean_gap"] >= 0 for row in m.history_)
    plain = fit(CLSWGAN(tiny(), seed=0), data)
    assert "mean_gap" not in plain.history_[0]
    assert plain.history_ != m.history_  # the term changed the training


def test_terms_are_summed_then_added_and_skipped_when_none():
    logs: dict[str, torch.Tensor] = {}
    one = lambda step: LossTerms(torch.tensor(1.0), {"one": torch.tensor(1.0)})  # noqa: E731
    off = lambda step: None  # noqa: E731
    two = lambda step: LossTerms(torch.tensor(2.0), {"two": torch.tensor(2.0)})  # noqa: E731
    total = _add_terms(torch.tensor(0.5), logs, (one, off, two), step=None)
    assert float(total) == 3.5 and set(logs) == {"one", "two"}
    assert _add_terms(torch.tensor(0.5), {}, (off,), step=None).item() == 0.5


def test_on_epoch_stop_training_ends_after_that_epoch(data):
    def stop_at_1(epoch, logs):
        if epoch == 1:
            raise StopTraining

    m = fit(CLSWGAN(tiny(epochs=5), seed=0), data, on_epoch=stop_at_1)
    assert [row["epoch"] for row in m.history_] == [1]
    assert len(m.epoch_seconds_) == 1
