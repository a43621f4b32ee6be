"""The tutorial (docs/tutorial.md) runs as written: the Python block and the CLI block."""

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from anyshot.cli import app
from anyshot.data.synthetic import write_example_files

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


def _block(tag: str) -> str:
    text = TUTORIAL.read_text()
    m = re.search(rf"<!-- {tag} -->\s*```\w+\n(.*?)```\s*<!-- /{tag} -->", text, re.S)
    assert m, f"docs/tutorial.md has no {tag} block"
    return m.group(1)


def test_python_tutorial_is_short_and_predicts_unseen_classes(tmp_path, monkeypatch):
    code = _block("tutorial-python")
    assert len([l for l in code.splitlines() if l.strip()]) < 10
    monkeypatch.chdir(tmp_path)
    write_example_files(tmp_path / "my_data")
    scope: dict = {}
    exec(compile(code, "docs/tutorial.md", "exec"), scope)
    pred = np.asarray(scope["predictions"])
    truth = pd.read_csv(tmp_path / "my_data" / "new_labels.csv")["label"].to_numpy()
    classes = pd.read_csv(tmp_path / "my_data" / "classes.csv")["class"]
    train_labels = set(pd.read_csv(tmp_path / "my_data" / "features.csv")["label"])
    unseen = set(classes) - train_labels
    is_unseen = np.isin(truth, list(unseen))
    assert len(unseen) == 5
    # unseen classes are predicted, and right far more often than chance (1/20 in GZSL)
    assert np.isin(pred, list(unseen)).any()
    assert (pred[is_unseen] == truth[is_unseen]).mean() > 0.3
    assert (pred == truth).mean() > 0.6


def test_cli_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for line in _block("tutorial-cli").strip().splitlines():
        args = shlex.split(line)
        assert args[0] == "anyshot"
        result = runner.invoke(app, args[1:])
        assert result.exit_code == 0, (line, result.output)
    pred = pd.read_csv(tmp_path / "my_data" / "predictions.csv")["prediction"].to_numpy()
    truth = pd.read_csv(tmp_path / "my_data" / "new_labels.csv")["label"].to_numpy()
    assert (pred == truth).mean() > 0.6
