"""Every bad command-line value ends cleanly: exit code 2, one message naming the problem, no
traceback; option values are rejected before any data set is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import anyshot
import anyshot.data.manifest
import anyshot.data.registry
import anyshot.experiment
from anyshot.cli import app

runner = CliRunner()

TRAIN = ["train", "--config", "clswgan/synthetic"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Good and bad input files for predict, a manifest, an empty config and a finished run."""
    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    feats = pd.DataFrame(rng.random((6, 3)), columns=["f0", "f1", "f2"])
    feats["label"] = ["a", "a", "b", "b", "a", "b"]
    feats.to_csv(root / "features.csv", index=False)
    feats.to_csv(root / "features_semicolon.csv", index=False, sep=";")
    feats.assign(f1="x").to_csv(root / "features_text.csv", index=False)
    feats.drop(columns="label").to_csv(root / "features_nolabel.csv", index=False)
    classes = pd.DataFrame({"class": ["a", "b", "c"], "a0": [1.0, 0.0, 1.0], "a1": [0.0, 1.0, 1.0]})
    classes.to_csv(root / "classes.csv", index=False)
    classes.assign(**{"class": ["a", "b", "a"]}).to_csv(root / "classes_dup.csv", index=False)
    classes.assign(a1=[0.0, np.nan, 1.0]).to_csv(root / "classes_nan.csv", index=False)
    new = feats.drop(columns="label")
    new.to_csv(root / "new.csv", index=False)
    new.assign(f2=[0.1, 0.2, np.nan, 0.4, 0.5, 0.6]).to_csv(root / "new_nan.csv", index=False)
    (root / "empty.csv").write_text("")
    (root / "header_only.csv").write_text("f0,f1,f2,label\n")
    (root / "features.txt").write_text("f0,label\n1,a\n")
    (root / "empty.yaml").write_text("")
    (root / "list.yaml").write_text("- a\n- b\n")
    (root / "manifest.yaml").write_text("features: features.csv\nattributes: classes.csv\n"
                                        "unseen: [c]\n")
    (root / "done").mkdir()
    (root / "done" / "results.jsonl").write_text("{}\n")
    (root / "nomodel").mkdir()
    (root / "afile").write_text("x")
    noise = np.random.default_rng(1).integers(128, 256, 3000, dtype=np.uint8).tobytes()
    for name in ("binary.csv", "binary.parquet", "binary.yaml"):
        (root / name).write_bytes(noise)  # unreadable: not UTF-8, not Parquet
    (root / "badmodel").mkdir()
    (root / "badmodel" / "model.json").write_bytes(noise)
    (root / "badmodel" / "model.safetensors").write_bytes(b"")
    (root / "examples").mkdir()
    (root / "examples" / "classes.csv").write_text("mine\n")
    return root


