"""How sure is a ranking on goto3_xs? skysift against each peer, paired, with bootstrap intervals (issue 19).

From the stored protocol predictions (``benchmarks/results/predictions/goto3_xs/{method}/seed{r}.npz``, rotation r =
0, 1, 2; a variant from ``benchmarks/results/variants/``): for each n, the difference skysift - peer of the Hand &
Till AUC and of the macro F1 (each method's decisions at class weights fitted on its own validation predictions, as
:mod:`protocol` scores them), averaged over the three rotations as the protocol's means are. Its 95 % interval:
each rotation's test objects are resampled within each class (the same resample for both methods: paired), the
b-th resamples of the three rotations averaged, 1,000 times. An interval that holds 0 says the benchmark cannot
tell the two apart at that n.

    python benchmarks/peers/xs_paired.py                       # the default against every peer
    python benchmarks/peers/xs_paired.py --method skysift+net0.6
    python benchmarks/peers/xs_paired.py --data bts_types --peers features_brf   # another set's split seeds
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protocol import N_OBS, PREDICTIONS, ROOT, VARIANTS, n_key  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_paired.json"
ROTATIONS = (0, 1, 2)
PEERS = ("features_brf", "features_hgb", "supernnova", "skysift_paper")


def _load(method: str, rotation: int, data: str = "goto3_xs") -> dict | None:
    for base in (PREDICTIONS, VARIANTS):
        path = Path(base) / data / method / f"seed{rotation}.npz"
        if path.exists():
            return dict(np.load(path))
    return None


def _decisions(z: dict, key: str) -> np.ndarray:
    from skysift.evaluate.decision import fit_class_weights, weighted_decision

    classes = list(z["classes"].astype(str))
    y_val = np.array([classes.index(c) for c in z["val_labels"].astype(str)])
    return weighted_decision(z[f"test_{key}"], fit_class_weights(y_val, z[f"val_{key}"]))


def paired(method: str, peer: str, n_boot: int = 1000, seed: int = 0, data: str = "goto3_xs") -> dict | None:
    """{n: {metric: [mean difference, ci low, ci high]}} of ``method`` - ``peer`` over the rotations (split seeds of
    another set ``data``)."""
    from skysift.numeric import bootstrap_values, hand_till_auc, percentile_interval
    from protocol import _macro_f1

    runs = [(_load(method, r, data), _load(peer, r, data)) for r in ROTATIONS]
    if any(a is None or b is None for a, b in runs):
        return None
    out = {}
    for n in N_OBS:
        key = n_key(n)
        diffs, point = [], []
        for r, (a, b) in zip(ROTATIONS, runs):
            if list(a["test_ids"]) != list(b["test_ids"]) or list(a["classes"]) != list(b["classes"]):
                raise SystemExit(f"rotation {r}: {method} and {peer} were not scored on the same test objects")
            classes = list(a["classes"].astype(str))
            y = np.array([classes.index(c) for c in a["test_labels"].astype(str)])
            k = len(classes)
            pa, pb = a[f"test_{key}"], b[f"test_{key}"]
            da, db = _decisions(a, key), _decisions(b, key)

            def stat(idx, y=y, pa=pa, pb=pb, da=da, db=db, k=k):
                return (hand_till_auc(y[idx], pa[idx], k) - hand_till_auc(y[idx], pb[idx], k),
                        _macro_f1(y[idx], da[idx], k) - _macro_f1(y[idx], db[idx], k))

            point.append(stat(np.arange(len(y))))
            diffs.append(bootstrap_values(stat, y, n_boot=n_boot, seed=seed + r))
        mean_point = np.mean(point, axis=0)
        lo, hi = percentile_interval(np.mean(diffs, axis=0))
        out["all" if n is None else str(n)] = {m: [float(mean_point[j]), float(lo[j]), float(hi[j])]
                                               for j, m in enumerate(("hand_till_auc", "macro_f1"))}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="skysift")
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--data", default="goto3_xs", help="another set's split seeds 0, 1, 2 instead (keys get its name)")
    args = p.parse_args(argv)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for peer in args.peers.split(","):
        res = paired(args.method, peer, args.n_boot, data=args.data)
        if res is None:
            print(f"{args.method} - {peer}: predictions missing, skipped", file=sys.stderr)
            continue
        results[f"{args.method} - {peer}" + ("" if args.data == "goto3_xs" else f" ({args.data})")] = res
        for n, m in res.items():
            print(f"{args.method} - {peer:14s} n = {n:>3}: AUC {m['hand_till_auc'][0]:+.3f} "
                  f"[{m['hand_till_auc'][1]:+.3f}, {m['hand_till_auc'][2]:+.3f}]  macro F1 {m['macro_f1'][0]:+.3f} "
                  f"[{m['macro_f1'][1]:+.3f}, {m['macro_f1'][2]:+.3f}]", flush=True)
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
