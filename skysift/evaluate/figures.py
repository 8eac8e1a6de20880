"""Figures for the evaluation report, built with matplotlib's object-oriented API (no pyplot
state, so it works headless and in threads; files are written with the Agg/SVG backends).

Every ``*_figure`` function takes arrays or DataFrames and returns a
:class:`matplotlib.figure.Figure`; :func:`save_figure` writes it as PNG and SVG. Classes keep
the same colour in every figure (:func:`class_colors`), and axes carry units. The figures of a
model live here; those describing the data in :mod:`skysift.evaluate.datafigures` (re-exported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from skysift.evaluate import metrics as M
from skysift.evaluate.datafigures import (  # noqa: F401 - the data figures, re-exported as before
    class_counts_figure,
    context_figure,
    lightcurve_histograms_figure,
    mag_std_figure,
)
from skysift.evaluate.plotting import (  # noqa: F401 - re-exported: figures.class_colors, figures.save_figure
    class_colors,
    save_figure,
)
from skysift.evaluate.plotting import (
    empty_axes as _empty,
)
from skysift.evaluate.plotting import (
    new_figure as _new,
)
from skysift.evaluate.plotting import (
    styled as _styled,
)

# --------------------------------------------------------------------------- confusion matrices


def _draw_confusion(ax, counts: np.ndarray, classes: Sequence[str], title: str | None, colorbar_fig=None) -> None:
    counts = np.asarray(counts)
    frac = M.row_fractions(counts)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    n = len(classes)
    fontsize = 8 if n <= 6 else (6 if n <= 10 else 4.5)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{frac[i, j]:.2f}\n({int(counts[i, j])})", ha="center", va="center",
                    fontsize=fontsize, color="white" if frac[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), classes, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(range(n), [f"{c} ({int(t)})" for c, t in zip(classes, counts.sum(axis=1))])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (number of objects)")
    if title:
        ax.set_title(title)
    if colorbar_fig is not None:
        colorbar_fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of true class")


@_styled
def confusion_matrix_figure(counts: np.ndarray, classes: Sequence[str], title: str | None = None,
                            colorbar: bool = True) -> Figure:
    """Confusion matrix: each cell the fraction of the true class (row) with the count in
    parentheses; rows are labelled with the class size. ``colorbar=False`` leaves out the colour
    scale (the cells print their fractions) for a compact figure to set beside others."""
    n = len(classes)
    size = max(3.6, 0.55 * n + 2.2) if colorbar else max(3.1, 0.5 * n + 1.7)
    fig, axes = _new(size + 0.8 if colorbar else size, size)
    _draw_confusion(axes[0, 0], counts, classes, title, colorbar_fig=fig if colorbar else None)
    return fig


@_styled
def confusion_matrices_figure(
    matrices: Mapping[str, np.ndarray], classes: Sequence[str], ncols: int = 3, suptitle: str | None = None
) -> Figure:
    """Several confusion matrices side by side (e.g. at 1, 6 and 20 observations), one per entry
    of ``matrices`` (title -> counts)."""
    items = list(matrices.items())
    n = len(classes)
    ncols = max(1, min(ncols, len(items)))
    nrows = max(1, int(np.ceil(len(items) / ncols)))
    size = max(2.7, 0.5 * n + 1.6)
    fig, axes = _new(size * ncols, size * nrows, nrows, ncols)
    for k, ax in enumerate(axes.ravel()):
        if k < len(items):
            _draw_confusion(ax, items[k][1], classes, items[k][0])
        else:
            ax.set_axis_off()
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# --------------------------------------------------------------------------- ROC / PR


@_styled
def roc_figure(y, proba, classes: Sequence[str], title: str | None = None, threshold: float | None = None) -> Figure:
    """One-vs-rest ROC curve per class with its AUC; with ``threshold``, the operating point
    ``p >= threshold`` is marked on each curve. A linear and a log-FPR panel show the whole
    curve and the low false-positive end."""
    curves = M.roc_curves(y, proba, classes)
    colors = class_colors(classes)
    many = len(curves) > 6
    fig, axes = _new(9.0 if not many else 11.5, 4.0, 1, 2)
    y_arr = np.asarray(y).astype(str)
    names = list(map(str, classes))
    for ax, logx in zip(axes[0], (False, True)):
        for cls, c in curves.items():
            fpr, tpr = c["fpr"], c["tpr"]
            if logx:
                keep = fpr > 0
                fpr, tpr = fpr[keep], tpr[keep]
            label = None if logx else f"{cls} (AUC = {c['auc']:.3f}, n = {int(np.sum(y_arr == cls))})"
            ax.plot(fpr, tpr, color=colors[cls], lw=1.5, label=label)
            if threshold is not None:
                pos = y_arr == cls
                pred = np.asarray(proba)[:, names.index(cls)] >= threshold
                tp_rate = np.mean(pred[pos]) if pos.any() else np.nan
                fp_rate = np.mean(pred[~pos]) if (~pos).any() else np.nan
                if not (logx and fp_rate <= 0):
                    ax.plot([fp_rate], [tp_rate], "o", color=colors[cls], ms=5, mec="k", mew=0.6)
        if logx:
            ax.set_xscale("log")
            ax.set_title("low false-positive end (log scale)")
        else:
            ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1)
            ax.set_title(title or "one-vs-rest ROC curves")
            ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate (recall)")
        ax.grid(alpha=0.3)
    if threshold is not None:
        axes[0, 1].plot([], [], "o", color="0.6", mec="k", mew=0.6, label=f"p >= {threshold:g}")
        axes[0, 1].legend(loc="lower right")
    if not curves:
        _empty(axes[0, 0])
    elif many:
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    else:
        axes[0, 0].legend(loc="lower right")
    return fig


@_styled
def pr_figure(y, proba, classes: Sequence[str], title: str | None = None) -> Figure:
    """One-vs-rest precision-recall curve per class with its average precision (AP); the dashed
    line of the class's colour is its prevalence (the AP of guessing)."""
    curves = M.pr_curves(y, proba, classes)
    colors = class_colors(classes)
    many = len(curves) > 6
    fig, axes = _new(5.0 if not many else 7.5, 4.0)
    ax = axes[0, 0]
    for cls, c in curves.items():
        ax.step(c["recall"], c["precision"], where="post", color=colors[cls], lw=1.5,
                label=f"{cls} (AP = {c['ap']:.3f}, prevalence {c['prevalence']:.3f})")
        ax.axhline(c["prevalence"], color=colors[cls], ls="--", lw=0.8, alpha=0.7)
    if not curves:
        _empty(ax)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall (true-positive rate)")
    ax.set_ylabel("precision (purity)")
    ax.set_title(title or "one-vs-rest precision-recall curves")
    ax.grid(alpha=0.3)
    if curves and many:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    elif curves:
        ax.legend(loc="lower left")
    return fig


