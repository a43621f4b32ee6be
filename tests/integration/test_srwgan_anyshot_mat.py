"""End to end on the SRWGAN any-shot .mat format: real FLO split files (zero- and one-shot) and
a features file the test writes, through the config/CLI path (load, scale, train, test)."""

import numpy as np
import pytest
import scipy.io as sio

from anyshot.config import load_config
from anyshot.experiment import run_experiment
from tests.unit.test_loader_anyshot_mat import flo_like_labels


@pytest.fixture(scope="module")
def features_file(tmp_path_factory):
    y = flo_like_labels()
    rng = np.random.default_rng(0)
    # class-structured features: a random class mean plus noise, 32-d
    means = rng.normal(size=(y.max() + 1, 32))
    X = np.abs(means[y] + 0.3 * rng.normal(size=(y.size, 32))).astype(np.float32)
    path = tmp_path_factory.mktemp("flo") / "res101.mat"
    sio.savemat(path, {"features": X.T, "labels": (y + 1)[:, None]})  # xlsa17 layout, 1-based
    return path


@pytest.mark.parametrize("split, task",
                         [("SplitsOfZeroSL.mat", "zsl"), ("SplitsOfOneSL.mat", "fsl")])
def test_srwgan_runs_on_the_anyshot_split_files(shared_data, features_file, split, task):
    cfg = load_config("srwgan/flo", {
        "data.params": {"features_file": str(features_file),
                        "split_file": str(shared_data / "srwgan_flo" / split)},
        "method.params.epochs": 1, "method.params.hidden": 64, "method.params.latent": 32,
        "method.params.nz": 16, "method.params.batch_size": 256, "method.params.syn_num": 20,
        "method.params.loss_syn_num": 2, "evaluation.protocol": "fixed", "evaluation.seeds": [0],
        "device": "cpu",
    })
    r = run_experiment(cfg)[0]
    assert set(r.metrics) == {task, f"g{task}_u", f"g{task}_s", f"g{task}_h"}
    assert all(0.0 <= v <= 1.0 for v in r.metrics.values())
    assert r.dataset == "flo" and r.protocol == "fixed"
