"""The report's HTML page: one self-contained ``index.html`` from the results dictionary.

Tables are read from their CSV files and inlined; numbers never break inside a cell (only text
cells and headers wrap, at spaces); figures are shown at their drawn size (100 px per inch of
the matplotlib figure) and groups of figures sit side by side in a wrapping grid, so that a
window of 900 px or more shows every table and figure without sideways scrolling.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["write_report", "jsonable", "header_label", "format_cell", "table_html", "item_html", "PX_PER_INCH"]

#: Display width of a figure per inch of its matplotlib size (its PNG is drawn at 150 dpi, so it stays sharp).
PX_PER_INCH = 100

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
p{overflow-wrap:break-word}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin:1.2em 0 .3em 0}
.meta{color:#666;font-size:.9em}nav ul{columns:2;font-size:.95em}
.tablewrap{overflow-x:auto;max-width:100%}
table.tbl{border-collapse:collapse;font-size:.82em;margin:.4em 0 .2em 0}
table.tbl th,table.tbl td{border:1px solid #ccc;padding:2px 6px;text-align:right;vertical-align:top}
table.tbl td{white-space:nowrap;font-variant-numeric:tabular-nums}
table.tbl td.txt{white-space:normal;text-align:left;max-width:18em}
table.tbl th{background:#f2f2f2;white-space:normal;overflow-wrap:normal;word-break:normal;vertical-align:bottom}
table.tbl th:first-child{text-align:left}
.caption{font-size:.9em;color:#444;margin-bottom:1.2em}
.figs{display:flex;flex-wrap:wrap;gap:.4em 1.4em;align-items:flex-start}
.figs>figure,.figs>.cell{margin:.6em 0;max-width:100%}.figs>.cell{flex:1 1 22em;min-width:0}
figure{margin:1em 0;max-width:100%}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}
details{margin:.8em 0}summary{cursor:pointer;color:#0645ad}
ul.files{columns:3;font-size:.85em}ul.files li{overflow-wrap:anywhere}
.problems{background:#fff4e5;border:1px solid #f0c36d;padding:.5em 1em}
.note{background:#eef4fb;border-left:3px solid #7aa7d8;padding:.3em .8em}
"""

_WORDS = {
    "auc": "AUC", "ece": "ECE", "nll": "NLL", "ovr": "one-vs-rest", "fpr": "FPR", "tpr": "TPR", "ci": "CI",
    "f1": "F1", "rnn": "RNN", "obs": "obs.", "val": "validation", "n": "n", "lr": "lr", "id": "id",
}


def header_label(column: Any) -> str:
    """A column name as a table header: words instead of underscores (``test_auc_ci_low`` ->
    ``test AUC CI low``), so that headers wrap between words, never inside one."""
    words = str(column).split("_")
    return " ".join(_WORDS.get(w.lower(), w) for w in words)