# --------------------------------------------------------------------------- AUC vs observations


@_styled
def auc_vs_observations_figure(table: pd.DataFrame, metric: str = "auc", title: str | None = None) -> Figure:
    """``metric`` (default Hand & Till AUC) against the maximum number of observations used,
    one line per ``model`` (a column; a table without it is one model). With a column
    ``frac_complete`` (fraction of objects whose light curve is complete at that number), it is
    drawn on a second axis."""
    fig, axes = _new(5.3, 3.6)
    ax = axes[0, 0]
    if table is None or len(table) == 0:
        _empty(ax)
        return fig
    df = table.copy()
    if "model" not in df:
        df["model"] = "model"
    models = list(dict.fromkeys(df["model"]))
    cmap = colormaps["tab10"]
    markers = "osD^v<>ph*"
    for k, name in enumerate(models):
        d = df[df["model"] == name].sort_values("n_obs")
        ax.plot(d["n_obs"], d[metric], marker=markers[k % len(markers)], ms=3, lw=1.3, color=cmap(k % 10),
                label=str(name))
    ax.set_xlabel("maximum number of observations used")
    name = {"auc": "AUC", "macro_f1": "macro F1"}.get(metric, metric.replace("_", " "))
    ax.set_ylabel({"auc": "AUC (Hand & Till)"}.get(metric, name))
    ax.set_title(title or f"{name} as observations accumulate")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", ncol=1 if len(models) <= 7 else 2)
    if "frac_complete" in df:
        d0 = df[df["model"] == models[0]].sort_values("n_obs")
        ax2 = ax.twinx()
        ax2.fill_between(d0["n_obs"], 0, d0["frac_complete"], color="0.85", alpha=0.5, step="mid", zorder=0)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("fraction of light curves complete (grey)")
        ax.set_zorder(ax2.get_zorder() + 1)
        ax.patch.set_visible(False)
    return fig