def _bad_values(r: Path) -> list[tuple[list[str], str, bool]]:
    """(arguments, expected text, reads data files): at least 30 bad values."""
    f, c, n = str(r / "features.csv"), str(r / "classes.csv"), str(r / "new.csv")
    out = str(r / "pred.csv")

    def predict(**over: str) -> list[str]:
        opts = {"--features": f, "--classes": c, "--input": n, "--out": out, **over}
        args = ["predict"]
        for k, v in opts.items():
            if v is not None:
                args += [k] if v == "" else [k, v]
        return args

    return [
        # types and ranges of config values, through --set
        (TRAIN + ["--set", "method.params.epochs=abc"], "method.params.epochs is 'abc'", False),
        (TRAIN + ["--set", "method.params.epochs=-3"], "method.params.epochs is -3", False),
        (TRAIN + ["--set", "method.params.batch_size=0"], "batch_size is 0", False),
        (TRAIN + ["--set", "method.params.lr=-1"], "method.params.lr is -1", False),
        (TRAIN + ["--set", "method.params.hidden=2.5"], "it must be an integer", False),
        (TRAIN + ["--set", "evaluation.eval_every=0"], "eval_every must be >= 1", False),
        (TRAIN + ["--set", "threads=-2"], "threads", False),
        (TRAIN + ["--set", "method.params.epochs"], "--set takes KEY=VALUE", False),
        (TRAIN + ["--set", "method.params.lr={"], "is not valid YAML", False),
        # unknown names
        (TRAIN + ["--set", "method.params.epoks=3"], "unknown key(s) 'epoks'", False),
        (TRAIN + ["--set", "method.name=cls"], "unknown method 'cls'", False),
        (TRAIN + ["--set", "data.name=imagenet"], "unknown dataset 'imagenet'", False),
        (["train", "--config", "nope/none"], "no config file or preset named 'nope/none'", False),
        (TRAIN + ["--device", "tpu"], "--device 'tpu' is unknown", False),
        (TRAIN + ["--objective", "gan"], "--objective 'gan' is unknown", False),
        (TRAIN + ["--protocol", "peek"], "--protocol 'peek' is unknown", False),
        (TRAIN + ["--amp", "fp8"], "--amp 'fp8' is unknown", False),
        # option types and ranges
        (TRAIN + ["--seeds", "a,b"], "--seeds takes comma-separated integers", False),
        (TRAIN + ["--seeds", "0,0"], "lists a seed twice", False),
        (TRAIN + ["--seeds", "0-2,1"], "lists a seed twice", False),
        (TRAIN + ["--seeds", "3-1"], "the range '3-1' runs backwards", False),
        (TRAIN + ["--patience", "0"], "--patience must be an integer >= 1", False),
        (TRAIN + ["--threads", "-1"], "--threads must be an integer >= 0", False),
        (TRAIN + ["--threads", "many"], "'--threads'", False),
        (["demo", "--seeds", "abc"], "--seeds takes comma-separated integers >= 0 and ranges",
         False),
        (["demo", "--seeds", "-1"], "--seeds takes comma-separated integers", False),
        (["ablate", "--config", "srwgan/synthetic", "--seeds", "1-0"], "runs backwards", False),
        # fractions name their range
        (TRAIN + ["--set", "evaluation.validation.unseen_fraction=1.5"],
         "unseen_fraction has an invalid value 1.5; it must be a fraction in (0, 1)", False),
        (TRAIN + ["--set", "evaluation.validation.holdout_fraction=0"],
         "holdout_fraction has an invalid value 0; it must be a fraction in (0, 1)", False),
        (["ablate", "--config", "clswgan/synthetic"], "give an SRWGAN config", False),
        (["ablate", "--config", "srwgan/synthetic", "--variants", "no-such"],
         "--variants: unknown ablation", False),
        (["sweep", "--config", "clswgan/synthetic", "--space", str(r / "nope.yaml")],
         "--space: file", False),
        (["sweep", "--config", "clswgan/synthetic", "--space", str(r / "empty.yaml"),
          "--jobs", "0"], "--jobs must be an integer >= 1", False),
        (["report", str(r), "--embedding", "umap"], "--embedding 'umap' is unknown", False),
        (["generate", str(r / "nomodel"), "--classes", "0", "--n", "0"], "--n must be", False),
        # wrong files and folders
        (["train", "--config", str(r / "missing.yaml")], "does not exist", False),
        (["train", "--config", str(r / "empty.yaml")], "is an empty file", False),
        (["train", "--config", str(r / "list.yaml")], "must be a YAML mapping", False),
        (["train", "--config", str(r / "manifest.yaml")],
         "is a data manifest, not an experiment config", False),
        (["train"], "give --config FILE", False),
        (["train", "--resume", str(r / "nowhere")], "holds no run", False),
        (TRAIN + ["--out", str(r / "done")], "already holds a run", False),
        (TRAIN + ["--out", str(r / "afile")], "is a file", False),
        (["evaluate", str(r / "nowhere")], "does not exist", False),
        (["validate", str(r / "nowhere.yaml")], "does not exist", False),
        (["example-data", str(r / "afile")], "is a file", False),
        (["example-data", str(r / "examples")], "already holds classes.csv; nothing was written. "
         "Give --force", False),
        (["generate", str(r / "nomodel"), "--classes", "0"], "holds no model.json", False),
        (predict(**{"--features": str(r / "missing.csv")}), "--features: file", False),
        (predict(**{"--features": str(r / "empty.csv")}), "is empty", False),
        (predict(**{"--features": str(r / "features.txt")}), "unsupported type '.txt'", False),
        (predict(**{"--out": str(r / "pred.txt")}), "must be a .csv file", False),
        (predict(**{"--out": str(r / "no" / "pred.csv")}), "does not exist; create it", False),
        (predict(**{"--method": "nope"}), "--method 'nope' is unknown", False),
        (predict(**{"--preset": "nope/x"}), "no config file or preset named", False),
        (predict(**{"--epochs": "0"}), "--epochs must be an integer >= 1", False),
        (predict(**{"--features": None}), "give --features and --classes", False),
        (predict(**{"--model": str(r / "nowhere")}), "only apply when training", False),
        (predict(**{"--model": str(r / "nowhere"), "--features": None, "--classes": None,
                    "--unseen": "a"}), "--unseen only apply when training", False),
        (predict(**{"--set": "method.params.epochs=3", "--model": str(r / "nowhere"),
                    "--features": None, "--classes": None}), "--set only apply when training",
         False),
        (predict(**{"--set": "evaluation.seeds=[0]"}), "--set evaluation.seeds: predict takes",
         False),
        (predict(**{"--method": "clswgan", "--set": "method.params.epoks=3"}),
         "--set: unknown key(s) 'epoks'", False),
        (predict(**{"--set": "method.params.epochs=3"}),
         "--set: method_params and objective_params belong to one method; name it", False),
        (predict(**{"--method": "auto", "--set": "method.params.epochs=3"}),  # auto is a choice
         "--set: method_params and objective_params belong to one method; name it", False),
        (predict(**{"--model": str(r / "nowhere"), "--features": None, "--classes": None}),
         "--model: model folder", False),
        (predict(**{"--model": str(r / "nomodel"), "--features": None, "--classes": None}),
         "--model: ", False),
        # bad file contents (read, never trained on)
        (predict(**{"--features": str(r / "header_only.csv")}), "has a header but no rows", True),
        (predict(**{"--features": str(r / "features_semicolon.csv")}), "separated by ';'", True),
        (predict(**{"--features": str(r / "features_nolabel.csv")}), "no label column 'label'",
         True),
        (predict(**{"--features": str(r / "features_text.csv")}), "non-numeric columns ['f1']",
         True),
        (predict(**{"--classes": str(r / "classes_dup.csv")}), "lists classes ['a'] more than once",
         True),
        (predict(**{"--classes": str(r / "classes_nan.csv")}), "--classes", True),
        (predict(**{"--unseen": "c,zebra"}), "--unseen: 'zebra' is not a class of --classes",
         True),
        # unreadable files name their option
        (predict(**{"--features": str(r / "binary.csv")}), "--features: could not read", True),
        (predict(**{"--classes": str(r / "binary.parquet")}), "--classes: could not read", True),
        (predict(**{"--input": str(r / "binary.csv")}), "--input: could not read", True),
        (predict(**{"--model": str(r / "badmodel"), "--features": None, "--classes": None}),
         "--model: ", False),
        (["generate", str(r / "badmodel"), "--classes", "0"], "MODEL", False),
        (["sweep", "--config", "clswgan/synthetic", "--space", str(r / "binary.yaml")],
         "--space: search space file", False),
        (["train", "--config", str(r / "binary.yaml")], "--config", False),
    ]


