"""The generator's weight average (``ema``): hand-computed updates, the swap used by synthesis,
and a model saved with it synthesizes what the trained one did."""

import numpy as np
import pytest
import torch
from torch import nn

from anyshot.data.synthetic import make_synthetic
from anyshot.errors import ConfigError
from anyshot.methods import make_method
from anyshot.training import fit
from anyshot.training.weight_average import WeightAverage


def test_update_follows_the_hand_computed_average():
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    avg = WeightAverage([p], decay=0.75)
    with torch.no_grad():
        p.copy_(torch.tensor([5.0, 2.0]))
    avg.update()  # 0.75 * [1, -2] + 0.25 * [5, 2] = [2, -1]
    torch.testing.assert_close(avg.shadow[0], torch.tensor([2.0, -1.0]))
    with torch.no_grad():
        p.copy_(torch.tensor([6.0, 3.0]))
    avg.update()  # 0.75 * [2, -1] + 0.25 * [6, 3] = [3, 0]
    torch.testing.assert_close(avg.shadow[0], torch.tensor([3.0, 0.0]))
    with avg.applied():
        torch.testing.assert_close(p.detach(), torch.tensor([3.0, 0.0]))
    torch.testing.assert_close(p.detach(), torch.tensor([6.0, 3.0]))  # the last iterate is back


def test_decay_zero_is_the_last_iterate_and_bad_decay_is_refused():
    p = nn.Parameter(torch.tensor([1.0]))
    avg = WeightAverage([p], decay=0.0)
    with torch.no_grad():
        p.fill_(4.0)
    avg.update()
    torch.testing.assert_close(avg.shadow[0], torch.tensor([4.0]))
    with pytest.raises(ValueError, match="decay"):
        WeightAverage([p], decay=1.0)
    with pytest.raises(ConfigError, match="ema"):
        make_method("clswgan", {"ema": 1.5})


@pytest.mark.parametrize("name", ["clswgan", "srwgan"])
def test_synthesis_reads_the_average_and_a_saved_model_keeps_it(name, tmp_path):
    data = make_synthetic(n_classes=6, n_unseen=2, n_features=8, n_attributes=5,
                          samples_per_class=20, seed=0)
    small = dict(clswgan=dict(hidden=16, critic_hidden=16, pretrain=dict(epochs=1)),
                 srwgan=dict(nz=8, latent=8, hidden=16, k=0, loss_syn_num=3, kmeans_iters=2))
    m = make_method(name, {**small[name], "epochs": 2, "batch_size": 16, "ema": 0.9}, seed=0)
    fit(m, data)
    averaged, _ = m.synthesize(data.unseen, 5, seed=3)
    m.save(tmp_path / "m")
    loaded = type(m).load(tmp_path / "m")
    again, _ = loaded.synthesize(data.unseen, 5, seed=3)
    np.testing.assert_allclose(again.numpy(), averaged.numpy(), rtol=1e-5, atol=1e-6)
    m.ema_ = None  # synthesis from the last iterate differs
    last, _ = m.synthesize(data.unseen, 5, seed=3)
    assert not torch.allclose(averaged, last)
