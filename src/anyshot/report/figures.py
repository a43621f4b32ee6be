"""The report's figures, drawn on :class:`matplotlib.figure.Figure` objects with the Agg
renderer (never through pyplot, so no display is needed and no global backend is changed), and the
2-D embedding that one of them shows."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from anyshot.evaluation.results import RunResult, summarize
from anyshot.reporting import HEADERS, METRIC_ORDER

# The adversarial losses come first, in this order; any other logged value follows.
_CURVE_ORDER = ["critic_loss", "generator_loss", "wasserstein", "penalty", "cls_loss"]

#: Every logged training value in words: history key -> (panel title, y-axis label). Values
#: whose meaning depends on the adversarial objective have an entry per objective below.
CURVE_NAMES: dict[str, tuple[str, str]] = {
    "critic_loss": ("Critic loss", "all critic terms"),
    "generator_loss": ("Generator loss", "all generator terms"),
    "wasserstein": ("Wasserstein estimate (> 0: real scored higher)",
                    "E[D(real)] \u2212 E[D(fake)]"),
    "penalty": ("Gradient penalty", "E[(\u2016\u2207D\u2016 \u2212 1)\u00b2]"),
    "generator_adv": ("Generator adversarial loss", "\u2212E[D(fake)]"),
    "cls_loss": ("Classification loss", "cross-entropy of synthetic features"),
    "real_score_sq": ("Real-score drift", "(mean D(real))\u00b2"),
    "ib_kl": ("Information bottleneck: KL of M's code", "KL to N(0, I)  (bound: i_c)"),
    "ib_beta": ("Information bottleneck multiplier \u03b2", "\u03b2 (dual ascent)"),
    "center_loss": ("Triplet-centre loss of M's codes", "loss"),
    "proto_sample": ("Synthetic sample to nearest prototype", "mean squared distance"),
    "proto_mean": ("Synthetic class mean to nearest prototype", "mean squared distance"),
    "sbc1": ("Seen compatibility cross-entropy, head 1", "CE(S\u2081(x_real), y)"),
    "ubc1": ("Unseen compatibility entropy, head 1", "entropy of S\u2081(x_fake, unseen)"),
    "sbc2": ("Seen compatibility entropy, head 2", "entropy of S\u2082(x_real)"),
    "gram_alignment": ("Gram alignment of seen and unseen codes",
                       "sum of MSE(Gram\u02e2, Gram\u1d58)"),
    "energy_real": ("Energy of real features", "E(real)"),
    "energy_fake": ("Energy of synthetic features (critic step)", "E(fake)"),
    "energy_gap": ("Energy gap (> 0: real has lower energy)", "E(fake) \u2212 E(real)"),
    "pull_away": ("Pull-away term of synthetic codes", "mean squared cosine"),
    "attr_consistency": ("Attribute consistency loss", "loss"),
    "prior_anchor": ("Prior anchor loss", "loss"),
}
_OBJECTIVE_CURVE_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "ebgan": {"penalty": ("Margin hinge on synthetic energies", "mean max(0, m \u2212 E(fake))"),
              "generator_adv": ("Energy of synthetic features (generator step)", "E(fake)")},
}
_DPI = 110


def curve_name(key: str, objective: str | None = None) -> tuple[str, str]:
    """(panel title, y-axis label) of a logged training value; unknown keys in plain words."""
    names = _OBJECTIVE_CURVE_NAMES.get(objective or "", {})
    if key in names:
        return names[key]
    return CURVE_NAMES.get(key, (key.replace("_", " ").capitalize(), key))


def png_bytes(fig: Figure) -> bytes:
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


def training_curves(histories: dict[int, list[dict[str, float]]],
                    objective: str | None = None) -> Figure | None:
    """One panel per logged quantity, named in words (:data:`CURVE_NAMES`), one line per seed;
    ``None`` when nothing was logged."""
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
    epochs = [r["epoch"] for hist in histories.values() for r in hist if "epoch" in r]
    first, last = min(epochs), max(epochs)
    pad = max(0.3, 0.03 * (last - first))
    for ax, key in zip(axes, keys):
        for color, (seed, hist) in zip(colors, sorted(histories.items())):
            rows = [r for r in hist if key in r]
            if not rows:
                continue
            ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], "o-", ms=3, lw=1.5,
                    color=color, label=f"seed {seed}")
        title, ylabel = curve_name(key, objective)
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel, fontsize="small")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(first - pad, last + pad)  # every panel on the same epochs
        ax.ticklabel_format(axis="y", useOffset=False)  # values as logged, no "+1.6" offset
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    fig.suptitle("Training curves (mean over the steps of each epoch)")
    return fig


def accuracy_bars(records: list[RunResult], title: str) -> Figure:
    """Bars: mean test accuracy per metric (ZSL, then GZSL U / S / H), error bars: std over
    seeds, dots: the individual seeds."""
    summary = summarize(records)
    metrics = [m for m in METRIC_ORDER if m in summary]
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
    ax.set_xticks(x, [HEADERS.get(m, m) for m in metrics])
    ax.set_ylim(0, 108)
    ax.set_ylabel("per-class mean top-1 accuracy (%)")
    ax.grid(axis="y", alpha=0.3)
    # Below the axes, outside them: inside, it would cover a bar's label near 100%.
    fig.legend(loc="outside lower center", fontsize="small", frameon=False)
    ax.set_title(title, fontsize="medium")
    return fig


def confusion_figure(cm: np.ndarray, names: list[str], title: str) -> Figure:
    """Row-normalised confusion matrix in percent (row = true class; the diagonal is per-class
    recall); the cells' numbers and the colour bar are both % of the true class's samples."""
    k = cm.shape[0]
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm, dtype=np.float64), where=rows > 0)
    side = float(np.clip(0.42 * k + 2.5, 4.5, 18.0))
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    pct = frac * 100
    im = ax.imshow(pct, cmap="Blues", vmin=0.0, vmax=100.0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="% of the true class's test samples")
    if k <= 60:
        fs = "small" if k <= 20 else "x-small"
        labels = [_short(n) for n in names]
        ax.set_xticks(np.arange(k), labels, rotation=45, ha="right", rotation_mode="anchor",
                      fontsize=fs)
        ax.set_yticks(np.arange(k), labels, fontsize=fs)
    if k <= 25:
        for (i, j), v in np.ndenumerate(pct):
            if round(v) >= 1:
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize="x-small",
                        color="white" if v > 50 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize="medium")
    return fig


def embedding_figure(Z: np.ndarray, y: np.ndarray, is_synth: np.ndarray, classes: np.ndarray,
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


def embed_2d(X: np.ndarray, embedding: str, seed: int, fit_rows: np.ndarray | None = None
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
