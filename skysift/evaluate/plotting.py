"""Shared plotting helpers of the report's figures: the report's font sizes, one colour per class,
new figures, empty panels, and saving a figure as PNG and SVG. matplotlib's object-oriented API
only (no pyplot state), so it works headless and in threads."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib import colormaps
from matplotlib.figure import Figure

__all__ = ["class_colors", "save_figure", "styled", "new_figure", "empty_axes"]

#: Fixed colours for the paper's three classes; others come from tab10 / tab20.
_FIXED = {"VS": "#1f77b4", "SN": "#d62728", "AGN": "#2ca02c"}

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "svg.fonttype": "none",
}


def styled(func):
    """Run a figure function under the report's font sizes without touching global rcParams."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper


def class_colors(classes: Sequence[str]) -> dict[str, str]:
    """A colour per class, the same for the same class list in every figure.

    VS, SN and AGN have fixed colours (blue, red, green); other classes take tab10 (or tab20 for
    more than ten) colours in the order given, skipping colours already used.
    """
    classes = [str(c) for c in classes]
    cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    palette = [matplotlib.colors.to_hex(cmap(i)) for i in range(cmap.N)]
    used = {_FIXED[c] for c in classes if c in _FIXED}
    free = [c for c in palette if c not in used]
    out, k = {}, 0
    for c in classes:
        if c in _FIXED:
            out[c] = _FIXED[c]
        else:
            out[c] = free[k % len(free)]
            k += 1
    return out


@styled
def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> dict[str, Path]:
    """Write ``fig`` to ``path`` with suffixes ``.png`` and ``.svg`` (any suffix given is
    replaced); returns ``{"png": path, "svg": path}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("") if path.suffix in (".png", ".svg", ".pdf") else path
    out = {}
    for ext in ("png", "svg"):
        p = stem.parent / f"{stem.name}.{ext}"
        fig.savefig(p, dpi=dpi)  # the layout is constrained, so nothing is cut
        out[ext] = p
    return out


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kw):
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def empty_axes(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
