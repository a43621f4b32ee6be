"""CUDA-graph capture of the training steps (``cuda_graphs``): it falls back to eager steps, with
one warning and the same numbers, where it cannot run (here: the CPU), and on CUDA the captured
steps replay and train."""

from __future__ import annotations

import warnings

import pytest
import torch

from anyshot.data.synthetic import make_synthetic
from anyshot.methods import make_method
from anyshot.training import fit
from anyshot.training.graphs import WARMUP, StepGraphs, graphs_unavailable

SMALL = dict(batch_size=16, hidden=16, critic_iter=2, epochs=2)
CLSWGAN = dict(critic_hidden=16, pretrain=dict(epochs=1))
SRWGAN = dict(nz=8, latent=8, k=1, loss_syn_num=3, kmeans_iters=2)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_classes=8, n_unseen=2, n_features=12, n_attributes=6,
                          samples_per_class=12, seed=0)


def _fit(data, method="clswgan", device="cpu", **params):
    own = CLSWGAN if method == "clswgan" else SRWGAN
    m = make_method(method, {**SMALL, **own, **params}, seed=3, device=device)
    return fit(m, data)


def test_graphs_say_why_they_cannot_run_on_the_cpu():
    assert "CUDA device" in graphs_unavailable(torch.device("cpu"))
    with pytest.warns(RuntimeWarning, match="cuda_graphs is on, but .*the steps run eagerly"):
        graphs = StepGraphs(torch.device("cpu"), ())
    assert not graphs.active
    assert graphs.run("critic", lambda: {"x": torch.ones(())}) == {"x": torch.ones(())}
    assert not graphs.graphs


@pytest.mark.parametrize("method", ["clswgan", "srwgan"])
def test_cuda_graphs_fall_back_on_the_cpu_with_the_same_numbers(data, method):
    eager = _fit(data, method)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graphed = _fit(data, method, cuda_graphs=True)
    said = [w for w in caught if "cuda_graphs" in str(w.message)]
    assert len(said) == 1 and issubclass(said[0].category, RuntimeWarning)
    assert graphed.history_ == eager.history_
    for a, b in zip(graphed.generator_.parameters(), eager.generator_.parameters()):
        assert torch.equal(a, b)


def test_srwgan_generator_step_changes_phase_after_epoch_k(data):
    m = make_method("srwgan", dict(k=2), seed=0)
    assert [m.step_phase(e) for e in (1, 2, 3, 9)] == [0, 0, 1, 1]
    assert make_method("clswgan", {}, seed=0).step_phase(7) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
@pytest.mark.parametrize("objective", ["wgan-gp", "wgan"])
def test_captured_steps_replay_train_and_repeat_on_cuda(data, objective):
    from anyshot.objectives import make_objective

    def captured():
        m = make_method("clswgan", {**SMALL, **CLSWGAN, "epochs": 3, "cuda_graphs": True},
                        objective=make_objective(objective), seed=3, device="cuda")
        return fit(m, data)

    first, second = captured(), captured()
    graphs = first.trainer_.graphs
    assert graphs.active, graphs.reason
    assert set(graphs.graphs) == {"critic", ("generator", 0)}
    assert graphs.eager_runs["critic"] == WARMUP
    assert first.history_ == second.history_      # deterministic for a seed on one device
    eager = fit(make_method("clswgan", {**SMALL, **CLSWGAN, "epochs": 3},
                            objective=make_objective(objective), seed=3, device="cuda"), data)
    for key in ("critic_loss", "generator_loss"):
        assert all(torch.isfinite(torch.tensor(h[key])) for h in first.history_)
    # replayed steps train: the critic separates real from fake as the eager one does
    assert (first.history_[-1]["critic_loss"] < 0) == (eager.history_[-1]["critic_loss"] < 0)
