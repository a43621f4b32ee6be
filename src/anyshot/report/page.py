"""The self-contained HTML page: header, results tables, one section per figure (embedded as
base64 PNG), the config."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

from anyshot.evaluation.results import RunResult, format_mean_std, summarize
from anyshot.report.feature_match import ClassMatch
from anyshot.report.run_files import RunFiles
from anyshot.reporting import HEADERS, METRIC_ORDER


@dataclass
class Section:
    """One section of the report: a figure (PNG bytes) or the reason it is missing."""

    title: str
    filename: str
    png: bytes | None = None
    caption: str = ""
    note: str = ""
    table: str = ""  # HTML shown under the figure


_CSS = (
    "\n"
    "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;"
    "margin:2em auto;\n"
    "padding:0 1em;color:#222;line-height:1.45}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;"
    "border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.3em .7em;"
    "text-align:right}\n"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}dl{display:grid;"
    "grid-template-columns:max-content auto;\n"
    "gap:.2em 1em}dt{font-weight:600}dd{margin:0}.peek{background:#c0392b;color:#fff;"
    "padding:.1em .5em;\n"
    "border-radius:3px;font-weight:700}.note{background:#fff8e1;border-left:4px solid #f0b400;"
    "padding:.5em .8em}\n"
    "img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#555;font-size:.92em}\n"
    "pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}\n"
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def match_table(match: ClassMatch, names: list[str]) -> str:
    """One row per class; a failed test shows in bold in its own column and in words in the
    verdict column (the same words as the caption, :meth:`ClassMatch.failures`)."""

    def bold(text: str, failed: bool) -> str:
        return f"<b>{text}</b>" if failed else text

    rows = []
    for i, (name, failed) in enumerate(zip(names, match.failures())):
        verdict = f"fails: {_e(failed)}" if failed else "good"
        rows.append(
            f"<tr><td class='l'>{_e(name)}</td><td>{match.offset[i]:.3g}</td>"
            f"<td>{match.nearest[i]:.3g}</td>"
            f"<td>{bold(f'{match.ratio[i]:.2f}', not match.ratio_ok[i])}</td>"
            f"<td>{match.spread[i]:.2f}</td>"
            f"<td>{bold(f'{match.own_share[i] * 100:.0f}%', not match.share_ok[i])}</td>"
            f"<td class='l'>{verdict}</td></tr>")
    return ("<table><tr><th class='l'>unseen class</th><th>real-synthetic mean distance</th>"
            "<th>to nearest other class mean</th><th>ratio (good: &lt; 1)</th>"
            "<th>synthetic / real spread</th><th>synthetic points nearest own class "
            "(good: &ge; 50%)</th><th class='l'>verdict</th></tr>" + "".join(rows) + "</table>")


def match_summary(match: ClassMatch, names: list[str]) -> str:
    """The caption's sentence on the table: how many classes pass both tests, and for each
    class that does not, which test it fails."""
    from anyshot.report.feature_match import MATCH_TESTS

    k = len(names)
    good = int(match.good.sum())
    head = (f"{'all ' + str(k) if good == k else f'{good} of {k}'} classes pass both tests "
            f"({MATCH_TESTS[0]}; {MATCH_TESTS[1]})")
    failing = [f"{name} ({why})" for name, why in zip(names, match.failures()) if why]
    return head + ("; failing: " + ", ".join(failing) if failing else "")


def _results_tables(records: list[RunResult]) -> str:
    summary = summarize(records)
    metrics = [m for m in METRIC_ORDER if m in summary]
    head = "".join(f"<th>{_e(HEADERS[m])}</th>" for m in metrics)
    cells = "".join(f"<td>{_e(format_mean_std(*summary[m][:2]))}</td>" for m in metrics)
    out = [f"<table><tr><th class='l'>test accuracy (%)</th>{head}</tr>"
           f"<tr><td class='l'>mean +- std over {len(records)} seed(s)</td>{cells}</tr></table>"]
    rows = []
    for r in records:
        vals = "".join(f"<td>{r.metrics[m] * 100:.1f}</td>" if m in r.metrics else "<td></td>"
                       for m in metrics)
        epochs = ", ".join(f"{k}@{v}" for k, v in r.selected_epochs.items()) or "-"
        val = ", ".join(f"{k}={v}" if isinstance(v, str) else f"{k}={v * 100:.1f}"
                        for k, v in r.validation.items()) or "-"
        rows.append(f"<tr><td class='l'>{_e(r.seed)}</td>{vals}<td class='l'>{_e(epochs)}</td>"
                    f"<td class='l'>{_e(val)}</td><td>{r.seconds:.1f}</td></tr>")
    out.append(f"<table><tr><th class='l'>seed</th>{head}<th class='l'>selected epochs</th>"
               f"<th class='l'>validation (%)</th><th>seconds</th></tr>{''.join(rows)}</table>")
    return "\n".join(out)


def html_page(run: RunFiles, sections: list[Section]) -> str:
    from anyshot import __version__

    recs = run.records

    def joined(values) -> str:
        return ", ".join(dict.fromkeys(str(v) for v in values))

    peeks = any(r.peeks_at_test for r in recs)
    protocol = _e(joined(r.protocol for r in recs))
    if peeks:
        protocol += " <span class='peek'>PEEKS AT TEST</span>"
    dataset, method = joined(r.dataset for r in recs), joined(r.method for r in recs)
    header = [
        ("dataset", _e(dataset)), ("method", _e(method)),
        ("objective", _e(joined(r.objective or "-" for r in recs))), ("protocol", protocol),
        ("seeds", _e(", ".join(str(r.seed) for r in recs))),
        ("git revision", _e(joined(r.git_revision for r in recs))),
        ("run directory", _e(run.run_dir)),
    ]
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>anyshot report: {_e(method)} on {_e(dataset)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>anyshot report: {_e(method)} on {_e(dataset)}</h1>",
        "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in header) + "</dl>",
    ]
    if peeks:
        parts.append("<p class='note'><strong>This run PEEKS AT TEST:</strong> its epochs were "
                     "chosen on the test sets, so the numbers below are optimistic and not "
                     "comparable to honest results.</p>")
    parts += ["<h2>Results</h2>", _results_tables(recs)]
    for sec in sections:
        parts.append(f"<section><h2>{_e(sec.title)}</h2>")
        if sec.png is None:
            parts.append(f"<p class='note'>{_e(sec.note)}</p></section>")
            continue
        data = base64.b64encode(sec.png).decode("ascii")
        parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{_e(sec.title)}'>"
                     f"<figcaption>{_e(sec.caption)} "
                     f"(<a href='{_e(sec.filename)}'>{_e(sec.filename)}</a>)</figcaption></figure>"
                     f"{sec.table}</section>")
    parts += ["<h2>Config</h2>", "<details><summary>config.yaml</summary>",
              f"<pre>{_e(run.config_text)}</pre></details>",
              f"<p><small>written by anyshot {_e(__version__)}</small></p>", "</body></html>"]
    return "\n".join(parts) + "\n"
