"""Run an experiment config end to end: load -> scale -> protocol (select on validation, test
once) -> results.

This is the one place where an experiment is sequenced; the CLI, the benchmarks and the tests
all call :func:`run_experiment` (or :func:`run_seed`). What trains, what selects and what is read
once is the protocol's (:mod:`anyshot.protocols`).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import yaml

from anyshot.config import ExperimentConfig, load_config
from anyshot.data.dataset import AnyShotData
from anyshot.data.registry import load_dataset
from anyshot.data.transforms import scale_features
from anyshot.errors import ConfigError
from anyshot.evaluation.results import RunResult
from anyshot.evaluation.scoring import evaluate
from anyshot.evaluation.task import Task, tasks_of
from anyshot.io import atomic_write_text
from anyshot.methods import Method
from anyshot.protocols import MethodFactory, Progress, make_protocol
from anyshot.utils import git_revision, resolve_device

__all__ = ["prepare_data", "build_method", "method_factory", "run_seed", "run_experiment",
           "evaluate_run", "Progress"]


def prepare_data(config: ExperimentConfig) -> AnyShotData:
    """Load the configured dataset and scale its features with training statistics."""
    data = load_dataset(config.data.name, **config.data.params)
    if config.data.shots is not None:
        data = data.with_shots(config.data.shots, seed=config.data.shots_seed)
    return scale_features(data, config.data.scaling)


def method_factory(config: ExperimentConfig, seed: int) -> MethodFactory:
    """Fresh methods of the config's method, objective, device and ``seed``."""
    obj = config.objective
    return MethodFactory(config.method.name, dict(config.method.params),
                         None if obj is None else obj.name,
                         {} if obj is None else dict(obj.params),
                         str(resolve_device(config.device)), seed)


def build_method(config: ExperimentConfig, seed: int) -> Method:
    """A fresh, unfitted method of the config (train it with :func:`anyshot.training.fit`)."""
    return method_factory(config, seed)()


def run_seed(config: ExperimentConfig, data: AnyShotData, seed: int,
             progress: Progress | None = None, save_dir: Path | None = None) -> RunResult:
    """One seed of the configured protocol on already prepared data.

    With ``save_dir``, the model each task was tested with is saved to ``save_dir/<task>/``
    (safetensors + JSON), so ``anyshot evaluate`` can re-read it.
    """
    t0 = time.perf_counter()
    protocol = make_protocol(config.evaluation, config.checkpoint_every)
    result = protocol.run(method_factory(config, seed), data, seed, progress=progress,
                          save_dir=save_dir)
    return replace(result, config=config.to_dict(), git_revision=git_revision(),
                   seconds=time.perf_counter() - t0)


def run_experiment(config: ExperimentConfig, progress: Progress | None = None,
                   data: AnyShotData | None = None, run_dir: Path | None = None,
                   resume: bool = False) -> list[RunResult]:
    """Every seed of the config; returns one :class:`RunResult` per seed.

    With ``run_dir``, writes ``config.yaml``, ``results.jsonl`` (one line per seed, appended as
    each seed finishes), the tested models under ``seed_<s>/<task>/`` and training checkpoints
    every ``config.checkpoint_every`` epochs. ``resume=True`` continues an interrupted run in
    ``run_dir``: finished seeds are kept, a seed in progress restarts from its last checkpoint,
    and the numbers equal those of an uninterrupted run.
    """
    data = prepare_data(config) if data is None else data
    results: list[RunResult] = []
    if run_dir is not None:
        run_dir = Path(run_dir)
        done = run_dir / "results.jsonl"
        if resume and done.is_file():
            results = [RunResult(**json.loads(line)) for line in done.read_text().splitlines()
                       if line.strip()]
        elif not resume and (done.is_file() or any(run_dir.glob("seed_*"))):
            raise ConfigError(f"run directory {str(run_dir)!r} already holds a run; resume it with "
                              "--resume, or choose another --out.")
        atomic_write_text(run_dir / "config.yaml",
                          yaml.safe_dump(config.to_dict(), sort_keys=False))
    finished = {r.seed for r in results}
    for seed in config.evaluation.seeds:
        if seed in finished:
            continue
        save = None if run_dir is None else run_dir / f"seed_{seed}"
        result = run_seed(config, data, seed, progress, save)
        results.append(result)
        if run_dir is not None:
            lines = "".join(json.dumps({k: v for k, v in r.to_dict().items() if k != "history"},
                                       sort_keys=True) + "\n" for r in results)
            atomic_write_text(run_dir / "results.jsonl", lines)
            # Per-epoch training metrics of the tested model, one JSON object per line.
            atomic_write_text(save / "history.jsonl",
                              "".join(json.dumps(row) + "\n" for row in result.history))
    return results


def evaluate_run(run_dir: Path, device: str = "cpu") -> list[RunResult]:
    """Re-read a run directory's config and saved models and evaluate them on the test sets."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / "config.yaml")
    data = prepare_data(config)
    tasks = tasks_of(data, config.evaluation.tasks)
    stored = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()
              if line.strip()]
    out = []
    gamma_key = Task.of(data, "gzsl").key("gamma")
    for rec in stored:
        metrics: dict[str, float] = {}
        # The gamma the run chose (calibrated stacking), applied again as it was on test.
        gamma = (rec.get("validation", {}).get(gamma_key)
                 if config.evaluation.calibration else None)
        for task in tasks:
            method = Method.load(run_dir / f"seed_{rec['seed']}" / task.kind, device=device)
            metrics.update(evaluate(method, data, [task],
                                    **({} if gamma is None else {"gamma": gamma})))
        rec = {**rec, "metrics": metrics}
        out.append(RunResult(**rec))
    return out
