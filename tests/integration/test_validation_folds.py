"""k validation folds and calibrated stacking in the experiment runner."""

import json

import pytest

from anyshot.config import ValidationConfig, load_config
from anyshot.errors import ConfigError
from anyshot.evaluation.calibration import GAMMA_GRID
from anyshot.evaluation.results import summarize
from anyshot.evaluation.scoring import evaluate
from anyshot.evaluation.task import tasks_of
from anyshot.experiment import build_method, method_factory, prepare_data, run_experiment
from anyshot.protocols import Evaluations, train
from anyshot.protocols.folds import (
    best_epochs,
    fold_seeds,
    matched_steps,
    validation_fold,
    validation_views,
)
from anyshot.reporting import result_lines, results_table
from anyshot.training import fit

RIDGE = "attribute-regression/synthetic"
DAP = {"method.name": "dap", "method.params": {}}
CAL = {"evaluation.seeds": [0], "evaluation.calibration": True}
GAN = {"method.params.epochs": 2, "method.params.hidden": 32, "method.params.critic_hidden": 32,
       "method.params.syn_num": 20, "method.params.pretrain": {"epochs": 2, "batch_size": 256},
       "method.params.classifier": {"epochs": 5},
       "evaluation.seeds": [0], "evaluation.eval_every": 1, "device": "cpu",
       "evaluation.calibration": False}
CAL_KEYS = {"gzsl_cal_u", "gzsl_cal_s", "gzsl_cal_h"}
HELD_OUT = {"zsl_held_out", "gzsl_cal_h_held_out"}  # recorded with two folds or more


def test_fold_seeds_keep_fold_zero_and_never_share_a_seed_between_runs():
    assert fold_seeds(5, 1) == [5]
    a, b = fold_seeds(0, 4), fold_seeds(1, 4)
    assert a[0] == 0 and b[0] == 1
    assert len(set(a) | set(b)) == 8
    assert fold_seeds(0, 4) == a  # reproducible


@pytest.mark.parametrize("overrides", [{}, DAP], ids=["attribute-regression", "dap"])
def test_non_iterative_methods_validate_on_each_fold_and_choose_gamma_there(overrides):
    one = run_experiment(load_config(RIDGE, {**overrides, **CAL}))[0]
    two = run_experiment(load_config(RIDGE, {**overrides, **CAL,
                                             "evaluation.validation.folds": 2}))[0]
    for r, held_out in ((one, set()), (two, HELD_OUT)):
        assert set(r.validation) == {"zsl", "gzsl_h", "gzsl_gamma"} | CAL_KEYS | held_out
        assert set(r.metrics) == {"zsl", "gzsl_u", "gzsl_s", "gzsl_h"} | CAL_KEYS
        assert all(isinstance(v, float) for v in [*r.metrics.values(), *r.validation.values()])
        assert r.validation["gzsl_gamma"] in GAMMA_GRID
        assert r.validation["gzsl_cal_h"] >= r.validation["gzsl_h"]
        json.dumps(r.to_dict())
    # Two folds average two different validation problems; the test model is the same one.
    assert two.validation["zsl"] != one.validation["zsl"]
    assert {k: two.metrics[k] for k in ("zsl", "gzsl_h")} == {k: one.metrics[k]
                                                              for k in ("zsl", "gzsl_h")}
    plain = run_experiment(load_config(RIDGE, {**overrides, "evaluation.seeds": [0],
                                               "evaluation.calibration": False}))[0]
    assert set(plain.metrics) == {"zsl", "gzsl_u", "gzsl_s", "gzsl_h"}
    assert plain.validation == {k: one.validation[k] for k in ("zsl", "gzsl_h")}
    # Tables and summaries take the extra keys.
    assert set(summarize([one, two])) >= CAL_KEYS
    table = results_table([one, two, plain])
    headers = [c.header for c in table.columns]
    assert headers[-5:] == ["ZSL", "GZSL H", "GZSL cal. U", "GZSL cal. S", "GZSL cal. H"]
    cal_h = summarize([one, two])["gzsl_cal_h"]
    assert table.columns[-1]._cells == [f"{cal_h[0] * 100:.1f} +- {cal_h[1] * 100:.1f}"]
    assert "gzsl_cal_h=" in result_lines([one])[0]


def test_test_selection_searches_gamma_on_test_and_says_it_peeks():
    r = run_experiment(load_config(RIDGE, {**CAL, "evaluation.protocol": "test-selection"}))[0]
    assert r.peeks_at_test and set(r.metrics) >= CAL_KEYS and "gzsl_gamma" in r.validation


