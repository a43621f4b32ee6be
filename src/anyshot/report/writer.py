"""``write_report``, the public entry point, and the body of ``anyshot report``."""

from __future__ import annotations

from pathlib import Path

from anyshot.errors import ConfigError, check_choice
from anyshot.io import atomic_write_bytes, atomic_write_text
from anyshot.report.figures import accuracy_bars, png_bytes, training_curves
from anyshot.report.model_sections import model_sections
from anyshot.report.page import Section, html_page
from anyshot.report.run_files import read_run

EMBEDDINGS = ("pca", "tsne")

#: Figure files a report may write; ones not produced this time are removed so that a report
#: never shows (or leaves beside it) a figure from an earlier run of the report.
FIGURES = ("training_curves.png", "accuracy.png", "confusion_unseen.png", "embedding.png")


def write_report(run_dir: Path, out: Path | None = None, *, max_points: int = 2000,
                 embedding: str = "pca", device: str = "cpu") -> Path:
    """Write an HTML report of a run directory and its figures; returns the HTML file's path.

    Args:
        run_dir: a directory written by ``anyshot train --out DIR`` (or
            ``run_experiment(..., run_dir=DIR)``).
        out: the report folder (default ``run_dir/report``), or an ``.html`` file path whose
            folder then receives the PNG files.
        max_points: at most this many points in the real-vs-synthetic embedding (half real test
            samples, half synthetic features).
        embedding: ``"pca"`` (default, fast, linear) or ``"tsne"``.
        device: where the saved model is reloaded for the confusion matrix and the embedding.

    Sections: training curves per seed (from ``history.jsonl``), test accuracy bars (mean +- std
    over seeds), the ZSL confusion matrix on the unseen classes and the real/synthetic embedding
    for the first seed. Sections that cannot be drawn (a non-generative method has no synthetic
    features; a non-iterative one has no training curves) are replaced by a note saying why.

    Raises:
        CheckpointError: the run directory, its ``results.jsonl`` or ``config.yaml`` is missing
            or unreadable (the message says how to create or finish the run).
        ConfigError: ``embedding`` or ``max_points`` is invalid.
    """
    check_choice("embedding", embedding, EMBEDDINGS)
    if not isinstance(max_points, int) or max_points < 10:
        raise ConfigError(f"max_points must be an integer >= 10, got {max_points!r}.")
    run_dir = Path(run_dir)
    run = read_run(run_dir)
    if out is None:
        folder, index = run_dir / "report", run_dir / "report" / "index.html"
    else:
        out = Path(out)
        folder, index = (out.parent, out) if out.suffix.lower() in (".html", ".htm") \
            else (out, out / "index.html")

    rec = run.records[0]
    curves = Section("Training curves", "training_curves.png")
    fig = training_curves(run.histories, rec.objective)
    if fig is None:
        curves.note = (f"No training history: method {rec.method!r} is not trained in epochs."
                       if not any(run.histories.values()) and rec.objective is None
                       else "No training history was recorded (seed_<s>/history.jsonl is missing "
                            "or empty).")
    else:
        curves.png = png_bytes(fig)
        curves.caption = ("Per-epoch means of the logged losses for each seed, from "
                          "seed_<s>/history.jsonl; each panel's title names the value and its "
                          "y-axis label its formula or sign. D is the critic, M SRWGAN's mapping, "
                          "S_k its compatibility heads, E an energy critic's energy. They belong "
                          "to the model that was tested (with the honest protocol: the final "
                          "training on the full training split, up to the last selected epoch).")
    label = rec.protocol_label if len({r.protocol_label for r in run.records}) == 1 else "mixed"
    acc = Section("Test accuracy", "accuracy.png", png=png_bytes(accuracy_bars(
        run.records, f"Test accuracy of {rec.method} on {rec.dataset}\n"
                     f"protocol {label}, {len(run.records)} seed(s)")))
    acc.caption = ("Bars: mean over seeds; error bars: sample standard deviation; dots: single "
                   "seeds. U / S: accuracy on unseen / seen test classes among all classes; H: "
                   "their harmonic mean.")
    sections = [curves, acc, *model_sections(run, embedding, max_points, device)]

    for sec in sections:
        path = folder / sec.filename
        if sec.png is not None:
            atomic_write_bytes(path, sec.png)
        elif path.is_file():
            path.unlink()
    atomic_write_text(index, html_page(run, sections))
    return index


def report_command(run_dir: Path, embedding: str = "pca") -> Path:
    """Body of ``anyshot report RUN_DIR``: write the report and print where it is."""
    from anyshot.reporting import console

    index = write_report(Path(run_dir), embedding=embedding)
    console.print(f"report: {index}", highlight=False, soft_wrap=True)
    try:
        console.print(f"open it in a browser: {index.resolve().as_uri()}", highlight=False,
                      soft_wrap=True)
    except ValueError:  # pragma: no cover - relative path that cannot be resolved
        pass
    return index
