"""The drop from goto3 to goto3_xs, per method and n, from benchmarks/results/comparison.json (Markdown).

    python benchmarks/peers/xs_drop.py [--methods skysift,features_hgb]

goto3: mean over its split seeds; goto3_xs: each rotation with its bootstrap 95 % interval, then the mean
over the rotations present; drop = goto3 mean - goto3_xs mean (over the rotations present only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comparison import OUT  # noqa: E402

NS = ("1", "3", "6", "10", "all")


def drop_table(records: list[dict], methods: list[str], metric: str) -> str:
    """Rows: method x n; columns: goto3 mean, goto3_xs per rotation [95 % interval], xs mean, drop."""
    by: dict[tuple, list[dict]] = {}
    for r in records:
        by.setdefault((r["dataset"], r["method"], str(r["n_obs"])), []).append(r)
    rots = sorted({r["seed"] for r in records if r["dataset"] == "goto3_xs"})
    head = ["method", "n", "goto3 (mean of seeds)"] + [f"goto3_xs rotation {k}" for k in rots] + [
        "goto3_xs mean", "drop"]
    out = ["| " + " | ".join(head) + " |", "|---|---|" + "---|" * (len(head) - 2)]
    for m in methods:
        for n in NS:
            g = [r[metric] for r in by.get(("goto3", m, n), [])]
            xs = {r["seed"]: r for r in by.get(("goto3_xs", m, n), [])}
            if not xs:
                continue
            cells = [m, n, f"{np.mean(g):.3f}" if g else "-"]
            for k in rots:
                r = xs.get(k)
                ci = r.get(f"{metric}_ci95") if r else None
                cells.append("-" if r is None else f"{r[metric]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
            x = np.mean([r[metric] for r in xs.values()])
            cells += [f"{x:.3f} ({len(xs)} rot.)", f"{np.mean(g) - x:+.3f}" if g else "-"]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="skysift,features_hgb")
    args = p.parse_args(argv)
    records = json.loads(Path(OUT).read_text())
    methods = args.methods.split(",")
    for metric, title in (("hand_till_auc", "Hand & Till AUC"), ("macro_f1", "macro F1 (weights fitted on validation)")):
        print(f"{title}:\n\n{drop_table(records, methods, metric)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
