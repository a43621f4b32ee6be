"""A training step never waits for the host: no ``aten._local_scalar_dense`` (the op behind
``.item()``, ``float(tensor)`` and ``if tensor:``) while critic and generator steps run. The ops
dispatched per step are recorded too (benchmarks/step_ops.py prints them)."""

from __future__ import annotations

import pytest

from anyshot.data.synthetic import make_synthetic
from anyshot.methods import make_method
from anyshot.objectives import make_objective
from anyshot.training import fit
from tests.conftest import load_benchmark

SYNC_OP = "aten._local_scalar_dense.default"

CASES = {
    "clswgan": dict(batch_size=16, hidden=16, critic_hidden=16, critic_iter=2,
                    pretrain=dict(epochs=1)),
    "clswgan-consistency": dict(batch_size=16, hidden=16, critic_hidden=16, critic_iter=2,
                                pretrain=dict(epochs=1), attribute_consistency=0.1),
    "clswgan-ema": dict(batch_size=16, hidden=16, critic_hidden=16, critic_iter=2,
                        pretrain=dict(epochs=1), ema=0.9),
    "srwgan": dict(batch_size=16, nz=8, latent=8, hidden=16, k=0, critic_iter=2,
                   loss_syn_num=3, kmeans_iters=2),
    "srwgan-plain-critic": dict(batch_size=16, nz=8, latent=8, hidden=16, k=0, critic_iter=2,
                                loss_syn_num=3, kmeans_iters=2, use_mapping=False),
}


# The op counter of benchmarks/step_ops.py, which prints the same counts as a table.
OpCounter = load_benchmark("step_ops").OpCounter


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_classes=8, n_unseen=2, n_features=12, n_attributes=6,
                          samples_per_class=12, seed=0)


@pytest.mark.parametrize("objective", ["wgan-gp", "wgan", "ebgan"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_training_steps_make_no_host_sync(case, objective, data, record_property, monkeypatch):
    # Adam fused as on a GPU (the CPU default reads its step count with .item()).
    monkeypatch.setattr("anyshot.objectives.base.FUSED_DEVICES", ("cpu", "cuda"))
    m = make_method(case.split("-")[0], {**CASES[case], "epochs": 0},
                    objective=make_objective(objective), seed=0)
    fit(m, data)  # builds, trains nothing
    trainer = m.trainer_
    trainer.critic_step(), trainer.generator_step(1)  # optimizer state exists from here on
    steps = 3
    with OpCounter() as counter:
        for _ in range(steps):
            for _ in range(m.config.critic_iter):
                trainer.critic_step()
            trainer.generator_step(1)
    assert counter.ops[SYNC_OP] == 0, f"{counter.ops[SYNC_OP]} host syncs in {steps} steps"
    record_property("ops_per_step", sum(counter.ops.values()) / steps)
