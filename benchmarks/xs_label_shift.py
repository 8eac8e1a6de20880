"""Is goto3_xs's calibration gap a shift of the class mix? Every method's stored protocol predictions
(``benchmarks/results/predictions/goto3_xs``), recalibrated three ways, scored on test (issue 19, item 3).

* ``raw``: the probabilities as the method wrote them;
* ``bcts``: bias-corrected temperature scaling fitted on the method's own validation predictions at the
  same n (a temperature and per-class offsets, :func:`skysift.model.decisions.fit_calibration_codes`): the
  probabilities then carry the training sources' class mix;
* ``bcts+em``: then the class mix of the test objects estimated from their unlabelled probabilities by EM
  (Saerens, Latinne & Decaestecker 2002) and the probabilities moved to it (validation likewise to its own).

Macro F1 at class weights fitted on the (recalibrated) validation predictions, as the protocol does;
ECE = top-label expected calibration error, 15 bins. Nothing here is chosen on test: the three are
fixed recipes, reported side by side.

    python benchmarks/xs_label_shift.py        # prints the table, writes benchmarks/results/xs_label_shift.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "xs_label_shift.json"
METHODS = ("skysift", "features_hgb", "features_brf", "supernnova")
N_KEYS = ("1", "3", "6", "all")


def em_class_mix(p: np.ndarray, prior: np.ndarray, iters: int = 500, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``p`` (n, K) made under class mix ``prior`` moved to the mix that EM estimates from them
    (returns the moved probabilities and the estimated mix)."""
    pi = prior.copy()
    for _ in range(iters):
        q = p * (pi / prior)
        q /= q.sum(axis=1, keepdims=True)
        new = q.mean(axis=0)
        done = np.abs(new - pi).max() < tol
        pi = new
        if done:
            break
    q = p * (pi / prior)
    return q / q.sum(axis=1, keepdims=True), pi


def main() -> int:
    from sklearn.metrics import f1_score

    from skysift.evaluate.calibration import calibration_summary
    from skysift.model.decisions import fit_calibration_codes, fit_class_weights, weighted_decision
    from skysift.model.train import multiclass_auc
    from skysift.numeric import softmax

    records = []
    for method in METHODS:
        for path in sorted((ROOT / "benchmarks/results/predictions/goto3_xs" / method).glob("seed*.npz")):
            z = np.load(path)
            classes = [str(c) for c in z["classes"]]
            k = len(classes)
            yv = np.array([classes.index(str(c)) for c in z["val_labels"]])
            yt = np.array([classes.index(str(c)) for c in z["test_labels"]])
            for n in N_KEYS:
                lv, lt = (np.log(np.clip(z[f"{s}_{n}"], 1e-9, 1.0)) for s in ("val", "test"))
                t, b = fit_calibration_codes(lv, yv)
                cv, ct = softmax(lv / t + b), softmax(lt / t + b)
                mix = np.bincount(yv, minlength=k) / len(yv)
                views = {"raw": (np.exp(lv), np.exp(lt)), "bcts": (cv, ct),
                         "bcts+em": (em_class_mix(cv, mix)[0], em_class_mix(ct, mix)[0])}
                for name, (pv, pt) in views.items():
                    pv, pt = pv / pv.sum(1, keepdims=True), pt / pt.sum(1, keepdims=True)
                    pred = weighted_decision(pt, fit_class_weights(yv, pv))
                    records.append({
                        "method": method, "rotation": int(path.stem[4:]), "n": n, "recipe": name,
                        "hand_till_auc": multiclass_auc(yt, pt),
                        "macro_f1": float(f1_score(yt, pred, average="macro", labels=range(k), zero_division=0)),
                        "ece_top": float(calibration_summary(np.array(classes)[yt], pt, classes, 15)["ece_top"]),
                        "test_mix": (np.bincount(yt, minlength=k) / len(yt)).round(3).tolist()})
    OUT.write_text(json.dumps(records, indent=1))
    print("| method | recipe | n | AUC | macro F1 | ECE (mean) | ECE rotation 0 / 1 / 2 |\n|---|---|---|---|---|---|---|")
    for method in METHODS:
        for name in ("raw", "bcts", "bcts+em"):
            for n in N_KEYS:
                rs = sorted((r for r in records if (r["method"], r["recipe"], r["n"]) == (method, name, n)),
                            key=lambda r: r["rotation"])
                if rs:
                    m = {key: np.mean([r[key] for r in rs]) for key in ("hand_till_auc", "macro_f1", "ece_top")}
                    per = " / ".join(f"{r['ece_top']:.3f}" for r in rs)
                    print(f"| {method} | {name} | {n} | {m['hand_till_auc']:.3f} | {m['macro_f1']:.3f} | "
                          f"{m['ece_top']:.3f} | {per} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
