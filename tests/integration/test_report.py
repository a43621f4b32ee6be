"""The HTML report of a run directory: every figure a valid PNG, graceful without a generator."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from anyshot.config import load_config
from anyshot.errors import AnyShotError, CheckpointError
from anyshot.experiment import run_experiment
from anyshot.report import class_match, report_command, write_report

TINY = {"method.params.epochs": 2, "evaluation.seeds": [0, 1], "evaluation.eval_every": 1,
        "device": "cpu", "method.params.hidden": 64, "method.params.critic_hidden": 64}


class _Page(HTMLParser):
    """Collects the text, the image sources and the link targets of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    page.close()
    page.text = " ".join(" ".join(page.text).split())  # type: ignore[assignment]
    return page


def _check_png(raw: bytes) -> tuple[int, int]:
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    Image.open(BytesIO(raw)).verify()
    width, height = Image.open(BytesIO(raw)).size
    assert width > 0 and height > 0
    return width, height


def _check_figures(index: Path, page: _Page) -> None:
    """Every embedded image and every linked PNG file is a valid, non-empty PNG."""
    for src in page.images:
        prefix = "data:image/png;base64,"
        if src.startswith(prefix):
            _check_png(base64.b64decode(src[len(prefix):], validate=True))
        else:
            _check_png((index.parent / src).read_bytes())
    for href in page.links:
        if href.endswith(".png"):
            _check_png((index.parent / href).read_bytes())


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("report") / "run"
    run_experiment(load_config("clswgan/synthetic", TINY), run_dir=run_dir)
    return run_dir


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("report") / "run"
    cfg = load_config("attribute-regression/synthetic",
                      {"evaluation.seeds": [0, 1], "device": "cpu"})
    run_experiment(cfg, run_dir=run_dir)
    return run_dir


def test_report_of_a_generative_run(gan_run: Path) -> None:
    index = write_report(gan_run)
    assert index == gan_run / "report" / "index.html"
    page = _parse(index)
    assert "clswgan" in page.text and "synthetic" in page.text and "wgan-gp" in page.text
    assert "honest" in page.text and "PEEKS AT TEST" not in page.text
    assert "seeds 0, 1" in page.text
    assert "+-" in page.text  # the results table: mean +- std
    # training curves, accuracy bars, confusion matrix, embedding: all embedded and on disk
    assert len(page.images) == 4 and all(s.startswith("data:image/png;base64,")
                                         for s in page.images)
    assert sorted(p.name for p in index.parent.glob("*.png")) == [
        "accuracy.png", "confusion_unseen.png", "embedding.png", "training_curves.png"]
    _check_figures(index, page)
    assert "Skipped" not in page.text
    # The embedding says what a good plot looks like and backs it with the per-class table.
    assert "A good plot:" in page.text and "real features, on which it is fitted" in page.text
    assert "ratio (good: < 1)" in page.text and "nearest own class" in page.text


def test_class_match_on_hand_made_points() -> None:
    import numpy as np

    # two classes with real means (0, 0) and (4, 0); class 0's synthetic points sit around
    # (1, 0) with twice the real spread, class 1's around (4, 3).
    real = np.array([[-1.0, 0], [1, 0], [3, 0], [5, 0]])
    y_real = np.array([0, 0, 1, 1])
    synth = np.array([[-1.0, 0], [3, 0], [4, 2], [4, 4]])
    y_synth = np.array([0, 0, 1, 1])
    m = class_match(real, y_real, synth, y_synth, np.array([0, 1]))
    assert np.allclose(m.offset, [1.0, 3.0]) and np.allclose(m.nearest, [4.0, 4.0])
    assert np.allclose(m.ratio, [0.25, 0.75]) and np.allclose(m.spread, [2.0, 1.0])
    # class 0: (-1, 0) is nearest mean 0, (3, 0) nearest mean 1; class 1: both nearest mean 1
    assert np.allclose(m.own_share, [0.5, 1.0])


def test_report_with_tsne_into_a_named_file(gan_run: Path, tmp_path: Path) -> None:
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: on a busy shared machine t-SNE's spinning threads are many times slower.
    with threadpool_limits(1, user_api="openmp"):
        index = write_report(gan_run, tmp_path / "tsne" / "report.html", max_points=200,
                             embedding="tsne")
    assert index == tmp_path / "tsne" / "report.html"
    page = _parse(index)
    assert "t-SNE" in page.text
    _check_figures(index, page)
    assert (tmp_path / "tsne" / "embedding.png").is_file()


def test_report_of_a_non_generative_run(regression_run: Path) -> None:
    index = report_command(regression_run)
    page = _parse(index)
    assert "attribute-regression" in page.text and "honest" in page.text
    assert "not generative" in page.text  # (d) skipped with a note
    assert "not trained in epochs" in page.text  # no training curves either
    assert "Confusion matrix on the unseen classes" in page.text  # (c) still drawn
    assert sorted(p.name for p in index.parent.glob("*.png")) == ["accuracy.png",
                                                                  "confusion_unseen.png"]
    assert len(page.images) == 2
    _check_figures(index, page)


def test_report_flags_runs_that_peek_at_test(regression_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "peek"
    shutil.copytree(regression_run, run_dir, ignore=shutil.ignore_patterns("report"))
    lines = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    for rec in lines:
        rec.update(protocol="test-selection", peeks_at_test=True)
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    page = _parse(write_report(run_dir))
    assert "test-selection PEEKS AT TEST" in page.text


def test_missing_run_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist.*anyshot train --config"):
        write_report(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnyShotError, match="results.jsonl.*anyshot train --config"):
        write_report(tmp_path / "empty")
