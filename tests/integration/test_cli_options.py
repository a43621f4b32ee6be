"""Command-line options: ``--version``, ``presets`` descriptions, one ``--seeds`` syntax for
``demo`` and ``train``, ``example-data`` (files listed, no overwrite without ``--force``) and
``predict --set / --proba / --unseen`` (the estimator's ``fit(..., unseen_classes=...)``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import anyshot
import anyshot.cli.runs
from anyshot import AnyShotClassifier
from anyshot.cli import app
from anyshot.config import list_presets
from anyshot.data.synthetic import EXAMPLE_FILES, write_example_files
from anyshot.methods import Method

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"anyshot {anyshot.__version__}"


def test_presets_prints_one_described_line_per_preset() -> None:
    result = runner.invoke(app, ["presets"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == list_presets()
    described = dict(line.split(None, 1) for line in lines)
    assert all(len(text) > 20 for text in described.values()), described
    # the header comment's first sentence, cut before its colon when it runs long
    assert described["clswgan/cub"] == "f-CLSWGAN paper hyperparameters for CUB (Xian et al. 2018)"
    assert described["factorised-gaussian/synthetic"].startswith("Factorised-Gaussian generator")


@pytest.mark.parametrize("text, seeds", [("0,1,2", [0, 1, 2]), ("0-2", [0, 1, 2]),
                                         ("4", [4]), ("0-1,5", [0, 1, 5])])
def test_seeds_mean_the_same_in_demo_and_train(text: str, seeds: list[int], monkeypatch) -> None:
    ran: list[list[int]] = []

    def record(configs, *args, **kwargs):
        ran.append([list(cfg.evaluation.seeds) for cfg in configs])
        return []

    monkeypatch.setattr(anyshot.cli.runs, "_run", record)
    for args in (["demo", "--seeds", text],
                 ["train", "--config", "clswgan/synthetic", "--seeds", text]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    demo, train = ran
    assert demo == [seeds, seeds] and train == [seeds]


def test_example_data_lists_its_files_and_overwrites_only_with_force(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep")
    first = runner.invoke(app, ["example-data", str(folder)])
    assert first.exit_code == 0, first.output
    assert first.output.split() == [str(folder / name) for name in EXAMPLE_FILES]
    (folder / "classes.csv").write_text("edited")
    again = runner.invoke(app, ["example-data", str(folder), "--seed", "1"])
    assert again.exit_code == 2 and "--force" in again.output and "classes.csv" in again.output
    assert (folder / "classes.csv").read_text() == "edited"  # nothing was written
    forced = runner.invoke(app, ["example-data", str(folder), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (folder / "classes.csv").read_text().startswith("class,a0")
    assert (folder / "mine.txt").read_text() == "keep"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("predict")
    write_example_files(root)
    return root


def _predict(files: Path, out: Path, *extra: str) -> list[str]:
    return ["predict", "--features", str(files / "features.csv"), "--classes",
            str(files / "classes.csv"), "--input", str(files / "new_samples.csv"), "--out",
            str(out), "--method", "dap", *extra]


def _training_table(files: Path):
    train = pd.read_csv(files / "features.csv")
    table = pd.read_csv(files / "classes.csv").set_index("class")
    return train.drop(columns=["label"]).to_numpy(), train["label"].to_numpy(), table


def test_predict_proba_writes_one_column_per_class(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    result = runner.invoke(app, _predict(files, out, "--proba"))
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    classes = pd.read_csv(files / "classes.csv")["class"].tolist()
    assert list(pred.columns) == ["prediction", *classes]
    proba = pred[classes].to_numpy()
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert (np.array(classes)[proba.argmax(1)] == pred["prediction"].to_numpy()).all()


def test_predict_unseen_is_the_estimators_unseen_classes(files: Path, tmp_path: Path) -> None:
    X, y, table = _training_table(files)
    no_rows = sorted(set(table.index) - set(y))
    named = [no_rows[0], no_rows[1], sorted(set(y))[0]]  # two zero-shot, one few-shot class
    out = tmp_path / "p.csv"
    result = runner.invoke(app, _predict(files, out, "--zsl", "--unseen", ",".join(named),
                                         "--proba"))
    assert result.exit_code == 0, result.output
    assert "few-shot" in result.output and no_rows[2] in result.output  # left out, said so
    pred = pd.read_csv(out)
    est = AnyShotClassifier(method="dap", generalized=False).fit(
        X, y, class_attributes=table, unseen_classes=named)
    new = pd.read_csv(files / "new_samples.csv").to_numpy()
    assert sorted(est.classes_) == sorted(named)
    assert (pred["prediction"].to_numpy() == est.predict(new)).all()
    assert list(pred.columns[1:]) == list(est.classes_)


def test_predict_unseen_names_an_unknown_class(files: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, _predict(files, tmp_path / "p.csv", "--unseen",
                                         "species_002,zebra"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--unseen: 'zebra' is not a class of --classes" in result.output


def test_predict_set_reaches_the_fitted_model(files: Path, tmp_path: Path) -> None:
    saved = tmp_path / "model"
    result = runner.invoke(app, _predict(
        files, tmp_path / "p.csv", "--set", "method.params.attribute_classifier=logistic",
        "--set", "method.params.threshold=0.4", "--save-model", str(saved)))
    assert result.exit_code == 0, result.output
    config = Method.load(saved).config
    assert config.attribute_classifier == "logistic" and config.threshold == 0.4


@pytest.mark.parametrize("setting, expected", [
    ("evaluation.seeds=[1]", "predict takes method.name"),
    ("method.params.epoks=3", "--set: unknown key(s) 'epoks'"),
    ("method.params.attribute_classifier=svm", "'svm' is unknown"),
    ("data.scaling=log", "--set data.scaling 'log' is unknown"),
])
def test_predict_set_rejects_bad_keys_before_reading_data(setting: str, expected: str,
                                                          files: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    import anyshot.data.manifest

    def no_table(*args, **kwargs):
        raise AssertionError("a table was read before the bad --set was reported")

    monkeypatch.setattr(anyshot.data.manifest, "read_table", no_table)
    result = runner.invoke(app, _predict(files, tmp_path / "p.csv", "--set", setting))
    assert result.exit_code == 2 and expected in result.output, result.output
