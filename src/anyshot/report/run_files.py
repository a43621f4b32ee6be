"""Reading a run directory: what ``anyshot train --out DIR`` wrote, checked and loaded once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import CheckpointError
from anyshot.evaluation.results import RunResult


@dataclass
class RunFiles:
    """What a run directory holds, read once."""

    run_dir: Path
    config: ExperimentConfig
    config_text: str
    records: list[RunResult]
    histories: dict[int, list[dict[str, float]]]


def read_run(run_dir: Path) -> RunFiles:
    how = f"create one with `anyshot train --config ... --out {run_dir}`"
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory {str(run_dir)!r} does not exist; {how}.")
    results = run_dir / "results.jsonl"
    if not results.is_file():
        if any(run_dir.glob("seed_*")):
            raise CheckpointError(
                f"{str(results)!r} does not exist: the run in {str(run_dir)!r} has not finished a "
                f"seed yet; finish it with `anyshot train --resume {run_dir}`."
            )
        raise CheckpointError(f"{str(results)!r} does not exist, so {str(run_dir)!r} is not a run "
                              f"directory; {how}.")
    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        raise CheckpointError(f"{str(config_file)!r} does not exist; the run directory is "
                              f"incomplete; {how}.")
    records = []
    for i, line in enumerate(results.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            records.append(RunResult(**{k: v for k, v in rec.items() if k != "history"}))
        except (json.JSONDecodeError, TypeError) as exc:
            raise CheckpointError(f"{str(results)!r} line {i} is not a result record ({exc}); the "
                                  f"file may be truncated; rerun with `anyshot train --resume "
                                  f"{run_dir}`.") from exc
    if not records:
        raise CheckpointError(f"{str(results)!r} holds no finished seed; finish the run with "
                              f"`anyshot train --resume {run_dir}`.")
    histories: dict[int, list[dict[str, float]]] = {}
    for rec in records:
        path = run_dir / f"seed_{rec.seed}" / "history.jsonl"
        if path.is_file():
            try:
                histories[rec.seed] = [json.loads(line) for line in path.read_text().splitlines()
                                       if line.strip()]
            except json.JSONDecodeError as exc:
                raise CheckpointError(f"{str(path)!r} is not valid JSON ({exc}); it may be "
                                      "truncated.") from exc
    return RunFiles(run_dir, load_config(config_file), config_file.read_text(), records, histories)