def jsonable(x: Any) -> Any:
    """Numbers, strings, lists and dicts only (NaN becomes None)."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not math.isfinite(x) else x
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, pd.DataFrame):
        return jsonable(x.to_dict(orient="records"))
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)


_NUMERIC_TEXT = re.compile(r"[-+\d\s.,\[\]()–e%]+")


def format_cell(x: Any, decimals: int | None = None) -> tuple[str, bool]:
    """(HTML of a table cell, whether it is text: left-aligned, wrapping at spaces). Numbers get 4 significant digits
    (``decimals``: that many decimals) and never wrap, nor does text made of numbers such as an
    interval ``0.91 [0.88, 0.93]``; other long text gets break opportunities after ``/`` and ``_``."""
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return "–", False
    if isinstance(x, (bool, np.bool_)):
        return ("yes" if x else "no"), False
    if isinstance(x, (int, np.integer)):
        return str(int(x)), False
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            return "–", False
        if decimals is not None:
            return f"{x:.{int(decimals)}f}", False
        if float(x).is_integer() and abs(x) < 1e6:
            return str(int(x)), False
        return (f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.2e}"), False
    raw = str(x)
    if _NUMERIC_TEXT.fullmatch(raw):
        return html.escape(raw), False
    text = html.escape(raw)
    if len(text) > 16:
        text = re.sub(r"([/_])", r"\1<wbr>", text)
    return text, True


def table_html(out: Path, item: Mapping) -> str:
    """An inlined table: the CSV ``item["csv"]`` (columns ``item["columns"]`` when given, headers
    renamed by ``item["labels"]``), at most ``max_rows`` rows (0: none, a link only)."""
    path = out / item["csv"]
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        return f"<p class='caption'>table {html.escape(item['csv'])} could not be read: {html.escape(str(exc))}</p>"
    cols = [c for c in item.get("columns") or df.columns if c in df.columns]
    df = df[cols]
    labels = dict(item.get("labels") or {})
    max_rows = int(item.get("max_rows", 60) or 0)
    note = ""
    if max_rows and len(df) > max_rows:
        note = f" (first {max_rows} of {len(df)} rows; all in the CSV file)"
        df = df.head(max_rows)
    if max_rows == 0:
        body = ""
        note = f" ({len(df)} rows; see the CSV file)"
    else:
        head = "".join(f"<th>{html.escape(labels.get(c, header_label(c)))}</th>" for c in df.columns)
        rows = []
        for r in df.itertuples(index=False):
            cells = [format_cell(v, item.get("decimals")) for v in r]
            rows.append("<tr>" + "".join(f"<td class='txt'>{t}</td>" if wrap else f"<td>{t}</td>"
                                         for t, wrap in cells) + "</tr>")
        body = (f"<div class='tablewrap'><table class='tbl'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></div>")
    link = f"<a href='{html.escape(item['csv'])}'>CSV</a>"
    return f"{body}<p class='caption'>{html.escape(item.get('caption', ''))}{note} [{link}]</p>"


def _figure_html(item: Mapping) -> str:
    png, svg = html.escape(item["png"]), html.escape(item["svg"])
    cap = html.escape(item.get("caption", ""))
    width = item.get("width")
    style = f" style='width:{int(width)}px'" if width else ""
    return (f"<figure{style}><a href='{svg}'><img src='{png}' alt='{cap}'></a>"
            f"<figcaption>{cap} [<a href='{png}'>PNG</a>, <a href='{svg}'>SVG</a>]</figcaption></figure>")


def item_html(out: Path, item: Mapping) -> str:
    """One item of a section: ``table``, ``figure``, ``grid`` (items side by side, wrapping),
    ``details`` (items folded under a ``summary`` line) or raw ``html``."""
    kind = item.get("type")
    if kind == "table":
        return table_html(out, item)
    if kind == "figure":
        return _figure_html(item)
    if kind == "grid":  # a figure is its own box; anything else (a table and its caption) gets one
        return "<div class='figs'>" + "".join(
            item_html(out, i) if i.get("type") == "figure" else f"<div class='cell'>{item_html(out, i)}</div>"
            for i in item.get("items", [])) + "</div>"
    if kind == "details":
        return (f"<details><summary>{html.escape(str(item.get('summary', 'more')))}</summary>"
                + "".join(item_html(out, i) for i in item.get("items", [])) + "</details>")
    if kind == "html":
        return str(item.get("html", ""))
    return ""


def write_report(results: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``index.html`` (and ``report.json``, the results themselves) into ``out_dir``.

    ``results`` is the dictionary returned by :func:`~skysift.evaluate.report.build_report` /
    :func:`~skysift.evaluate.report.evaluate_model` / :func:`~skysift.study.paper.run_study`:
    ``title``, ``created``, ``metrics`` (headline numbers of the best model: ``test_auc``,
    ``test_auc_ci_low``/``_high``, ``test_macro_f1``, ``val_auc``, ...), ``models`` (the model table
    as records), ``dataset``, ``sections`` (each with ``id``, ``title``, ``text`` paragraphs (HTML
    allowed) and ``items``, see :func:`item_html`: tables as ``{"type": "table", "csv", "caption"}``,
    figures as ``{"type": "figure", "png", "svg", "caption", "width"}``), ``problems`` and ``files``;
    all paths relative to ``out_dir``. Tables are read from their CSV files and inlined, so the page
    needs nothing outside the directory.
    """
    from skysift import __version__

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = html.escape(str(results.get("title", "skysift report")))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{title}</title><style>{CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        (f"<p class='meta'>Generated {html.escape(str(results.get('created', '')))} by skysift {__version__}. "
         f"Probability threshold {results.get('threshold', '')}. Figures link to SVG versions; tables to CSV.</p>"),
    ]
    sections = list(results.get("sections", []))
    if results.get("problems"):
        parts.append("<div class='problems'><b>Problems while building this report:</b><ul>"
                     + "".join(f"<li>{html.escape(p)}</li>" for p in results["problems"]) + "</ul></div>")
    parts.append("<nav><ul>" + "".join(f"<li><a href='#{html.escape(s['id'])}'>{html.escape(s['title'])}</a></li>"
                                       for s in sections) + "<li><a href='#files'>Files</a></li></ul></nav>")
    for s in sections:
        parts.append(f"<section id='{html.escape(s['id'])}'><h2>{html.escape(s['title'])}</h2>")
        parts += [f"<p>{p}</p>" for p in s.get("text", [])]
        parts += [item_html(out, item) for item in s.get("items", [])]
        parts.append("</section>")
    files = list(results.get("files", []))
    listing = "".join(f"<li><a href='{html.escape(f)}'>{html.escape(f)}</a></li>" if (out / f).is_file()
                      else f"<li>{html.escape(f)}</li>" for f in files)
    parts.append("<section id='files'><h2>Files</h2><p>Everything in this directory (figures in PNG and SVG, "
                 f"tables in CSV, all numbers in metrics.json).</p><details><summary>All {len(files)} files"
                 f"</summary><ul class='files'>{listing}</ul></details></section></body></html>")
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(jsonable(dict(results)), indent=1))
    return path
