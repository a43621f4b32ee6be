"""SRWGAN learns on the synthetic benchmark (well above chance), every ablation switch and every
adversarial objective trains, save/load predicts identically and a resumed run equals an
uninterrupted one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from anyshot.checkpoint import Checkpointer
from anyshot.config import load_config
from anyshot.evaluation.task import Task
from anyshot.experiment import build_method, prepare_data, run_experiment
from anyshot.methods import Method
from anyshot.training import fit

CHANCE_ZSL = 1 / 5  # 5 unseen classes in the synthetic preset

FIXED = {"evaluation.protocol": "fixed", "evaluation.calibration": False, "evaluation.seeds": [0],
         "device": "cpu"}
SHORT = {**FIXED, "method.params.epochs": 2, "method.params.syn_num": 50}


@pytest.fixture(scope="module")
def srwgan_fixed():
    cfg = load_config("srwgan/synthetic", {**FIXED, "method.params.epochs": 10})
    data = prepare_data(cfg)
    return cfg, data, run_experiment(cfg, data=data)[0]


def test_srwgan_learns_well_above_chance(srwgan_fixed):
    cfg, _, r = srwgan_fixed
    assert r.metrics["zsl"] > 4 * CHANCE_ZSL
    assert r.metrics["gzsl_s"] > 0.8 and r.metrics["gzsl_u"] > 0.5 and r.metrics["gzsl_h"] > 0.7
    assert r.protocol == "fixed" and not r.peeks_at_test and r.method == "srwgan"
    first, last = r.history[0], r.history[-1]
    k = cfg.method.params["k"]
    assert "ubc1" not in first and "ubc1" in r.history[k]        # unseen entropy after epoch k
    assert {"wasserstein", "penalty", "ib_kl", "ib_beta", "center_loss", "real_score_sq",
            "cls_loss", "proto_sample", "proto_mean", "sbc1", "sbc2", "gram_alignment"} <= set(last)
    assert last["ib_beta"] > 0.0                                   # dual ascent moved beta
    assert last["proto_sample"] < first["proto_sample"]            # fakes reach the prototypes


@pytest.mark.parametrize("switch, absent", [
    ({"use_mapping": False}, {"ib_kl", "center_loss"}),
    ({"use_center_loss": False}, {"center_loss"}),
    ({"use_bias_elimination": False}, {"proto_sample", "sbc1", "sbc2", "ubc1"}),
    ({"use_alignment": False}, {"gram_alignment"}),
    ({"single_head": True}, {"sbc2"}),
])
def test_each_ablation_switch_trains(switch, absent):
    over = {**SHORT, **{f"method.params.{k}": v for k, v in switch.items()}}
    r = run_experiment(load_config("srwgan/synthetic", over))[0]
    assert all(0.0 <= v <= 1.0 for v in r.metrics.values()) and len(r.metrics) == 4
    logged = set(r.history[-1])
    assert not absent & logged and "cls_loss" in logged
    assert all(math.isfinite(v) for v in r.history[-1].values())


@pytest.mark.parametrize("objective", ["wgan", "ebgan"])
def test_trains_with_other_objectives(objective):
    cfg = load_config("srwgan/synthetic", {**SHORT, "objective.name": objective})
    data = prepare_data(cfg)
    method = build_method(cfg, seed=0)
    fit(method, data)
    assert method.critic_.kind == method.objective.critic_kind
    assert all(math.isfinite(v) for v in method.history_[-1].values())
    pred = method.build_classifier(Task.of(data, "zsl")).predict(data.X[data.test_unseen])
    assert set(np.unique(pred)) <= set(data.unseen.tolist())


def test_save_load_round_trip_predicts_identically(tmp_path, srwgan_fixed):
    cfg, data, _ = srwgan_fixed
    method = build_method(cfg, seed=0)
    tv = data.trainval
    fit(method, data, epochs=2)
    method.save(tmp_path / "m")
    loaded = Method.load(tmp_path / "m")
    saved, again = method.state_tensors(), loaded.state_tensors()
    assert {k.split(".")[0] for k in saved} >= {"generator", "critic", "centers", "bilinear1",
                                                 "bilinear2"}
    assert saved.keys() == again.keys() and all(torch.equal(saved[k], again[k]) for k in saved)
    X = data.X[data.test_unseen]
    p1 = method.build_classifier(Task.of(data, "zsl")).predict(X)
    p2 = loaded.build_classifier(Task.of(data, "zsl")).predict(X)
    assert np.array_equal(p1, p2)
    Xs = data.X[data.test_seen]
    g1 = method.build_classifier(Task.of(data, "gzsl"), data.X[tv], data.y[tv]).predict(Xs)
    g2 = loaded.build_classifier(Task.of(data, "gzsl"), data.X[tv], data.y[tv]).predict(Xs)
    assert np.array_equal(g1, g2)


def test_resumed_training_equals_uninterrupted(tmp_path):
    cfg = load_config("srwgan/synthetic", {**SHORT, "method.params.epochs": 4})
    data = prepare_data(cfg)
    full = fit(build_method(cfg, 0), data, checkpointer=Checkpointer(tmp_path / "a", every=2))
    ck = Checkpointer(tmp_path / "b", every=2)
    fit(build_method(cfg, 0), data, epochs=2, checkpointer=ck)          # "interrupted" at 2
    resumed = fit(build_method(cfg, 0), data, epochs=4, checkpointer=ck)
    assert resumed.history_ == full.history_
    assert resumed.multiplier_.beta == full.multiplier_.beta > 0.0
    a, b = full.state_tensors(), resumed.state_tensors()
    assert all(torch.equal(a[k], b[k]) for k in a)