# --------------------------------------------------------------------------- t-SNE


def stratified_subsample(labels, max_points: int = 3000, seed: int = 0) -> np.ndarray:
    """Sorted positions of at most ``max_points`` objects: small classes are kept whole, and the
    remaining budget is shared equally among the larger classes (drawn at random, seeded)."""
    labels = np.asarray(labels).astype(str)
    n = len(labels)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    order = np.argsort(counts)
    budget, remaining = max_points, len(classes)
    take = {}
    for k in order:
        share = budget // remaining
        take[classes[k]] = min(counts[k], share)
        budget -= take[classes[k]]
        remaining -= 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=m, replace=False) for c, m in take.items()]
    return np.sort(np.concatenate(chosen))


def compute_tsne(
    features: np.ndarray, labels, max_points: int = 3000, seed: int = 0, perplexity: float = 30.0
) -> tuple[np.ndarray, np.ndarray]:
    """Two-dimensional t-SNE map (scikit-learn) of ``features`` after a stratified subsample
    (:func:`stratified_subsample`). Features are standardised first. Returns ``(xy, index)``
    with ``index`` the positions used. The perplexity is lowered for small samples."""
    from sklearn.manifold import TSNE

    features = np.asarray(features, float)
    idx = stratified_subsample(labels, max_points, seed)
    x = features[idx]
    if len(x) < 3:
        return np.zeros((len(x), 2)), idx
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 1e-12, x.std(axis=0), 1.0)
    perp = float(min(perplexity, max(2.0, (len(x) - 1) / 3.0)))
    tsne = TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed, max_iter=1000)
    return tsne.fit_transform(x), idx


@_styled
def tsne_figure(
    maps: Mapping[str, tuple[np.ndarray, np.ndarray]], classes: Sequence[str], ncols: int = 2,
    suptitle: str | None = None,
) -> Figure:
    """t-SNE maps, one panel per entry ``title -> (xy, labels)``; points coloured by true class,
    minority classes drawn on top."""
    colors = class_colors(classes)
    items = list(maps.items())
    ncols = max(1, min(ncols, len(items)))
    nrows = max(1, int(np.ceil(len(items) / ncols)))
    fig, axes = _new(4.4 * ncols, 4.0 * nrows, nrows, ncols)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(items):
            ax.set_axis_off()
            continue
        title, (xy, labels) = items[k]
        labels = np.asarray(labels).astype(str)
        counts = {c: int(np.sum(labels == c)) for c in map(str, classes)}
        for c in sorted(counts, key=lambda c: -counts[c]):  # biggest first, so small ones stay visible
            sel = labels == c
            if sel.any():
                ax.scatter(xy[sel, 0], xy[sel, 1], s=6 if counts[c] > 200 else 12, color=colors[c], alpha=0.7,
                           lw=0, label=f"{c} ({counts[c]})")
        ax.set_title(title)
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="best", markerscale=2, fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# --------------------------------------------------------------------------- training history


@_styled
def training_history_figure(
    history: Sequence[Mapping], title: str | None = None, best_epoch: int | None = None
) -> Figure:
    """Training and validation loss per epoch (left) and the network's validation AUC (right: its
    own softmax, before any temperature or trees, as training scored it); the epoch kept
    (``best_epoch``) is marked."""
    fig, axes = _new(7.0, 2.8, 1, 2)
    df = pd.DataFrame(list(history))
    ax1, ax2 = axes[0]
    if df.empty or "epoch" not in df:
        _empty(ax1, "no training history")
        _empty(ax2, "no training history")
        return fig
    for col, style in (("train_loss", "-"), ("val_loss", "--")):
        if col in df:
            ax1.plot(df["epoch"], df[col], style, marker="o", ms=2.5, label=col.replace("_", " "))
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss (per object)")
    ax1.grid(alpha=0.3)
    ax1.legend()
    if "val_auc" in df:
        ax2.plot(df["epoch"], df["val_auc"], marker="o", ms=2.5, color="C2")
    else:
        _empty(ax2, "no validation AUC")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("network's validation AUC")
    ax2.grid(alpha=0.3)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if best_epoch is not None:
        for ax in (ax1, ax2):
            ax.axvline(best_epoch, color="0.4", ls=":", lw=1)
        ax2.text(best_epoch, ax2.get_ylim()[0], f"kept: epoch {best_epoch} ", ha="right", va="bottom", fontsize=7,
                 color="0.3")
    fig.suptitle(title or "training history")
    return fig


