"""goto3_xs: would the feature peers' light-curve features add to skysift? (issue 19; a measurement, nothing built)

From the stored protocol predictions (``benchmarks/results/predictions/goto3_xs`` and the ``galactic=False``
variant's under ``benchmarks/results/variants/goto3_xs``; seconds): the class probabilities of two methods
averaged, class weights for the decisions fitted on the average's validation predictions as the protocol does,
scored on test (Hand & Till AUC and macro F1, mean of the 3 rotations) at n = 1, 3, 6, 10, all. Also, per method and
rotation at n = all, which test objects are called SN wrongly (true class and fine label), the diagnosis of where
skysift's macro F1 gap lies. Writes ``benchmarks/results/xs_peer_blend.json`` and prints a table.

    python benchmarks/xs_peer_blend.py
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "xs_peer_blend.json"
N_KEYS = ("1", "3", "6", "10", "all")
COMBOS = (("features_hgb",), ("features_brf",), ("skysift",), ("skysift+nogalactic",),
          ("skysift", "features_hgb"), ("skysift+nogalactic", "features_hgb"), ("skysift", "features_brf"),
          ("skysift+nogalactic", "features_brf"), ("features_hgb", "features_brf"))


def load(method: str, rotation: int) -> dict:
    kind = "variants" if "+" in method else "predictions"
    with np.load(ROOT / "benchmarks" / "results" / kind / "goto3_xs" / method / f"seed{rotation}.npz",
                 allow_pickle=True) as z:
        return {k: z[k] for k in z.files}


def codes(z: dict, split: str) -> np.ndarray:
    classes = [str(c) for c in z["classes"]]
    return np.array([classes.index(str(c)) for c in z[f"{split}_labels"]])


def score(methods: tuple[str, ...], n: str) -> tuple[float, float]:
    from xs_ablation import auc_and_macro_f1

    from skysift.model.decisions import fit_class_weights

    out = []
    for rotation in (0, 1, 2):
        zs = [load(m, rotation) for m in methods]
        for z in zs[1:]:
            if list(z["test_ids"]) != list(zs[0]["test_ids"]) or list(z["classes"]) != list(zs[0]["classes"]):
                raise SystemExit(f"{methods}: rotation {rotation}'s objects or classes differ")
        yv, yt = codes(zs[0], "val"), codes(zs[0], "test")
        pv = np.mean([z[f"val_{n}"] for z in zs], axis=0)
        pt = np.mean([z[f"test_{n}"] for z in zs], axis=0)
        r = auc_and_macro_f1(yt, pt, fit_class_weights(yv, pv))
        out.append((r["auc"], r["macro_f1"]))
    return tuple(float(x) for x in np.mean(out, axis=0))


def wrong_sn_calls(method: str, fine: dict) -> list[dict]:
    from skysift.model.decisions import fit_class_weights, weighted_decision

    rows = []
    for rotation in (0, 1, 2):
        z = load(method, rotation)
        classes = [str(c) for c in z["classes"]]
        yv, yt = codes(z, "val"), codes(z, "test")
        pred = weighted_decision(z["test_all"], fit_class_weights(yv, z["val_all"]))
        sn = classes.index("SN")
        wrong = (pred == sn) & (yt != sn)
        kinds = collections.Counter(f"{classes[c]}/{fine.get(str(i), '?')}" for c, i in zip(yt[wrong], z["test_ids"][wrong]))
        rows.append({"method": method, "rotation": rotation, "sn_calls": int((pred == sn).sum()),
                     "wrong": int(wrong.sum()), "sn_recall": float(((pred == sn) & (yt == sn)).sum() / max((yt == sn).sum(), 1)),
                     "wrong_by_kind": dict(kinds.most_common(6))})
    return rows


def main() -> int:
    import pandas as pd

    table = {" + ".join(c): {n: score(c, n) for n in N_KEYS} for c in COMBOS}
    print("| probabilities averaged | AUC n = 1 / 3 / 6 / 10 / all | macro F1 n = 1 / 3 / 6 / 10 / all |\n|---|---|---|")
    for name, s in table.items():
        print(f"| {name} | " + " / ".join(f"{s[n][0]:.3f}" for n in N_KEYS) + " | "
              + " / ".join(f"{s[n][1]:.3f}" for n in N_KEYS) + " |")
    objects = ROOT / "runs" / "goto3_xs" / "objects.parquet"
    diagnosis = []
    if objects.exists():  # the fine labels of the built set (benchmarks/peers/run_*.py --data goto3_xs builds it)
        o = pd.read_parquet(objects)
        fine = dict(zip(o["object_id"].astype(str), o["fine_label"].astype(str)))
        for m in ("skysift", "skysift+nogalactic", "features_hgb"):
            diagnosis += wrong_sn_calls(m, fine)
        for r in diagnosis:
            print(f"{r['method']:<20} rotation {r['rotation']}: {r['sn_calls']} SN calls, {r['wrong']} wrong, "
                  f"SN recall {r['sn_recall']:.2f}; wrong: {r['wrong_by_kind']}")
    else:
        print(f"{objects} missing: the wrong-SN diagnosis is skipped", file=sys.stderr)
    OUT.write_text(json.dumps({"blends": table, "wrong_sn_calls": diagnosis}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
