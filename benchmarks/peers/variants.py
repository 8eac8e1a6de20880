"""Variants of skysift's default under the fair protocol, beside the default and the best peer.

    python benchmarks/peers/variants.py                 # every variant under benchmarks/results/variants/

``run_skysift.py --host-prior K`` writes a variant's predictions under ``benchmarks/results/variants/``
(not a peer: ``comparison.py`` and the scoreboard do not read them). This scores them with the protocol's
own code (:func:`protocol.score_all`), prints per data set and n the mean over seeds of Hand & Till AUC,
macro F1 and ECE for the variant, the default (``skysift`` in comparison.json) and the best peer, and writes
``benchmarks/results/variants.json``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protocol import ROOT, VARIANTS, score_all  # noqa: E402

COMPARISON = ROOT / "benchmarks" / "results" / "comparison.json"
OUT = ROOT / "benchmarks" / "results" / "variants.json"
METRICS = ("hand_till_auc", "macro_f1", "ece_top")


def _means(records: list[dict]) -> dict:
    """{(dataset, method, n): {metric: mean over seeds, "seeds": k}}."""
    groups: dict = defaultdict(list)
    for r in records:
        groups[(r["dataset"], r["method"], str(r["n_obs"]))].append(r)
    return {k: {**{m: float(np.mean([r[m] for r in rs if r.get(m) is not None])) if any(r.get(m) is not None
                                                                                      for r in rs) else None
                   for m in METRICS}, "seeds": len(rs)} for k, rs in groups.items()}


def validation_scores(root: Path, dataset: str, method: str) -> dict:
    """{n: (Hand & Till AUC, arg-max macro F1)} on the validation objects, means over the seeds' files (the
    criterion a variant is chosen by; its test figures are only reported)."""
    from sklearn.metrics import f1_score

    from skysift.numeric import hand_till_auc

    out: dict = defaultdict(list)
    for path in sorted((root / dataset / method).glob("seed*.npz")):
        z = np.load(path, allow_pickle=False)
        classes = [str(c) for c in z["classes"]]
        y = np.array([classes.index(str(c)) for c in z["val_labels"]])
        for key in z.files:
            if key.startswith("val_") and key not in ("val_ids", "val_labels"):
                p = z[key]
                out[key[4:]].append((hand_till_auc(y, p, len(classes)),
                                     f1_score(y, p.argmax(1), labels=range(len(classes)), average="macro", zero_division=0)))
    return {n: tuple(np.mean(v, axis=0)) for n, v in out.items()}


def main() -> int:
    variants = score_all(root=VARIANTS)
    if not variants:
        print(f"no variant predictions under {VARIANTS}", file=sys.stderr)
        return 1
    base = json.loads(COMPARISON.read_text()) if COMPARISON.exists() else []
    mv, mb = _means(variants), _means(base)
    rows = []
    for (ds, method, n), v in sorted(mv.items(), key=lambda t: (t[0][0], t[0][1], ["1", "3", "6", "10", "all"].index(t[0][2]))):
        default = mb.get((ds, "skysift", n), {})
        peers = {m: x for (d, m, k), x in mb.items() if d == ds and k == n and m != "skysift"}
        best = {met: max(((m, x[met]) for m, x in peers.items() if x.get(met) is not None), key=lambda t: t[1],
                         default=(None, None)) for met in ("hand_till_auc", "macro_f1")}
        rows.append({"dataset": ds, "method": method, "n_obs": n, "variant": v, "default": default,
                     "best_peer": {met: {"method": m, "value": val} for met, (m, val) in best.items()}})
    print(f"{'dataset':<10} {'variant':<16} {'n':>4} | {'AUC var / def / best peer':>30} | {'macro F1 var / def / best peer':>34} | ECE var / def")
    for r in rows:
        v, d, b = r["variant"], r["default"], r["best_peer"]
        f = lambda x: "  -  " if x is None else f"{x:.3f}"  # noqa: E731
        print(f"{r['dataset']:<10} {r['method']:<16} {r['n_obs']:>4} | {f(v['hand_till_auc'])} / {f(d.get('hand_till_auc'))} / "
              f"{f(b['hand_till_auc']['value'])} {b['hand_till_auc']['method'] or ''} | {f(v['macro_f1'])} / "
              f"{f(d.get('macro_f1'))} / {f(b['macro_f1']['value'])} {b['macro_f1']['method'] or ''} | "
              f"{f(v['ece_top'])} / {f(d.get('ece_top'))}  ({v['seeds']} seeds)")
    from protocol import PREDICTIONS

    print("\nvalidation objects (the criterion): AUC / arg-max macro F1, variant vs default")
    for ds, method in sorted({(r["dataset"], r["method"]) for r in rows}):
        v, d = validation_scores(VARIANTS, ds, method), validation_scores(PREDICTIONS, ds, "skysift")
        for n in ("1", "3", "6", "10", "all"):
            if n in v and n in d:
                print(f"{ds:<10} {method:<16} {n:>4} | {v[n][0]:.3f} / {d[n][0]:.3f} | {v[n][1]:.3f} / {d[n][1]:.3f}")
                for r in rows:
                    if (r["dataset"], r["method"], r["n_obs"]) == (ds, method, n):
                        r["validation"] = {"variant": list(v[n]), "default": list(d[n])}
    OUT.write_text(json.dumps(rows, indent=1))
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
