"""Optuna sweeps: validation split only, resumable SQLite studies, strict search spaces."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

import anyshot.evaluation.evaluate
import anyshot.experiment
import anyshot.protocols.schedule
from anyshot.config import load_config
from anyshot.errors import ConfigError
from anyshot.sweep import (
    load_search_space,
    run_sweep,
    sweep_command,
    validate_search_space,
    write_best_config,
)

TINY = {"method.params.epochs": 2, "evaluation.eval_every": 1, "device": "cpu",
        "method.params.hidden": 32, "method.params.critic_hidden": 32,
        "method.params.pretrain.epochs": 2, "method.params.syn_num": 50,
        "method.params.classifier.epochs": 5}

SPACE = {
    "method.params.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "method.params.cls_weight": {"type": "categorical", "choices": [0.1, 1.0]},
    "method.params.hidden": {"type": "int", "low": 16, "high": 64, "log": True},
}


@pytest.fixture(autouse=True)
def _quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


@pytest.fixture(scope="module")
def config():
    return load_config("clswgan/synthetic", TINY)


def _in_space(params: dict) -> None:
    assert set(params) == set(SPACE)
    assert 1e-4 <= params["method.params.lr"] <= 1e-2
    assert params["method.params.cls_weight"] in (0.1, 1.0)
    assert (isinstance(params["method.params.hidden"], int)
            and 16 <= params["method.params.hidden"] <= 64)


def test_sweep_finishes_resumes_and_never_reads_test(config, tmp_path: Path, monkeypatch) -> None:
    evaluated: list[str] = []
    real = anyshot.evaluation.evaluate.evaluate

    def recording(method, data, tasks):
        evaluated.append(data.name)
        return real(method, data, tasks)

    # Every route to an evaluation: the function and the name training's schedule imported.
    monkeypatch.setattr(anyshot.evaluation.evaluate, "evaluate", recording)
    monkeypatch.setattr(anyshot.protocols.schedule, "evaluate", recording)

    first = run_sweep(config, SPACE, n_trials=3, run_dir=tmp_path, study_name="s", seed=0)
    db = tmp_path / "sweep.db"
    assert db.is_file() and first.storage == f"sqlite:///{db.resolve()}"
    assert first.n_trials == 3 and first.metric == "gzsl_h" and first.study_name == "s"
    assert 0.0 <= first.best_value <= 1.0
    _in_space(first.best_params)
    for key, value in first.best_params.items():
        name = key.rpartition(".")[2]
        assert first.best_config.to_dict()["method"]["params"][name] == value

    # Resume: same study, explicit storage URL; the study now holds 4 finished trials.
    again = run_sweep(config, SPACE, n_trials=1, storage=f"sqlite:///{db}", study_name="s", seed=0)
    assert again.n_trials == 4
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{db}")
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 4
    for t in trials:
        _in_space(t.params)
    # The resumed trial is a new sample, not a replay of trial 0.
    assert trials[3].params != trials[0].params

    # Only the validation view was ever evaluated (2 epochs x 4 trials), never the test split.
    assert len(evaluated) == 8
    assert all(name.endswith("[validation]") for name in evaluated), evaluated

    # A resumed study refuses a different search space: its trials would not be comparable.
    other = {**SPACE, "method.params.lr": {"type": "float", "low": 1e-3, "high": 1e-2}}
    with pytest.raises(ConfigError, match="different space"):
        run_sweep(config, other, n_trials=1, storage=f"sqlite:///{db}", study_name="s")

    best = write_best_config(again, tmp_path / "best_config.yaml")
    reloaded = load_config(best)
    assert reloaded.to_dict() == again.best_config.to_dict()
    assert "validation gzsl_h" in best.read_text()


def test_sweep_of_a_non_iterative_method_with_explicit_metric(tmp_path: Path) -> None:
    cfg = load_config("attribute-regression/synthetic", {"device": "cpu"})
    space = {"method.params.alpha": {"type": "float", "low": 0.01, "high": 100.0, "log": True}}
    result = run_sweep(cfg, space, n_trials=2, storage=f"sqlite:///{tmp_path / 'ar.db'}",
                       metric="zsl")
    assert result.metric == "zsl" and result.n_trials == 2
    assert result.best_value > 0.5  # well above chance (1/4 held-out classes)
    with pytest.raises(ConfigError, match="metric 'fsl'.*zsl, gzsl_u, gzsl_s, gzsl_h"):
        run_sweep(cfg, space, n_trials=1, storage=f"sqlite:///{tmp_path / 'ar.db'}",
                  metric="fsl")


def test_sweep_command_writes_best_config(tmp_path: Path) -> None:
    space_file = tmp_path / "space.yaml"
    space_file.write_text(yaml.safe_dump({
        "metric": "zsl",
        "space": {"method.params.alpha": {"type": "float", "low": 0.1, "high": 10.0}},
    }))
    result = sweep_command("attribute-regression/synthetic", space_file, 2, None, "cli",
                           tmp_path / "out", overrides={"device": "cpu"})
    assert result.n_trials == 2
    assert (tmp_path / "out" / "sweep.db").is_file()
    best = load_config(tmp_path / "out" / "best_config.yaml")
    assert best.method.params["alpha"] == result.best_params["method.params.alpha"]


@pytest.mark.parametrize(("space", "key", "why"), [
    ({"method.params.lr": {"type": "uniform", "low": 0.1, "high": 1.0}}, "method.params.lr",
     "type 'uniform'"),
    ({"method.params.lr": {"type": "float", "low": 0.1}}, "method.params.lr", "bound 'high'"),
    ({"method.params.hidden": {"type": "int", "low": 8.5, "high": 64}}, "method.params.hidden",
     "integer"),
    ({"method.params.lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}},
     "method.params.lr", "low > 0"),
    ({"method.params.lr": {"type": "float", "low": 1.0, "high": 0.1}}, "method.params.lr",
     "greater than high"),
    ({"method.params.lr": {"type": "float", "lo": 0.1, "high": 1.0}}, "method.params.lr",
     "unknown key"),
    ({"method.params.cls_weight": {"type": "categorical", "choices": []}},
     "method.params.cls_weight", "choices"),
    ({"method.parms.lr": {"type": "float", "low": 0.1, "high": 1.0}}, "method.parms.lr",
     "not a path in the config"),
    ({"method.params.learning_rate": {"type": "float", "low": 0.1, "high": 1.0}},
     "method.params.learning_rate", "unknown key"),
    ({"method.params.pretrain": {"type": "categorical", "choices": [1]}},
     "method.params.pretrain", "whole section"),
    ({"evaluation.eval_every": {"type": "int", "low": 1, "high": 5}}, "evaluation.eval_every",
     "searchable"),
    ({"lr": {"type": "float", "low": 0.1, "high": 1.0}}, "lr", "dotted config path"),
])
def test_bad_search_space_names_the_key(config, tmp_path: Path, space, key, why) -> None:
    with pytest.raises(ConfigError) as err:
        run_sweep(config, space, n_trials=1, storage=f"sqlite:///{tmp_path / 'x.db'}")
    assert repr(key) in str(err.value) and why in str(err.value)
    assert not (tmp_path / "x.db").exists()  # rejected before any study was created


def test_load_search_space(tmp_path: Path, config) -> None:
    good = tmp_path / "space.yaml"
    good.write_text("metric: gzsl_h\nspace:\n"
                    "  method.params.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}\n"
                    "  method.params.cls_weight: {type: categorical, choices: [0.1, 1.0]}\n"
                    "  method.params.hidden: {type: int, low: 64, high: 512, log: true}\n")
    space, metric = load_search_space(good)
    assert metric == "gzsl_h" and set(space) == {"method.params.lr", "method.params.cls_weight",
                                                 "method.params.hidden"}
    assert validate_search_space(space, config) == space
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics: zsl\nspace: {}\n")
    with pytest.raises(ConfigError, match="'metrics'"):
        load_search_space(bad)
    bad.write_text("space:\n  method.params.lr: {type: float, high: 0.1}\n")
    with pytest.raises(ConfigError, match="'method.params.lr'.*'low'"):
        load_search_space(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_search_space(tmp_path / "missing.yaml")


def test_trials_side_by_side_share_the_threads(config, tmp_path: Path, monkeypatch) -> None:
    """--jobs 2 with 2 threads: two trials run at once (two Python threads), one torch thread
    each, so they never oversubscribe the cores; the setting is restored afterwards."""
    import threading

    import torch

    seen: list[tuple[str, int]] = []
    real = anyshot.experiment.build_method

    def recording(cfg, seed):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return real(cfg, seed)

    monkeypatch.setattr(anyshot.experiment, "build_method", recording)
    before = torch.get_num_threads()
    result = run_sweep(config, SPACE, n_trials=2, jobs=2, threads=2,
                       storage=f"sqlite:///{tmp_path / 'p.db'}")
    assert result.n_trials == 2
    assert [n for _, n in seen] == [1, 1]
    assert len({name for name, _ in seen}) == 2  # two worker threads, side by side
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="jobs must be a positive integer"):
        run_sweep(config, SPACE, n_trials=1, jobs=0, storage=f"sqlite:///{tmp_path / 'p.db'}")
