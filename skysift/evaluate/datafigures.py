"""Figures describing a labelled set, per class: objects per part, brightness against variability,
light-curve sampling (duration in days, detections, gaps in days) and context (distance to the
nearest galaxy in arcsec, galactic latitude in degrees)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from skysift.evaluate.plotting import class_colors
from skysift.evaluate.plotting import empty_axes as _empty
from skysift.evaluate.plotting import new_figure as _new
from skysift.evaluate.plotting import styled as _styled

__all__ = ["class_counts_figure", "mag_std_figure", "lightcurve_histograms_figure", "context_figure"]


# --------------------------------------------------------------------------- data description


@_styled
def class_counts_figure(counts: pd.DataFrame, title: str | None = None) -> Figure:
    """Objects per class (rows) and split (columns), as grouped bars on a log axis."""
    fig, axes = _new(max(4.0, 0.7 * len(counts) + 2.5), 3.2)
    ax = axes[0, 0]
    if counts is None or counts.empty:
        _empty(ax)
        return fig
    cols = list(counts.columns)
    x = np.arange(len(counts))
    w = 0.8 / len(cols)
    for k, col in enumerate(cols):
        ax.bar(x + (k - (len(cols) - 1) / 2) * w, counts[col].to_numpy(), width=w, label=str(col), color=f"C{k}")
    ax.set_xticks(x, counts.index.astype(str), rotation=45 if len(counts) > 5 else 0,
                  ha="right" if len(counts) > 5 else "center")
    ax.set_yscale("log")
    ax.set_ylabel("number of objects")
    ax.set_title(title or "objects per class")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    return fig


@_styled
def mag_std_figure(stats: pd.DataFrame, classes: Sequence[str], title: str | None = None) -> Figure:
    """Mean magnitude against the standard deviation of the magnitudes of each light curve,
    coloured by class (columns ``label``, ``mean_mag``, ``std_mag``)."""
    colors = class_colors(classes)
    fig, axes = _new(5.2, 4.2)
    ax = axes[0, 0]
    counts = stats["label"].astype(str).value_counts()
    for c in sorted(map(str, classes), key=lambda c: -counts.get(c, 0)):
        d = stats[stats["label"].astype(str) == c]
        d = d[np.isfinite(d["std_mag"]) & (d["std_mag"] > 0)]
        if len(d):
            ax.scatter(d["mean_mag"], d["std_mag"], s=5 if len(d) > 300 else 10, color=colors[c], alpha=0.6, lw=0,
                       label=f"{c} ({len(d)})")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("mean magnitude (mag)")
    ax.set_ylabel("standard deviation of magnitude (mag)")
    ax.set_title(title or "brightness and variability")
    ax.grid(alpha=0.3)
    if len(stats):
        ax.legend(markerscale=2)
    return fig


def _class_hist(ax, values_by_class: Mapping[str, np.ndarray], colors, bins, xlabel, log_x=False) -> None:
    drawn = False
    for c, v in values_by_class.items():
        v = np.asarray(v, float)
        v = v[np.isfinite(v)]
        if log_x:
            v = v[v > 0]
        if len(v) == 0:
            continue
        weights = np.full(len(v), 1.0 / len(v))
        ax.hist(v, bins=bins, weights=weights, histtype="step", lw=1.5, color=colors[c], label=f"{c} ({len(v)})")
        drawn = True
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of class")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend()
    else:
        _empty(ax)


def _log_bins(values: np.ndarray, n: int = 30) -> np.ndarray:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0:
        return np.logspace(-2, 3, n)
    lo, hi = v.min(), v.max()
    if hi <= lo:
        hi = lo * 10
    return np.logspace(np.log10(lo) - 0.05, np.log10(hi) + 0.05, n)


@_styled
def lightcurve_histograms_figure(stats: pd.DataFrame, gaps: pd.DataFrame, classes: Sequence[str]) -> Figure:
    """Per-class distributions (each class normalised to 1) of light-curve duration (days),
    number of detections, and the time between consecutive detections (days).

    ``stats`` has ``label``, ``duration_days`` and ``n_obs`` per object; ``gaps`` has ``label``
    and ``gap_days`` per pair of consecutive detections."""
    colors = class_colors(classes)
    fig, axes = _new(12.0, 3.4, 1, 3)
    cls = [str(c) for c in classes]
    lab = stats["label"].astype(str)
    dur = {c: stats.loc[lab == c, "duration_days"].to_numpy() for c in cls}
    dur_all = stats["duration_days"].to_numpy(float)
    _class_hist(axes[0, 0], dur, colors, _log_bins(dur_all), "light-curve duration (days)", log_x=True)
    nobs = {c: stats.loc[lab == c, "n_obs"].to_numpy() for c in cls}
    nmax = int(stats["n_obs"].max()) if len(stats) else 1
    nbins = np.unique(np.round(np.logspace(0, np.log10(max(nmax, 2)) + 0.01, 30))) - 0.5
    _class_hist(axes[0, 1], nobs, colors, nbins, "number of detections", log_x=True)
    glab = gaps["label"].astype(str) if len(gaps) else pd.Series([], dtype=str)
    gp = {c: gaps.loc[glab == c, "gap_days"].to_numpy() if len(gaps) else np.zeros(0) for c in cls}
    _class_hist(axes[0, 2], gp, colors, _log_bins(gaps["gap_days"].to_numpy(float) if len(gaps) else []),
                "time between consecutive detections (days)", log_x=True)
    axes[0, 2].set_ylabel("fraction of gaps in class")
    fig.suptitle("light-curve sampling per class")
    return fig


@_styled
def context_figure(context: pd.DataFrame, classes: Sequence[str], match_radius_arcsec: float = 60.0) -> Figure:
    """Per-class distributions of the context features: distance to the nearest catalogued
    galaxy (arcsec, column ``galaxy_dist_arcsec``, log axis, the match radius marked) and
    galactic latitude (degrees, ``gal_b``). Missing columns give an empty panel."""
    colors = class_colors(classes)
    fig, axes = _new(8.5, 3.4, 1, 2)
    cls = [str(c) for c in classes]
    lab = context["label"].astype(str) if "label" in context else pd.Series([], dtype=str)
    if "galaxy_dist_arcsec" in context:
        d = context["galaxy_dist_arcsec"].to_numpy(float)
        vals = {c: d[(lab == c).to_numpy()] for c in cls}
        _class_hist(axes[0, 0], vals, colors, _log_bins(d), "distance to nearest galaxy (arcsec)", log_x=True)
        axes[0, 0].axvline(match_radius_arcsec, color="0.4", ls=":", lw=1)
        axes[0, 0].text(match_radius_arcsec, axes[0, 0].get_ylim()[1], f" {match_radius_arcsec:g}\"", va="top",
                        fontsize=7, color="0.3")
    else:
        _empty(axes[0, 0], "no galaxy catalogue / distances")
        axes[0, 0].set_xlabel("distance to nearest galaxy (arcsec)")
    if "gal_b" in context:
        b = context["gal_b"].to_numpy(float)
        vals = {c: b[(lab == c).to_numpy()] for c in cls}
        _class_hist(axes[0, 1], vals, colors, np.linspace(-90, 90, 37), "galactic latitude b (degrees)")
    else:
        _empty(axes[0, 1], "no galactic latitude")
        axes[0, 1].set_xlabel("galactic latitude b (degrees)")
    fig.suptitle("context features per class")
    return fig
