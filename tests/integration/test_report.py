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
    # The caption's count of classes that pass is the table's count of "good" verdicts.
    import re

    html = index.read_text(encoding="utf-8")
    verdicts = re.findall(r"<td class='l'>(good|fails: [^<]*)</td></tr>", html)
    good = verdicts.count("good")
    said = re.search(r"(all (\d+)|(\d+) of (\d+)) classes pass both tests", page.text)
    assert said is not None and len(verdicts) == 5
    assert good == int(said.group(2) or said.group(3))
    for failed in (v for v in verdicts if v != "good"):
        assert failed[len("fails: "):] in page.text.split("failing:")[1]


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


def test_caption_and_table_name_the_test_each_class_fails() -> None:
    import re

    import numpy as np

    from anyshot.report.feature_match import ClassMatch
    from anyshot.report.page import match_summary, match_table

    # a passes both tests; b's synthetic mean is too far (ratio 1.2); c's is near but most of
    # its synthetic points are nearest another class (40%)
    m = ClassMatch(offset=np.array([0.5, 1.2, 0.5]), nearest=np.ones(3),
                   ratio=np.array([0.5, 1.2, 0.5]), spread=np.ones(3),
                   own_share=np.array([0.9, 0.8, 0.4]))
    summary = match_summary(m, ["a", "b", "c"])
    assert summary.startswith("1 of 3 classes pass both tests")
    assert "b (ratio 1.20, not below 1)" in summary
    assert "c (40% of its synthetic points nearest its own class, under half)" in summary
    assert "a (" not in summary
    rows = re.findall(r"<tr><td class='l'>(\w)</td>(.*?)</tr>", match_table(m, ["a", "b", "c"]))
    cells = {name: re.findall(r"<td[^>]*>(.*?)</td>", rest) for name, rest in rows}
    # columns: offset, nearest, ratio, spread, own share, verdict; bold = the failed test only
    assert cells["a"][2] == "0.50" and cells["a"][4] == "90%" and cells["a"][5] == "good"
    assert cells["b"][2] == "<b>1.20</b>" and cells["b"][4] == "80%"
    assert cells["c"][2] == "0.50" and cells["c"][4] == "<b>40%</b>"
    assert cells["b"][5] == "fails: ratio 1.20, not below 1"
    assert cells["c"][5].startswith("fails: 40% of its synthetic points")
    assert match_summary(m, ["a", "b", "c"]).count("fails") == 0  # the caption lists, not rows
    everyone = ClassMatch(m.offset, m.nearest, np.full(3, 0.5), m.spread, np.full(3, 0.9))
    assert match_summary(everyone, ["a", "b", "c"]).startswith("all 3 classes pass both tests")


def test_confusion_colour_bar_is_in_the_cells_units() -> None:
    import numpy as np

    from anyshot.report.figures import confusion_figure

    cm = np.array([[3, 1], [0, 4]])
    fig = confusion_figure(cm, ["x", "y"], "t")
    ax, bar = fig.axes
    assert bar.get_ylabel() == "% of the true class's test samples"
    assert ax.images[0].get_clim() == (0.0, 100.0)
    assert sorted(t.get_text() for t in ax.texts) == ["100", "25", "75"]  # row percentages


def test_every_logged_training_value_has_a_name_in_words() -> None:
    import re

    import anyshot
    from anyshot.report.figures import CURVE_NAMES, curve_name, training_curves

    # every key a loss term or the trainer logs: the keys of dict literals of detached
    # tensors ({"wasserstein": (d_real - d_fake).detach()}) and logs["key"] = ...
    src = Path(anyshot.__file__).parent
    logged = set()
    for path in [*src.glob("objectives/*.py"), *src.glob("methods/*.py"),
                 *src.glob("training/*.py")]:
        text = path.read_text()
        logged |= set(re.findall(r"logs\[\"(\w+)\"\] =", text))
        for body in re.findall(r"\{([^{}]*)\}", text):
            if ".detach()" in body:
                logged |= set(re.findall(r"\"(\w+)\":", body))
    assert {"wasserstein", "sbc1", "ubc1", "gram_alignment", "ib_kl"} <= logged
    assert not logged - set(CURVE_NAMES), sorted(logged - set(CURVE_NAMES))
    title, ylabel = curve_name("wasserstein", "wgan-gp")
    assert "> 0" in title and ylabel == "E[D(real)] \u2212 E[D(fake)]"  # the sign, stated
    assert curve_name("penalty", "wgan-gp")[0] == "Gradient penalty"
    assert curve_name("penalty", "ebgan")[0].startswith("Margin hinge")  # not a gradient
    fig = training_curves({0: [{"epoch": 1, "sbc1": 2.0, "wasserstein": 0.1},
                               {"epoch": 2, "sbc1": 1.5, "wasserstein": 0.2}]}, "wgan-gp")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == [curve_name("wasserstein")[0], "Seen compatibility cross-entropy, head 1"]


def test_bar_labels_are_not_covered_by_the_legend() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from anyshot.evaluation.results import RunResult
    from anyshot.report.figures import accuracy_bars

    records = [RunResult("d", "m", None, "honest", False, seed,
                         {"zsl": z, "gzsl_u": 0.5, "gzsl_s": 0.99, "gzsl_h": 0.66})
               for seed, z in enumerate((0.99, 0.95))]  # a tall first bar, where legends sit
    fig = accuracy_bars(records, "t")
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    legends = fig.legends + [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    assert legends
    labels = [t for t in fig.axes[0].texts if "\u00b1" in t.get_text()]
    assert len(labels) == 4
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(t.get_window_extent(renderer)) for t in labels)