# --------------------------------------------------------------------------- calibration


@_styled
def reliability_figure(curves: Mapping[str, pd.DataFrame], title: str | None = None) -> Figure:
    """Reliability diagram: observed accuracy against mean confidence per bin for each entry of
    ``curves`` (label -> output of :func:`skysift.evaluate.calibration.reliability_curve`, e.g.
    before and after temperature scaling), with the number of objects per bin below."""
    fig = Figure(figsize=(4.8, 5.2), layout="constrained")
    ax, axh = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="perfect calibration")
    width = None
    for k, (label, df) in enumerate(curves.items()):
        used = df[df["count"] > 0]
        ax.plot(used["confidence"], used["accuracy"], marker="o", ms=4, color=f"C{k}", label=label)
        width = float((df["bin_high"] - df["bin_low"]).iloc[0]) if len(df) else 0.1
        nk = max(1, len(curves))
        centers = (df["bin_low"] + df["bin_high"]) / 2 + (k - (nk - 1) / 2) * width / nk
        axh.bar(centers, df["count"], width=width / nk, color=f"C{k}", alpha=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("observed frequency (accuracy)")
    ax.set_title(title or "reliability diagram")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    axh.set_xlabel("predicted probability (confidence)")
    axh.set_ylabel("objects")
    axh.set_yscale("symlog", linthresh=1)
    return fig


@_styled
def classwise_reliability_figure(curves: Mapping[str, pd.DataFrame], title: str | None = None) -> Figure:
    """Class-wise reliability: for each class (``curves``: class -> output of
    :func:`skysift.evaluate.calibration.reliability_curve` with ``kind=class``), the fraction of
    objects of that class against the mean predicted probability of the class, per bin."""
    colors = class_colors(list(curves))
    fig, axes = _new(4.8, 4.2)
    ax = axes[0, 0]
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1)
    for c, df in curves.items():
        used = df[df["count"] > 0]
        ax.plot(used["confidence"], used["accuracy"], marker="o", ms=3, color=colors[c], label=c)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("predicted probability of the class")
    ax.set_ylabel("fraction of objects in the class")
    ax.set_title(f"{title}: class-wise reliability (test)" if title else "class-wise reliability")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    return fig


# --------------------------------------------------------------------------- model comparison


@_styled
def model_comparison_figure(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Test AUC per model (columns ``model``, ``test_auc`` and optionally ``test_auc_ci_low`` /
    ``test_auc_ci_high``) with bootstrap intervals, and validation AUC (``val_auc``) for
    comparison."""
    fig, axes = _new(6.0, max(2.5, 0.45 * len(table) + 1.6))
    ax = axes[0, 0]
    if table is None or table.empty or "test_auc" not in table:
        _empty(ax)
        return fig
    t = table.reset_index(drop=True)
    ypos = np.arange(len(t))[::-1]
    auc = t["test_auc"].to_numpy(float)
    if "test_auc_ci_low" in t and "test_auc_ci_high" in t:
        lo = auc - t["test_auc_ci_low"].to_numpy(float)
        hi = t["test_auc_ci_high"].to_numpy(float) - auc
        ax.errorbar(auc, ypos, xerr=[np.nan_to_num(lo), np.nan_to_num(hi)], fmt="o", color="C0", capsize=3,
                    label="test (95% bootstrap interval)")
    else:
        ax.plot(auc, ypos, "o", color="C0", label="test")
    if "val_auc" in t:
        ax.plot(t["val_auc"].to_numpy(float), ypos + 0.15, "s", ms=4, color="C1", label="validation")
    ax.set_yticks(ypos, t["model"].astype(str))
    ax.set_ylim(-0.6, len(t) - 0.4)
    ax.set_xlabel("AUC (Hand & Till)")
    ax.set_title(title or "model comparison")
    ax.grid(alpha=0.3, axis="x")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig
