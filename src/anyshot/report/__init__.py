"""An HTML report of a run directory: training curves, test accuracies, a confusion matrix on the
unseen classes and a 2-D embedding of real vs synthetic features.

    write_report(run_dir)  ->  run_dir/report/index.html  (+ one PNG per figure beside it)

The page is self-contained (figures embedded as base64 PNG) so it can be mailed or attached to
a pull request; the PNG files beside it are the same figures, for papers and slides.

Everything is read from what ``anyshot train --out DIR`` wrote (``config.yaml``,
``results.jsonl``, ``seed_<s>/history.jsonl``, ``seed_<s>/<task>/model.*``); the data set is
reloaded from the config. Figures are drawn on :class:`matplotlib.figure.Figure` objects with the
Agg renderer, never through pyplot, so no display is needed and no global backend is changed.

Where the parts live, top down:

    writer.py          write_report, report_command
    page.py            the HTML page and its sections
    model_sections.py  confusion matrix and embedding, from the run's saved model
    figures.py         the matplotlib figures and the 2-D embedding
    feature_match.py   ClassMatch: synthetic vs real features, class by class
    run_files.py       reading the run directory
"""

from __future__ import annotations

from anyshot.report.feature_match import ClassMatch, class_match
from anyshot.report.writer import EMBEDDINGS, report_command, write_report

__all__ = ["EMBEDDINGS", "ClassMatch", "class_match", "write_report", "report_command"]
