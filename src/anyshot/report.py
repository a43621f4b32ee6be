"""An HTML report of a run directory: training curves, test accuracies, a confusion matrix on the
unseen classes and a 2-D embedding of real vs synthetic features.

    write_report(run_dir)  ->  run_dir/report/index.html  (+ one PNG per figure beside it)

The page is self-contained (figures embedded as base64 PNG) so it can be mailed or attached to
a pull request; the PNG files beside it are the same figures, for papers and slides.

Everything is read from what ``anyshot train --out DIR`` wrote (``config.yaml``,
``results.jsonl``, ``seed_<s>/history.jsonl``, ``seed_<s>/<task>/model.*``); the data set is
reloaded from the config. Figures are drawn on :class:`matplotlib.figure.Figure` objects with the
Agg renderer, never through pyplot, so no display is needed and no global backend is changed.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from anyshot.config import ExperimentConfig, load_config
from anyshot.errors import AnyShotError, CheckpointError, ConfigError
from anyshot.evaluation.results import RunResult, format_mean_std, summarize
from anyshot.io import atomic_write_bytes, atomic_write_text

__all__ = ["EMBEDDINGS", "ClassMatch", "class_match", "write_report", "report_command"]

EMBEDDINGS = ("pca", "tsne")

#: Figure files a report may write; ones not produced this time are removed so that a report
#: never shows (or leaves beside it) a figure from an earlier run of the report.
FIGURES = ("training_curves.png", "accuracy.png", "confusion_unseen.png", "embedding.png")

_METRIC_ORDER = ["zsl", "fsl", "gzsl_u", "gzsl_s", "gzsl_h", "gfsl_u", "gfsl_s", "gfsl_h"]
_METRIC_LABELS = {"zsl": "ZSL", "fsl": "FSL", "gzsl_u": "GZSL U", "gzsl_s": "GZSL S",
                  "gzsl_h": "GZSL H", "gfsl_u": "GFSL U", "gfsl_s": "GFSL S", "gfsl_h": "GFSL H"}
# Losses named in the issue come first, in this order; any other logged value follows.
_CURVE_ORDER = ["critic_loss", "generator_loss", "wasserstein", "penalty", "cls_loss"]
_CURVE_TITLES = {"critic_loss": "Critic loss", "generator_loss": "Generator loss",
                 "wasserstein": "Wasserstein estimate", "penalty": "Gradient penalty",
                 "cls_loss": "Classification loss", "generator_adv": "Generator adversarial loss"}
_DPI = 110


@dataclass
class _Run:
    """What a run directory holds, read once."""

    run_dir: Path
    config: ExperimentConfig
    config_text: str
    records: list[RunResult]
    histories: dict[int, list[dict[str, float]]]


@dataclass
class _Figure:
    """One section of the report: a figure (PNG bytes) or the reason it is missing."""

    title: str
    filename: str
    png: bytes | None = None
    caption: str = ""
    note: str = ""
    table: str = ""  # HTML shown under the figure


# ---------------------------------------------------------------------------------- reading
def _read_run(run_dir: Path) -> _Run:
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
    return _Run(run_dir, load_config(config_file), config_file.read_text(), records, histories)


# ---------------------------------------------------------------------------------- figures
def _png(fig: Figure) -> bytes:
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def _class_colors(k: int) -> np.ndarray:
    """k distinguishable RGBA colours (tab10 / tab20, evenly spaced hues beyond 20)."""
    from matplotlib import colormaps

    if k <= 10:
        return colormaps["tab10"](np.arange(k))
    if k <= 20:
        return colormaps["tab20"](np.arange(k))
    return colormaps["turbo"](np.linspace(0.05, 0.95, k))


def _short(name: str, width: int = 22) -> str:
    return name if len(name) <= width else name[: width - 1] + "\u2026"


def _training_curves(histories: dict[int, list[dict[str, float]]]) -> Figure | None:
    """One panel per logged quantity, one line per seed; ``None`` when nothing was logged."""
    keys: list[str] = []
    for hist in histories.values():
        for row in hist:
            keys += [k for k, v in row.items()
                     if k != "epoch" and k not in keys and isinstance(v, (int, float))]
    if not keys:
        return None
    keys = [k for k in _CURVE_ORDER if k in keys] + [k for k in keys if k not in _CURVE_ORDER]
    ncols = 2 if len(keys) <= 4 else 3
    nrows = -(-len(keys) // ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colors = _class_colors(len(histories))
    for ax, key in zip(axes, keys):
        for color, (seed, hist) in zip(colors, sorted(histories.items())):
            rows = [r for r in hist if key in r]
            if not rows:
                continue
            ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], "o-", ms=3, lw=1.5,
                    color=color, label=f"seed {seed}")
        ax.set_title(_CURVE_TITLES.get(key, key.replace("_", " ").capitalize()))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    fig.suptitle("Training curves (mean over the steps of each epoch)")
    return fig


def _accuracy_bars(records: list[RunResult], title: str) -> Figure:
    """Bars: mean test accuracy per metric (ZSL, then GZSL U / S / H), error bars: std over
    seeds, dots: the individual seeds."""
    summary = summarize(records)
    metrics = [m for m in _METRIC_ORDER if m in summary]
    means = np.array([summary[m][0] for m in metrics]) * 100
    stds = np.array([summary[m][1] for m in metrics]) * 100
    fig = Figure(figsize=(max(4.5, 1.3 * len(metrics) + 2.0), 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(metrics))
    colors = ["#4c72b0" if m in ("zsl", "fsl") else {"u": "#dd8452", "s": "#55a868",
                                                     "h": "#c44e52"}[m[-1]] for m in metrics]
    ax.bar(x, means, yerr=stds, capsize=5, color=colors, alpha=0.85, width=0.6,
           error_kw={"elinewidth": 1.2})
    for i, m in enumerate(metrics):
        vals = np.array([r.metrics[m] for r in records if m in r.metrics]) * 100
        offsets = np.linspace(-0.15, 0.15, vals.size) if vals.size > 1 else np.zeros(1)
        ax.plot(x[i] + offsets, vals, "o", color="black", ms=3.5, alpha=0.7,
                label="single seeds" if i == 0 else None)
        ax.text(x[i], min(means[i] + stds[i] + 2.0, 101.0), f"{means[i]:.1f}\u00b1{stds[i]:.1f}",
                ha="center", va="bottom", fontsize="small")
    ax.set_xticks(x, [_METRIC_LABELS.get(m, m) for m in metrics])
    ax.set_ylim(0, 108)
    ax.set_ylabel("per-class mean top-1 accuracy (%)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(title, fontsize="medium")
    return fig


def _confusion_figure(cm: np.ndarray, names: list[str], title: str) -> Figure:
    """Row-normalised confusion matrix (row = true class; the diagonal is per-class recall)."""
    k = cm.shape[0]
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm, dtype=np.float64), where=rows > 0)
    side = float(np.clip(0.42 * k + 2.5, 4.5, 18.0))
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class's test samples")
    if k <= 60:
        fs = "small" if k <= 20 else "x-small"
        labels = [_short(n) for n in names]
        ax.set_xticks(np.arange(k), labels, rotation=45, ha="right", rotation_mode="anchor",
                      fontsize=fs)
        ax.set_yticks(np.arange(k), labels, fontsize=fs)
    if k <= 25:
        for (i, j), v in np.ndenumerate(frac):
            if round(v * 100) >= 1:
                ax.text(j, i, f"{v * 100:.0f}", ha="center", va="center", fontsize="x-small",
                        color="white" if v > 0.5 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize="medium")
    return fig


def _embedding_figure(Z: np.ndarray, y: np.ndarray, is_synth: np.ndarray, classes: np.ndarray,
                      names: list[str], title: str, axis: str) -> Figure:
    """Real points as dots, synthetic ones as crosses, one colour per class."""
    k = classes.size
    colors = _class_colors(k)
    fig = Figure(figsize=(8.6 if k <= 20 else 10.5, 6.2), layout="constrained")
    ax = fig.add_subplot()
    idx = np.searchsorted(classes, y)
    real, syn = ~is_synth, is_synth
    ax.scatter(Z[real, 0], Z[real, 1], c=colors[idx[real]], marker="o", s=14, alpha=0.55,
               linewidths=0)
    ax.scatter(Z[syn, 0], Z[syn, 1], c=colors[idx[syn]], marker="x", s=22, alpha=0.8,
               linewidths=1.0)
    class_handles = [Line2D([], [], ls="", marker="s", ms=8, color=colors[i],
                            label=_short(names[i]))
                     for i in range(k)]
    kind_handles = [Line2D([], [], ls="", marker="o", color="0.3", label="real (test)"),
                    Line2D([], [], ls="", marker="x", color="0.3", mew=1.5, label="synthetic")]
    first = ax.legend(handles=class_handles, title="unseen class", loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), fontsize="small", ncols=1 if k <= 25 else 2)
    ax.add_artist(first)
    ax.legend(handles=kind_handles, loc="lower left", bbox_to_anchor=(1.01, 0.0),
              fontsize="small")
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.2)
    return fig


@dataclass
class ClassMatch:
    """How well the synthetic features of each class match its real ones, in the space the
    final classifier sees (arrays of length k, one entry per class).

    Attributes:
        offset: distance between the real and the synthetic class mean.
        nearest: distance from the real class mean to the nearest other class's real mean.
        ratio: ``offset / nearest``; below 1 the synthetic centre is nearer its own class than
            the nearest other class is.
        spread: RMS distance of synthetic points to their mean over that of the real points.
        own_share: share of synthetic points whose nearest real class mean is their own class's.
    """

    offset: np.ndarray
    nearest: np.ndarray
    ratio: np.ndarray
    spread: np.ndarray
    own_share: np.ndarray


def class_match(real: np.ndarray, y_real: np.ndarray, synth: np.ndarray, y_synth: np.ndarray,
                classes: np.ndarray) -> ClassMatch:
    """Per-class agreement of synthetic (n_s, d) and real (n_r, d) features, vectorised.

    Every class of ``classes`` needs at least one real and one synthetic point.
    """
    classes = np.asarray(classes)
    k = classes.size
    ir, is_ = np.searchsorted(classes, y_real), np.searchsorted(classes, y_synth)
    nr, ns = np.bincount(ir, minlength=k), np.bincount(is_, minlength=k)
    mu_r = np.zeros((k, real.shape[1]))
    mu_s = np.zeros((k, real.shape[1]))
    np.add.at(mu_r, ir, real)
    np.add.at(mu_s, is_, synth)
    mu_r /= nr[:, None]
    mu_s /= ns[:, None]
    offset = np.linalg.norm(mu_s - mu_r, axis=1)
    between = np.linalg.norm(mu_r[:, None, :] - mu_r[None, :, :], axis=2)
    np.fill_diagonal(between, np.inf)
    nearest = between.min(axis=1) if k > 1 else np.full(k, np.inf)
    rms_r = np.sqrt(np.bincount(ir, ((real - mu_r[ir]) ** 2).sum(1), minlength=k) / nr)
    rms_s = np.sqrt(np.bincount(is_, ((synth - mu_s[is_]) ** 2).sum(1), minlength=k) / ns)
    to_means = ((synth[:, None, :] - mu_r[None, :, :]) ** 2).sum(2)
    own = np.bincount(is_, (to_means.argmin(1) == is_).astype(np.float64), minlength=k) / ns
    return ClassMatch(offset, nearest, offset / nearest,
                      np.divide(rms_s, rms_r, out=np.full(k, np.inf), where=rms_r > 0), own)


def _match_table(match: ClassMatch, names: list[str]) -> str:
    rows = []
    for i, name in enumerate(names):
        good = match.ratio[i] < 1 and match.own_share[i] >= 0.5
        rows.append(
            f"<tr><td class='l'>{_e(name)}</td><td>{match.offset[i]:.3g}</td>"
            f"<td>{match.nearest[i]:.3g}</td><td>{'<b>' if not good else ''}{match.ratio[i]:.2f}"
            f"{'</b>' if not good else ''}</td><td>{match.spread[i]:.2f}</td>"
            f"<td>{match.own_share[i] * 100:.0f}%</td></tr>")
    return ("<table><tr><th class='l'>unseen class</th><th>real-synthetic mean distance</th>"
            "<th>to nearest other class mean</th><th>ratio (good: &lt; 1)</th>"
            "<th>synthetic / real spread</th><th>synthetic points nearest own class "
            "(good: high)</th></tr>" + "".join(rows) + "</table>")


def _embed_2d(X: np.ndarray, embedding: str, seed: int, fit_rows: np.ndarray | None = None
              ) -> tuple[np.ndarray, str, str, str]:
    """(n, d) -> (n, 2) with PCA or t-SNE; returns the points, the method's display name, the
    axis name and a note for the caption. PCA is fitted on ``X[fit_rows]`` (default: all rows)
    and applied to every row."""
    if embedding == "pca":
        from sklearn.decomposition import PCA

        fit = X if fit_rows is None else X[fit_rows]
        pca = PCA(n_components=2, random_state=seed).fit(fit)
        share = float(pca.explained_variance_ratio_.sum()) * 100
        on = "" if fit_rows is None else " of the real features, on which it is fitted"
        return pca.transform(X), "PCA", "PC", f"PCA explains {share:.0f}% of the variance{on}"
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (X.shape[0] - 1) / 3)))
    Z = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
             random_state=seed).fit_transform(X)
    return Z, "t-SNE", "t-SNE", f"t-SNE with perplexity {perplexity:.0f} " \
                       "(distances between far-apart " \
                       "clusters carry no meaning)"


# ---------------------------------------------------------------------------------- sections
def _model_sections(run: _Run, embedding: str, max_points: int, device: str
                    ) -> list[_Figure]:
    """(c) confusion matrix on the unseen classes and (d) the real/synthetic embedding, for the
    first seed; each becomes a note when it cannot be drawn."""
    from anyshot.evaluation.metrics import per_class_accuracy
    from anyshot.evaluation.protocols import task_names
    from anyshot.experiment import prepare_data
    from anyshot.methods import Method

    seed = run.records[0].seed
    conf = _Figure("Confusion matrix on the unseen classes", "confusion_unseen.png")
    emb = _Figure("Real vs synthetic features of the unseen classes", "embedding.png")
    seed_dir = run.run_dir / f"seed_{seed}"
    model_dir = next((seed_dir / t for t in ("zsl", "gzsl")
                      if (seed_dir / t / "model.json").is_file()),
                     None)
    if model_dir is None:
        why = (f"no saved model in {str(seed_dir)!r} (protocol {run.config.evaluation.protocol!r}"
               " does not save models)" if run.config.evaluation.protocol == "test-selection"
               else f"no saved model under {str(seed_dir)!r}")
        conf.note = emb.note = f"Skipped: {why}."
        return [conf, emb]
    try:
        data = prepare_data(run.config)
        method = Method.load(model_dir, device=device)
    except AnyShotError as exc:
        conf.note = emb.note = f"Skipped: could not reload the data or model ({exc})."
        return [conf, emb]

    # (c) the ZSL classifier of evaluate(): candidates and synthetic classes are the unseen ones,
    # the k shots of novel classes (few-shot splits) join as real samples.
    unseen = np.sort(data.unseen)
    shots = data.shots
    clf = method.build_classifier(unseen, unseen, data.X[shots], data.y[shots])
    t = data.test_unseen
    y_true, y_pred = data.y[t], clf.predict(data.X[t])
    k = unseen.size
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.searchsorted(unseen, y_true), np.searchsorted(unseen, y_pred)), 1)
    names = [data.class_names[c] for c in unseen]
    task = task_names(data)["zsl"].upper()
    acc = per_class_accuracy(y_true, y_pred) * 100
    recorded = run.records[0].metrics.get(task.lower())
    conf.png = _png(_confusion_figure(
        cm, names, f"{task} confusion on {data.name}, seed {seed} ({acc:.1f}% per-class mean)"))
    conf.caption = (
        f"Model {model_dir.relative_to(run.run_dir)}, classifier rebuilt over the {k} unseen "
        f"classes and applied to their {t.size} test samples. Rows are true classes and sum to "
        f"100%; the diagonal mean, {acc:.1f}%, is the {task} accuracy"
        + (f" (results.jsonl records {recorded * 100:.1f}% for this seed)." if recorded is not None
           else ".")
    )

    # (d) real test features vs synthetic ones, in the space the final classifier is trained in
    # (after the method's feature map: identity for f-CLSWGAN, M's code for SRWGAN).
    if not callable(getattr(method, "synthesize", None)):
        emb.note = (f"Skipped: method {method.name!r} is not generative (it has no synthesize()), "
                    "so there are no synthetic features to compare.")
        return [conf, emb]
    rng = np.random.default_rng(seed)
    n_real = min(t.size, max_points // 2)
    real = np.sort(rng.choice(t, size=n_real, replace=False))
    per_class = max(1, (max_points - n_real) // k)
    import torch

    sx, sy = method.synthesize(unseen, per_class, seed=seed)
    transform = getattr(method, "transform", lambda x: x)
    with torch.no_grad():
        real_all = transform(torch.as_tensor(data.X[t], dtype=torch.float32,
                                             device=sx.device)).cpu().numpy().astype(np.float64)
        syn = transform(sx.float()).cpu().numpy().astype(np.float64)
    sy = sy.detach().cpu().numpy()
    pick = np.searchsorted(t, real)
    X = np.concatenate([real_all[pick], syn])
    y = np.concatenate([data.y[real], sy])
    is_synth = np.arange(y.size) >= n_real
    Z, how, axis, note = _embed_2d(X, embedding, seed,
                                   fit_rows=~is_synth if embedding == "pca" else None)
    identity = syn.shape[1] == sx.shape[1] and np.allclose(syn, sx.cpu().numpy())
    space = "the features" if identity else "the codes of the method's feature map"
    emb.png = _png(_embedding_figure(
        Z, y, is_synth, unseen, names,
        f"{how} of real and synthetic {'features' if identity else 'codes'} as the final "
        f"classifier sees them, unseen classes of {data.name}, seed {seed}", axis))
    match = class_match(real_all, data.y[t], syn, sy, unseen)
    good = int(np.sum((match.ratio < 1) & (match.own_share >= 0.5)))
    emb.caption = (
        f"{n_real} real test samples (dots) and {per_class} synthetic features per class (crosses)"
        f" from model {model_dir.relative_to(run.run_dir)}, shown as {space} the final classifier "
        f"is trained on; {note}. A good plot: each colour's crosses lie among the dots of the same"
        " colour, nearer them than any other colour's dots. The final classifier only needs the "
        "synthetic points on the right side of the class boundaries, so crosses may spread wider "
        "than the dots or sit off their centre and still classify well, and two dimensions can "
        "put crosses beside another colour's dots that are far from them in the full space. The "
        f"table below measures it in the full space, over all {t.size} test samples: "
        f"{good} of {k} classes have their synthetic mean "
        "nearer their own real mean than the nearest other class mean is (ratio < 1) with most "
        f"synthetic points nearest their own class; median ratio {np.median(match.ratio):.2f}, "
        f"{np.mean(match.own_share) * 100:.0f}% of synthetic points nearest their own class.")
    emb.table = _match_table(match, names)
    return [conf, emb]


# ---------------------------------------------------------------------------------- HTML
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


def _results_tables(records: list[RunResult]) -> str:
    summary = summarize(records)
    metrics = [m for m in _METRIC_ORDER if m in summary]
    head = "".join(f"<th>{_e(_METRIC_LABELS[m])}</th>" for m in metrics)
    cells = "".join(f"<td>{_e(format_mean_std(*summary[m][:2]))}</td>" for m in metrics)
    out = [f"<table><tr><th class='l'>test accuracy (%)</th>{head}</tr>"
           f"<tr><td class='l'>mean +- std over {len(records)} seed(s)</td>{cells}</tr></table>"]
    rows = []
    for r in records:
        vals = "".join(f"<td>{r.metrics[m] * 100:.1f}</td>" if m in r.metrics else "<td></td>"
                       for m in metrics)
        epochs = ", ".join(f"{k}@{v}" for k, v in r.selected_epochs.items()) or "-"
        val = ", ".join(f"{k}={v * 100:.1f}" for k, v in r.validation.items()) or "-"
        rows.append(f"<tr><td class='l'>{_e(r.seed)}</td>{vals}<td class='l'>{_e(epochs)}</td>"
                    f"<td class='l'>{_e(val)}</td><td>{r.seconds:.1f}</td></tr>")
    out.append(f"<table><tr><th class='l'>seed</th>{head}<th class='l'>selected epochs</th>"
               f"<th class='l'>validation (%)</th><th>seconds</th></tr>{''.join(rows)}</table>")
    return "\n".join(out)


def _html(run: _Run, sections: list[_Figure]) -> str:
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


# ---------------------------------------------------------------------------------- public API
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
    if embedding not in EMBEDDINGS:
        raise ConfigError(f"embedding {embedding!r} is unknown; "
                          f"choose one of {', '.join(EMBEDDINGS)}.")
    if not isinstance(max_points, int) or max_points < 10:
        raise ConfigError(f"max_points must be an integer >= 10, got {max_points!r}.")
    run_dir = Path(run_dir)
    run = _read_run(run_dir)
    if out is None:
        folder, index = run_dir / "report", run_dir / "report" / "index.html"
    else:
        out = Path(out)
        folder, index = (out.parent, out) if out.suffix.lower() in (".html", ".htm") \
            else (out, out / "index.html")

    rec = run.records[0]
    curves = _Figure("Training curves", "training_curves.png")
    fig = _training_curves(run.histories)
    if fig is None:
        curves.note = (f"No training history: method {rec.method!r} is not trained in epochs."
                       if not any(run.histories.values()) and rec.objective is None
                       else "No training history was recorded (seed_<s>/history.jsonl is missing "
                            "or empty).")
    else:
        curves.png = _png(fig)
        curves.caption = ("Per-epoch means of the logged losses for each seed, from "
                          "seed_<s>/history.jsonl. They belong to the model that was tested (with "
                          "the honest protocol: the final training on the full training split, up "
                          "to the last selected epoch).")
    label = rec.protocol_label if len({r.protocol_label for r in run.records}) == 1 else "mixed"
    acc = _Figure("Test accuracy", "accuracy.png", png=_png(_accuracy_bars(
        run.records, f"Test accuracy of {rec.method} on {rec.dataset}\n"
                     f"protocol {label}, {len(run.records)} seed(s)")))
    acc.caption = ("Bars: mean over seeds; error bars: sample standard deviation; dots: single "
                   "seeds. U / S: accuracy on unseen / seen test classes among all classes; H: "
                   "their harmonic mean.")
    sections = [curves, acc, *_model_sections(run, embedding, max_points, device)]

    for sec in sections:
        path = folder / sec.filename
        if sec.png is not None:
            atomic_write_bytes(path, sec.png)
        elif path.is_file():
            path.unlink()
    atomic_write_text(index, _html(run, sections))
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
