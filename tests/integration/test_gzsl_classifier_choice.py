"""A list of GZSL final classifiers: each evaluated on validation, the fold-mean best tested."""

import json

import pytest

from anyshot.config import load_config
from anyshot.errors import ConfigError
from anyshot.evaluation.final_classifier import SynthesisConfig
from anyshot.evaluation.scoring import choose_gzsl_classifier
from anyshot.evaluation.task import Task
from anyshot.experiment import run_experiment
from anyshot.methods import Method
from anyshot.protocols.folds import mean_curve
from anyshot.reporting import result_lines
from anyshot.training import fit

FG = "factorised-gaussian/synthetic"
CHOICE = {"method.params.gzsl_final_classifier": ["gaussian", "gaussian-full"],
          "evaluation.seeds": [0], "evaluation.tasks": ["zsl", "gzsl"], "device": "cpu"}


def _gzsl():
    from anyshot.data.synthetic import make_synthetic

    return Task.of(make_synthetic(), "gzsl")


def test_a_row_takes_the_metrics_of_its_best_classifier():
    row = {"zsl": 0.7, "gzsl_u@a": 0.2, "gzsl_h@a": 0.3, "gzsl_u@b": 0.6, "gzsl_h@b": 0.5}
    choose_gzsl_classifier(row, _gzsl(), calibrated=False)
    assert (row["gzsl_classifier"], row["gzsl_u"], row["gzsl_h"]) == ("b", 0.6, 0.5)
    tie = {"gzsl_cal_h@a": 0.4, "gzsl_cal_h@b": 0.4, "gzsl_h@a": 0.1, "gzsl_h@b": 0.9}
    choose_gzsl_classifier(tie, _gzsl(), calibrated=True)
    assert tie["gzsl_classifier"] == "a"  # calibrated H decides; the first listed wins a tie
    plain = {"zsl": 0.5, "gzsl_h": 0.2}
    choose_gzsl_classifier(plain, _gzsl(), calibrated=False)
    assert plain == {"zsl": 0.5, "gzsl_h": 0.2}


def test_the_choice_is_made_on_fold_means_not_by_a_vote_of_folds():
    from anyshot.data.synthetic import make_synthetic

    data = make_synthetic()
    # Fold 1 prefers a (0.9 vs 0.5), fold 2 prefers b (0.6 vs 0.1); means a 0.5, b 0.55.
    folds = [[{"epoch": 1, "gzsl_h@a": 0.9, "gzsl_h@b": 0.5}],
             [{"epoch": 1, "gzsl_h@a": 0.1, "gzsl_h@b": 0.6}]]
    for rows in folds:
        choose_gzsl_classifier(rows[0], Task.of(data, "gzsl"), calibrated=False)
    assert [f[0]["gzsl_classifier"] for f in folds] == ["a", "b"]
    mean = mean_curve(folds, data, calibrated=False)[0]
    assert mean["gzsl_classifier"] == "b"
    assert mean["gzsl_h"] == pytest.approx(0.55)


def test_the_honest_protocol_tests_and_saves_the_classifier_validation_chose(tmp_path):
    cfg = load_config(FG, {**CHOICE, "evaluation.calibration": True})
    result = run_experiment(cfg, run_dir=tmp_path)[0]
    chosen = result.validation["gzsl_classifier"]
    assert chosen in ("gaussian", "gaussian-full")
    assert not any("@" in k for k in [*result.metrics, *result.validation])
    json.dumps(result.to_dict())
    assert any(chosen in line for line in result_lines([result]))
    # The saved GZSL model is the one tested: its config names the chosen classifier alone.
    saved = Method.load(tmp_path / "seed_0" / "gzsl", device="cpu")
    assert saved.config.gzsl_final_classifier == chosen
    # Each listed classifier, configured alone, validates to its own score; the choice is the
    # better of the two on validation.
    alone = {name: run_experiment(load_config(FG, {
        **CHOICE, "evaluation.calibration": True,
        "method.params.gzsl_final_classifier": name}))[0] for name in ("gaussian", "gaussian-full")}
    scores = {n: r.validation["gzsl_cal_h"] for n, r in alone.items()}
    assert chosen == max(scores, key=scores.get)
    assert result.validation["gzsl_cal_h"] == pytest.approx(scores[chosen])
    assert result.metrics == pytest.approx(alone[chosen].metrics)


def test_a_list_needs_validation_and_valid_names():
    with pytest.raises(ConfigError, match="fixed"):
        run_experiment(load_config(FG, {**CHOICE, "evaluation.protocol": "fixed"}))
    with pytest.raises(ConfigError, match="gaussian-fulll"):
        SynthesisConfig(gzsl_final_classifier=["gaussian", "gaussian-fulll"])
    with pytest.raises(ConfigError, match="non-empty"):
        SynthesisConfig(gzsl_final_classifier=[])
    assert SynthesisConfig(gzsl_final_classifier=["gaussian"]).gzsl_final_classifier == "gaussian"
    # Outside the protocol a method with a list cannot build its GZSL classifier silently.
    from anyshot.experiment import build_method, prepare_data

    data = prepare_data(load_config(FG, CHOICE))
    m = fit(build_method(load_config(FG, CHOICE), 0), data)
    with pytest.raises(ConfigError, match="one name"):
        m.build_classifier(Task.of(data, "gzsl"), data.X[data.trainval], data.y[data.trainval])