def test_every_bad_value_exits_cleanly(files: Path, monkeypatch) -> None:
    loaded: list[str] = []

    def no_data(*args, **kwargs):
        loaded.append("data")
        raise AssertionError("data was loaded before the bad value was reported")

    def no_table(path, *args, **kwargs):
        loaded.append(str(path))
        raise AssertionError(f"{path} was read before the bad value was reported")

    real_table = anyshot.data.manifest.read_table
    cases = _bad_values(files)
    assert len(cases) >= 30
    failures = []
    for args, expected, reads_data in cases:
        loaded.clear()
        monkeypatch.setattr(anyshot.experiment, "prepare_data", no_data)
        monkeypatch.setattr(anyshot.data.registry, "load_dataset", no_data)
        monkeypatch.setattr(anyshot.data.manifest, "read_table",
                            real_table if reads_data else no_table)
        result = runner.invoke(app, args)
        text = result.output
        ok = (result.exit_code == 2 and expected in text and "Traceback" not in text
              and not loaded and not isinstance(result.exception, AssertionError))
        if not ok:
            failures.append(f"{args}: exit {result.exit_code}, expected {expected!r}, "
                            f"got {text.strip()[-300:]!r} ({result.exception!r})")
    assert not failures, "\n".join(failures)


def test_predict_input_with_nan_names_the_file_and_row(files: Path) -> None:
    args = ["predict", "--features", str(files / "features.csv"), "--classes",
            str(files / "classes.csv"), "--input", str(files / "new_nan.csv"), "--out",
            str(files / "pred.csv"), "--method", "attribute-regression"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    # row 2 of the table (0-based) is line 4 of the file: header first, lines count from 1
    assert "--input" in result.output and "new_nan.csv" in result.output
    assert "first on line(s) 4 of the file" in result.output


def test_missing_features_file_does_not_mention_a_manifest(files: Path) -> None:
    result = runner.invoke(app, ["predict", "--features", "missing.csv", "--classes",
                                 str(files / "classes.csv"), "--input", str(files / "new.csv"),
                                 "--out", str(files / "pred.csv")])
    assert result.exit_code == 2
    assert "missing.csv" in result.output and "manifest" not in result.output


def _stub_training(monkeypatch) -> list:
    """Replace run_experiment: the checks after loading the data run, no model is trained."""
    calls: list = []

    def record(cfg, *args, **kwargs):
        calls.append(cfg)
        return []

    monkeypatch.setattr(anyshot.experiment, "run_experiment", record)
    return calls


def test_more_folds_than_the_seen_classes_allow_names_the_maximum(monkeypatch) -> None:
    calls = _stub_training(monkeypatch)
    # 15 seen classes, 3 held out per fold: C(15, 3) = 455 different validation problems
    result = runner.invoke(app, TRAIN + ["--set", "evaluation.validation.folds=456"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "allow at most 455 different validation problems" in result.output
    assert "set evaluation.validation.folds to at most 455" in result.output
    assert not calls
    ok = runner.invoke(app, TRAIN + ["--set", "evaluation.validation.folds=455"])
    assert ok.exit_code == 0, ok.output
    assert len(calls) == 1
    fixed = runner.invoke(app, TRAIN + ["--set", "evaluation.validation.folds=456", "--protocol",
                                        "fixed", "--set", "evaluation.calibration=false"])
    # (no validation folds are carved; calibration needs them)
    assert fixed.exit_code == 0, fixed.output


def test_a_batch_larger_than_the_training_set_warns(monkeypatch) -> None:
    calls = _stub_training(monkeypatch)
    result = runner.invoke(app, TRAIN + ["--set", "method.params.batch_size=5000"])
    assert result.exit_code == 0, result.output
    assert ("warning: method.params.batch_size 5000 is larger than the 2400 training samples"
            in result.output)
    assert len(calls) == 1
    quiet = runner.invoke(app, TRAIN + ["--set", "method.params.batch_size=2400"])
    assert quiet.exit_code == 0 and "warning" not in quiet.output


def _manifest(root: Path, name: str, counts: dict[str, int], unseen: list[str]) -> Path:
    rng = np.random.default_rng(0)
    classes = pd.DataFrame({"class": list(counts), "a0": np.arange(len(counts), dtype=float),
                            "a1": rng.random(len(counts))})
    classes.to_csv(root / f"{name}_classes.csv", index=False)
    labels = [c for c, n in counts.items() for _ in range(n)]
    feats = pd.DataFrame(rng.random((len(labels), 3)), columns=["f0", "f1", "f2"])
    feats["label"] = labels
    feats.to_csv(root / f"{name}_features.csv", index=False)
    path = root / f"{name}.yaml"
    path.write_text(f"features: {name}_features.csv\nattributes: {name}_classes.csv\n"
                    f"unseen: [{', '.join(unseen)}]\n")
    return path


@pytest.mark.parametrize("counts, unseen, verdict", [
    # the unseen class has rows, but one seen class cannot be split for validation
    ({"a": 20, "b": 0, "c": 20}, ["c"], "only one seen class ('a')"),
    # an unseen class without rows cannot be tested
    ({"a": 20, "b": 20, "c": 0, "d": 20}, ["c", "d"], "unseen classes ['c'] have no samples"),
], ids=["one-seen-class", "unseen-without-rows"])
def test_validate_and_train_give_a_manifest_the_same_verdict(counts, unseen, verdict,
                                                             tmp_path: Path, monkeypatch) -> None:
    path = _manifest(tmp_path, "m", counts, unseen)
    calls = _stub_training(monkeypatch)
    checked = runner.invoke(app, ["validate", str(path)])
    trained = runner.invoke(app, ["train", "--config", "factorised-gaussian/synthetic", "--set",
                                  f"data={{name: manifest, params: {{path: {path}}}}}"])
    assert checked.exit_code == 1 and trained.exit_code == 2
    assert verdict in checked.output and verdict in trained.output
    assert "Traceback" not in checked.output + trained.output and not calls
    fine = _manifest(tmp_path, "ok", {"a": 20, "b": 20, "c": 20}, ["c"])
    assert runner.invoke(app, ["validate", str(fine)]).exit_code == 0
    assert runner.invoke(app, ["train", "--config", "factorised-gaussian/synthetic", "--set",
                               f"data={{name: manifest, params: {{path: {fine}}}}}"]).exit_code == 0
    assert len(calls) == 1


def test_an_unreadable_manifest_is_a_problem_not_a_traceback(files: Path) -> None:
    result = runner.invoke(app, ["validate", str(files / "binary.yaml")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "is not valid YAML/JSON" in result.output


def _closed_pipe_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m anyshot.cli ARGS`` with its standard output a pipe nobody reads (the
    reader has gone, as after ``| head -1``)."""
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "PYTHONPATH": str(Path(anyshot.__file__).parents[1]),
           "OMP_NUM_THREADS": "1"}
    try:
        return subprocess.run([sys.executable, "-m", "anyshot.cli", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=cwd, env=env, timeout=300)
    finally:
        os.close(write)


def test_a_closed_output_pipe_is_reported_without_a_traceback(tmp_path: Path) -> None:
    listed = _closed_pipe_run(["presets"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "standard output was closed by its reader" in listed.stderr
    assert "Traceback" not in listed.stderr and "Exception ignored" not in listed.stderr
    # train finishes its run directory although nobody reads its table
    run = _closed_pipe_run(["train", "--config", "factorised-gaussian/synthetic", "--seeds", "0",
                            "--out", str(tmp_path / "run")], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "standard output was closed by its reader" in run.stderr
    assert "Traceback" not in run.stderr
    assert (tmp_path / "run" / "results.jsonl").is_file()
