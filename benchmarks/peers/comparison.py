"""One command for the peer comparison: score every prediction file, write comparison.json, render the tables.

    python benchmarks/peers/comparison.py                      # every data set
    python benchmarks/peers/comparison.py --datasets goto3_xs  # rescore one, keep the others' records

reads ``benchmarks/results/predictions/{dataset}/{method}/seed{s}.npz`` (written by
``run_skysift.py``, ``run_features.py`` and ``run_supernnova.py --protocol``), scores them all with
the same code (:func:`protocol.score_all`) and writes

* ``benchmarks/results/comparison.json``: a JSON list of records ``{"dataset", "method", "seed",
  "n_obs" (1, 3, 6, 10 or "all"), "hand_till_auc", "macro_f1", "recall_at_1pct_fpr": {class: value},
  ...}`` (plus per-class precision/recall/F1/AUC, Table 3 and, for plasticc14, the weighted log-loss);
* the tables of ``docs/results.md`` between the markers ``<!-- comparison:begin -->`` and
  ``<!-- comparison:end -->`` (mean ± standard deviation over the split seeds; a single seed's bootstrap 95 % interval where the
  records have one, see ``protocol.BOOTSTRAP``).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peerlib import XS_SETS  # noqa: E402
from protocol import ROOT, score_all  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "comparison.json"
DOC = ROOT / "docs" / "results.md"
BEGIN, END = "<!-- comparison:begin -->", "<!-- comparison:end -->"
ORDER = {"1": 0, "3": 1, "6": 2, "10": 3, "all": 4}


def _ms(values: list[float]) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.3f} ± {v.std():.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def _cell(rs: list[dict], metric: str) -> str:
    """mean ± sd over seeds; a single record with a bootstrap interval shows it: ``0.712 [0.690, 0.733]``."""
    ci = rs[0].get(f"{metric}_ci95") if len(rs) == 1 else None
    return _ms([r[metric] for r in rs]) + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def tables(records: list[dict]) -> str:
    """Markdown: per data set, methods x n for AUC and macro F1, then minority recall at 1 % FPR and
    per-class precision/recall/F1 at n = all."""
    by = defaultdict(list)
    for r in records:
        by[(r["dataset"], r["method"], str(r["n_obs"]))].append(r)
    out = []
    for ds in sorted({r["dataset"] for r in records}):
        methods = sorted({r["method"] for r in records if r["dataset"] == ds}, key=lambda m: (m != "skysift", m))
        ns = sorted({str(r["n_obs"]) for r in records if r["dataset"] == ds}, key=lambda n: ORDER.get(n, 9))
        seeds = sorted({r["seed"] for r in records if r["dataset"] == ds})
        kind = "source-held-out rotations" if ds in XS_SETS else "split seeds"
        out.append(f"### {ds} ({kind} {', '.join(map(str, seeds))}; mean ± sd)\n")
        for metric, title in (("hand_till_auc", "Hand & Till AUC"), ("macro_f1", "macro F1 (weights fitted on validation)")):
            out.append(f"{title}, by number of observations:\n")
            out.append("| method | " + " | ".join(f"n = {n}" for n in ns) + " |")
            out.append("|---|" + "---|" * len(ns))
            for m in methods:
                cells = [_cell(by[(ds, m, n)], metric) if by[(ds, m, n)] else "-" for n in ns]
                out.append(f"| {m} | " + " | ".join(cells) + " |")
            out.append("")
        rows = {m: by[(ds, m, "all")] for m in methods if by[(ds, m, "all")]}
        if rows:
            classes = sorted(next(iter(rows.values()))[0]["per_class"])
            out.append("At n = all: recall at 1 % FPR, and precision / recall / F1 per class (weights fitted on "
                       "validation)" + ("; PLAsTiCC weighted log-loss" if ds == "plasticc14" else "") + ":\n")
            head = ["method"] + [f"{c} rec@1%FPR" for c in classes] + [f"{c} P/R/F1" for c in classes]
            if ds == "plasticc14":
                head = ["method", "weighted log-loss"] + [f"{c} F1" for c in classes]
            out.append("| " + " | ".join(head) + " |")
            out.append("|---|" + "---|" * (len(head) - 1))
            for m, rs in rows.items():
                if ds == "plasticc14":
                    cells = [_ms([r["weighted_log_loss"] for r in rs])]
                    cells += [f"{np.mean([r['per_class'][c]['f1'] for r in rs]):.2f}" for c in classes]
                else:
                    cells = [f"{np.nanmean([r['recall_at_1pct_fpr'][c] for r in rs]):.3f}" for c in classes]
                    cells += ["/".join(f"{np.mean([r['per_class'][c][k] for r in rs]):.2f}"
                                       for k in ("precision", "recall", "f1")) for c in classes]
                out.append(f"| {m} | " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out)


def _with_peer_settings(records: list[dict]) -> list[dict]:
    """SuperNNova's records carry the settings it was run with and chosen by (epochs, class balance
    and both balances' mean validation AUC), from ``benchmarks/results/supernnova/{dataset}_seed{s}.json``."""
    for r in records:
        f = ROOT / "benchmarks" / "results" / "supernnova" / f"{r['dataset']}_seed{r['seed']}.json"
        if r["method"] == "supernnova" and f.exists():
            c = json.loads(f.read_text())
            r["settings"] = {k: c[k] for k in ("nb_epoch", "balance", "chosen_by", "mean_val_auc_by_balance",
                                               "epochs_run_by_balance") if k in c}
    return records


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", help="rescore only these data sets (comma-separated) and keep the other data "
                                      "sets' records of comparison.json as they are")
    args = p.parse_args(argv)
    only = tuple(args.datasets.split(",")) if args.datasets else None
    records = _with_peer_settings(score_all(datasets=only))
    if only is not None and OUT.exists():
        records = [r for r in json.loads(OUT.read_text()) if r["dataset"] not in only] + records
    if not records:
        print("no prediction files under benchmarks/results/predictions", file=sys.stderr)
        return 1
    OUT.write_text(json.dumps(records, indent=1))
    print(f"wrote {len(records)} records to {OUT}", file=sys.stderr)
    text = DOC.read_text() if DOC.exists() else ""
    block = f"{BEGIN}\n<!-- generated by: python benchmarks/peers/comparison.py -->\n\n{tables(records)}\n{END}"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text + "\n\n## Peer comparison (fair protocol)\n\n" + block + "\n"
    DOC.write_text(text)
    print(f"updated {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
