"""Side-by-side Markdown table of result JSONs from skysift and the peers.

Each file holds one result record or a list of them (schema: ``benchmarks/peers/peerlib.py``):
``method``, ``dataset``, ``auc``, ``macro_f1``, ``minority_recall_at_1pct_fpr`` ({class: recall}),
``train_seconds``, ``predict_curves_per_s``, ``split_seed``. One table per data set; records on
different split seeds are listed separately (and flagged: they are not directly comparable).

Usage::

    python benchmarks/peers/compare.py results/*.json --out comparison.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peerlib import validate_record  # noqa: E402


def load_records(paths: list[str | Path]) -> list[dict]:
    out = []
    for p in paths:
        data = json.loads(Path(p).read_text())
        recs = data if isinstance(data, list) else [data]
        for r in recs:
            validate_record(r)
            r = dict(r)
            r.setdefault("_file", str(p))
            out.append(r)
    return out


def _fmt(x, digits=3) -> str:
    if x is None:
        return "-"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if x != x:
        return "n/a"
    return f"{x:.{digits}f}"


def _rate(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def markdown_table(records: list[dict], classes: list[str] | None = None) -> str:
    """Markdown tables, one per data set, best AUC first."""
    lines: list[str] = []
    by_data: dict[str, list[dict]] = {}
    for r in records:
        by_data.setdefault(str(r["dataset"]), []).append(r)
    for dataset in sorted(by_data):
        recs = sorted(by_data[dataset], key=lambda r: (r["split_seed"], -float(r["auc"])))
        present = sorted({c for r in recs for c in r["minority_recall_at_1pct_fpr"]})
        cls = [c for c in (classes or []) if c in present] or present
        seeds = sorted({r["split_seed"] for r in recs})
        lines.append(f"### {dataset}")
        lines.append("")
        if len(seeds) > 1:
            lines.append(f"Split seeds differ ({seeds}): compare rows of the same seed only.")
            lines.append("")
        head = ["method", "split seed", "AUC (H&T)", "macro F1"] + [f"recall@1%FPR {c}" for c in cls] + [
            "train s", "predict curves/s"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
        for r in recs:
            rec = r["minority_recall_at_1pct_fpr"]
            row = [str(r["method"]), str(r["split_seed"]), _fmt(r["auc"]), _fmt(r["macro_f1"])]
            row += [_fmt(rec.get(c)) for c in cls]
            row += [_fmt(r["train_seconds"], 1), _rate(r["predict_curves_per_s"])]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", help="result JSON files")
    p.add_argument("--classes", help="comma-separated classes to show recall for, where present (default: all)")
    p.add_argument("--out", help="also write the Markdown here")
    args = p.parse_args(argv)
    recs = load_records(args.results)
    md = markdown_table(recs, args.classes.split(",") if args.classes else None)
    print(md)
    if args.out:
        Path(args.out).write_text(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