def test_calibration_with_the_fixed_protocol_is_a_config_error():
    with pytest.raises(ConfigError, match="protocol 'fixed'"):
        load_config(RIDGE, {**CAL, "evaluation.protocol": "fixed"})
    with pytest.raises(ConfigError, match="folds must be a positive integer"):
        load_config(RIDGE, {"evaluation.validation.folds": 0})
    with pytest.raises(ConfigError, match="calibration must be true or false"):
        load_config(RIDGE, {"evaluation.calibration": "yes"})


def test_gamma_applied_on_test_is_the_searched_one():
    cfg = load_config(RIDGE, DAP)
    data = prepare_data(cfg)
    m = fit(build_method(cfg, 0), data)
    search = evaluate(m, data, ["gzsl"], calibrate=True)
    assert search["gzsl_cal_curve"][0] == search["gzsl_h"]  # gamma 0 is the plain classifier
    fixed = evaluate(m, data, ["gzsl"], gamma=search["gzsl_gamma"])
    assert {k: fixed[k] for k in CAL_KEYS} == {k: search[k] for k in CAL_KEYS}
    assert evaluate(m, data, ["gzsl"]) == {k: fixed[k] for k in ("gzsl_u", "gzsl_s", "gzsl_h")}


def test_dataset_validation_classes_are_fold_zero_and_other_folds_draw_as_many():
    data = prepare_data(load_config(RIDGE))
    given = [int(c) for c in data.seen[:4]]
    data = type(data).create(data.X, data.y, data.attributes, seen=data.seen, unseen=data.unseen,
                             trainval=data.trainval, test_seen=data.test_seen,
                             test_unseen=data.test_unseen, name=data.name,
                             meta={"val_unseen_classes": given})
    views = validation_views(data, ValidationConfig(folds=3), seed=0)
    assert views[0].unseen.tolist() == given
    assert all(v.unseen.size == 4 for v in views)
    assert views[1].unseen.tolist() != views[2].unseen.tolist()
    # One fold alone is the same problem as in the list (the sweep and benchmarks use fold 0).
    assert validation_fold(data, ValidationConfig(folds=3), 0, 2).unseen.tolist() == \
        views[2].unseen.tolist()
    with pytest.raises(ValueError, match="fold 3 is outside the 3"):
        validation_fold(data, ValidationConfig(folds=3), 0, 3)


def test_one_fold_reproduces_the_single_validation_protocol(tmp_path):
    """folds: 1 gives what the protocol did before folds: validation seed = run seed."""
    cfg = load_config("clswgan/synthetic", GAN)
    data = prepare_data(cfg)
    val = data.validation_view(unseen_fraction=0.2, holdout_fraction=0.2, seed=0)
    tasks = tasks_of(val, cfg.evaluation.tasks)
    curve = train(build_method(cfg, 0), val, epochs=2,
                  evaluations=Evaluations(tasks, every=cfg.evaluation.eval_every))
    selected = best_epochs(curve, tasks, val)
    method = build_method(cfg, 0)
    # as the runner does (evaluation.validation.epoch_length: matched)
    steps = matched_steps(method.config, method.iterative, [val])
    final, expected = method_factory(cfg, 0)(steps_per_epoch=steps), {}
    fit(final, data, epochs=max(selected.values()), on_epoch=lambda e, _l: expected.update(
        evaluate(final, data, [t for t, s in selected.items() if s == e])))
    r = run_experiment(cfg)[0]
    assert r.selected_epochs == selected and r.metrics == expected
    # Two folds with calibration: each fold checkpoints under its own name, resume is exact.
    run = tmp_path / "run"
    cfg2 = load_config("clswgan/synthetic", {**GAN, **CAL, "evaluation.validation.folds": 2,
                                             "checkpoint_every": 1})
    first = run_experiment(cfg2, run_dir=run)[0]
    assert (run / "seed_0" / "checkpoints_validation").is_dir()
    assert (run / "seed_0" / "checkpoints_validation1").is_dir()
    assert set(first.validation) == {"zsl", "gzsl_h", "gzsl_gamma"} | CAL_KEYS | HELD_OUT
    assert set(first.metrics) == set(r.metrics) | CAL_KEYS
    again = run_experiment(cfg2, run_dir=run, resume=True)[0]
    assert again.metrics == first.metrics
