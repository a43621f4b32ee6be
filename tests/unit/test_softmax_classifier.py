"""The final softmax classifier's training budget: ``epochs`` passes, raised to ``min_steps``
Adam steps on small training sets."""

from __future__ import annotations

import pytest
import torch

from anyshot.evaluation import classifier as module
from anyshot.evaluation.classifier import ClassifierConfig, SoftmaxClassifier


class CountingAdam(torch.optim.Adam):
    steps = 0

    def step(self, closure=None):
        CountingAdam.steps += 1
        return super().step(closure)


@pytest.mark.parametrize("epochs, batch_size, min_steps, expected", [
    (2, 4, 0, 6),      # 10 rows in batches of 4: 3 steps an epoch, 2 epochs
    (2, 4, 10, 12),    # at least 10 steps: ceil(10 / 3) = 4 epochs
    (5, 4, 10, 15),    # epochs already give 15 >= 10
    (2, None, 7, 7),   # full batch: one step an epoch, 7 epochs
])
def test_min_steps_adds_epochs_on_small_training_sets(monkeypatch, epochs, batch_size,
                                                       min_steps, expected):
    monkeypatch.setattr(module.torch.optim, "Adam", CountingAdam)
    CountingAdam.steps = 0
    X = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1] * 5)
    SoftmaxClassifier(ClassifierConfig(epochs=epochs, batch_size=batch_size,
                                       min_steps=min_steps)).fit(X, y, 2)
    assert CountingAdam.steps == expected


def test_the_step_floor_is_for_the_classifiers_over_the_unseen_classes():
    from anyshot.data import make_synthetic
    from anyshot.evaluation.final_classifier import SynthesisConfig, _final_classifier
    from anyshot.evaluation.task import Task

    data = make_synthetic(n_classes=6, n_unseen=2, n_features=4, n_attributes=3,
                          samples_per_class=10, seed=0)
    config = SynthesisConfig()
    assert config.classifier.min_steps == 1000
    zsl = _final_classifier(config, 0, "cpu", Task.of(data, "zsl"))
    gzsl = _final_classifier(config, 0, "cpu", Task.of(data, "gzsl"))
    assert zsl.config.min_steps == 1000 and gzsl.config.min_steps == 0
    assert gzsl.config.epochs == zsl.config.epochs == 30
