"""The command line end to end: demo, train -> run directory -> evaluate, errors."""

import json

from typer.testing import CliRunner

from anyshot.cli import app
from anyshot.data import make_synthetic

runner = CliRunner()


def test_demo_prints_zsl_and_gzsl_well_above_chance():
    result = runner.invoke(app, ["demo", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    lines = [l for l in result.output.splitlines() if l.startswith("synthetic clswgan")]
    assert len(lines) == 1 and "protocol=honest" in lines[0]
    fields = dict(f.split("=", 1) for f in lines[0].split() if "=" in f)
    assert float(fields["zsl"]) > 50.0  # chance is 20%
    assert float(fields["gzsl_h"]) > 20.0
    assert "GZSL H" in result.output


def test_train_writes_a_run_directory_that_evaluate_reproduces(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--config", "clswgan/synthetic", "--seeds", "0", "--device", "cpu",
            "--set", "method.params.epochs=4", "--set", "evaluation.eval_every=2",
            "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    stored = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines()]
    assert len(stored) == 1 and stored[0]["protocol"] == "honest"
    assert (out / "seed_0" / "zsl" / "model.safetensors").is_file()
    assert (out / "config.yaml").is_file()
    again = runner.invoke(app, ["evaluate", str(out)])
    assert again.exit_code == 0, again.output
    line = next(l for l in again.output.splitlines() if l.startswith("synthetic clswgan"))
    for key, value in stored[0]["metrics"].items():
        assert f"{key}={value * 100:.1f}" in line


def test_bad_config_key_is_reported_without_traceback(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: {name: synthetic}\nmethod: {name: clswgan, params: {epoks: 3}}\n")
    result = runner.invoke(app, ["train", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "unknown key(s) 'epoks'" in result.output
    assert "Traceback" not in result.output


def test_missing_tep_files_are_reported(tmp_path):
    result = runner.invoke(app, ["train", "--config", "dap/tep", "--set",
                                 f"data.params.root={tmp_path}"])
    assert result.exit_code == 2
    assert "error:" in result.output and str(tmp_path) in result.output


def test_evaluate_missing_run_dir(tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_help_rows_show_no_bool_type_and_train_shows_defaults():
    for args in (["--help"], ["train", "--help"], ["predict", "--help"]):
        result = runner.invoke(app, args, terminal_width=200)
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output
    text = runner.invoke(app, ["train", "--help"], terminal_width=200).output
    assert "default: (from the config)" in text and "default: (automatic)" in text
    assert "--threads" in text


def test_help_paragraphs_wrap_to_the_terminal_and_keep_placeholders():
    """A docstring's paragraph is one paragraph in --help, not cut where the source line ends,
    and the placeholders of option help (NAME, TASK, OUT) survive the markup."""
    wide = {"COLUMNS": "200"}
    text = runner.invoke(app, ["predict", "--help"], env=wide).output
    assert "one probability column per class)" in text
    assert "method.params.NAME" in text and "seed_S/zsl|gzsl" in text
    sweep = runner.invoke(app, ["sweep", "--help"], env=wide).output
    assert "sqlite:///OUT/sweep.db" in sweep


def test_ctrl_c_during_train_prints_the_resume_command(tmp_path, monkeypatch):
    import anyshot.experiment

    out = tmp_path / "run"

    def interrupted(config, progress=None, data=None, run_dir=None, resume=False):
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text("{}\n")  # as run_experiment writes it first
        raise KeyboardInterrupt

    monkeypatch.setattr(anyshot.experiment, "prepare_data", lambda cfg: make_synthetic())
    monkeypatch.setattr(anyshot.experiment, "run_experiment", interrupted)
    result = runner.invoke(app, ["train", "--config", "attribute-regression/synthetic",
                                 "--out", str(out)])
    assert result.exit_code == 130
    assert f"anyshot train --resume {out}" in result.output
    assert "Traceback" not in result.output
    # without --out there is nothing to resume, and the message says how to make it resumable
    result = runner.invoke(app, ["train", "--config", "attribute-regression/synthetic"])
    assert result.exit_code == 130 and "give --out DIR" in result.output


def test_validate_calls_a_zero_shot_split_zero_shot(tmp_path):
    assert runner.invoke(app, ["example-data", str(tmp_path / "d")]).exit_code == 0
    result = runner.invoke(app, ["validate", str(tmp_path / "d" / "manifest.yaml")])
    assert result.exit_code == 0, result.output
    assert "zero-shot" in result.output and "~0" not in result.output


def test_threads_option_sets_torch_threads_for_the_command_and_restores_them(monkeypatch):
    import torch

    import anyshot.experiment

    seen = []
    monkeypatch.setattr(anyshot.experiment, "prepare_data", lambda cfg: make_synthetic())
    monkeypatch.setattr(anyshot.experiment, "run_experiment",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or [])
    before = torch.get_num_threads()
    for threads in ("2", "1"):
        result = runner.invoke(app, ["train", "--config", "attribute-regression/synthetic",
                                     "--threads", threads])
        assert result.exit_code == 0, result.output
    assert seen == [2, 1] and torch.get_num_threads() == before
