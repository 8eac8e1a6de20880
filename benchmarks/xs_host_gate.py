"""The host read only where the light curve allows it: a gate between a model that reads the nearest-galaxy
distance freely and one that does not read it (issue 19; goto3_xs validation objects only, test never read).

The feature peers owe much of their macro F1 to the galaxy distance used without bound: next to a galaxy they
call half the variable stars supernovae (``benchmarks/peers/peer_galaxy_test.py``). skysift's default passes the
galaxy test by training on copies at another class's distance (``context_mix=1``) and pays in macro F1. Here three
models are fitted side by side on a rotation's inner training objects (as ``xs_ablation.py`` fits them):

* ``host``: the galaxy distance as an input, no copies (``context_mix=0``; the former default);
* ``lc``: no galaxy distance (``galaxy_distance=False``): what the light curve (and l, b) say;
* ``default``: the shipped preset (distance with copies);

and combined per object: ``gate{t}`` takes the ``host`` model's probabilities where the ``lc`` model gives
P(SN) >= t, and the ``lc`` model's elsewhere, so that the host can only make a supernova of an object whose light
curve already allows one. ``cfgate{t}`` does the same with one model: the ``host`` model's probabilities where
the same model, shown the object with no galaxy near (the distance set to its dummy value: ``host_far``), gives
P(SN) >= t, and ``host_far``'s elsewhere. Scored as ``xs_ablation.py`` scores (val, inner_xs, and its galaxy test on the same 300
validation variable stars). One JSON line per (rotation, seed) in ``benchmarks/results/xs_host_gate.jsonl``.

    nice env OMP_NUM_THREADS=1 python benchmarks/xs_host_gate.py --rotations 0,1,2 --seeds 0
    python benchmarks/xs_host_gate.py --table
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from peerlib import load_benchmark_data  # noqa: E402
from xs_ablation import N_OBS, finished, galaxy_test, inner_sets, near_galaxy_set, scores  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_host_gate.jsonl"
GATES = (0.1, 0.25, 0.5)
MODELS = {"host": {"galaxy_distance": True, "context_mix": 0.0}, "lc": {"galaxy_distance": False}, "default": {}}


def gated(p_host: np.ndarray, p_lc: np.ndarray, sn: int, t: float) -> np.ndarray:
    """``p_host`` rows where ``p_lc[:, sn] >= t``, ``p_lc`` rows elsewhere."""
    return np.where((p_lc[:, sn] >= t)[:, None], p_host, p_lc)


def without_host(clf, lcset) -> pd.DataFrame:
    """The raw context ``clf`` computes for ``lcset`` with the nearest-galaxy distance set to the model's dummy
    value (no galaxy within the match radius): what the model would say if no galaxy were near."""
    ctx = clf.context_frame(lcset).reset_index(drop=True)
    ctx["galaxy_dist_arcsec"] = float(clf.context_config_.dummy_distance_arcsec)
    return ctx


def run(bd, rotation: int, seed_index: int) -> dict:
    from skysift.classifier import Classifier
    from skysift.model.decisions import fit_class_weights

    train, val, inner, held = inner_sets(bd.lcset, rotation)
    gal = near_galaxy_set(val, 300, seed=rotation)
    home = val.subset(gal.object_ids)
    seed = rotation + 10 * seed_index
    t0 = time.perf_counter()
    fitted = {}
    for name, kw in MODELS.items():
        clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False, final_trees="train", **kw)
        fitted[name] = clf.fit(train, val)
    classes = [str(c) for c in fitted["default"].classes_]
    idx = pd.Index(classes)
    y_val, y_in = idx.get_indexer(val.labels.astype(str)), idx.get_indexer(inner.labels.astype(str))
    sn = classes.index("SN")
    rec = {"rotation": rotation, "seed": seed, "held_inner": held, "by_n": {}}
    sets = {"val": val, "inner": inner, "gal": gal, "home": home}
    far = {s: without_host(fitted["host"], data) for s, data in sets.items()}
    for n in N_OBS:
        probs = {name: {s: clf.predict_proba(data, max_observations=n) for s, data in sets.items()}
                 for name, clf in fitted.items()}
        probs["host_far"] = {s: fitted["host"].predict_proba(data, max_observations=n, context=far[s])
                             for s, data in sets.items()}
        for t in GATES:
            probs[f"gate{t:g}"] = {s: gated(probs["host"][s], probs["lc"][s], sn, t) for s in sets}
            probs[f"cfgate{t:g}"] = {s: gated(probs["host"][s], probs["host_far"][s], sn, t) for s in sets}
        out = {}
        for name, p in probs.items():
            w = fit_class_weights(y_val, p["val"])
            out[name] = {"val": scores(y_val, p["val"], classes, w), "inner_xs": scores(y_in, p["inner"], classes, w),
                         **galaxy_test(p["gal"][:, sn], p["home"][:, sn], probs["lc"]["gal"][:, sn])}
        rec["by_n"]["all" if n is None else str(n)] = out
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def table(path: Path) -> str:
    rows = [json.loads(line) for line in path.open()]
    names = list(rows[0]["by_n"]["all"])
    ns = ["1", "3", "6", "all"]
    runs = ", ".join(f"({r['rotation']}, {r['seed']})" for r in rows)
    out = [f"runs: {len(rows)} ((rotation, seed): {runs}; inner_xs over rotations 0 and 1)", "",
           "| combination | val AUC n = 1 / 3 / 6 / all | val macro F1 | inner_xs AUC | inner_xs macro F1 | "
           "VS next to a galaxy called SN, n = 1 / all (at home) | ... although P(SN) < 0.25 at home, n = 1 / all |",
           "|---|---|---|---|---|---|---|"]

    def m(name, n, *keys):
        vals = []
        for r in rows:
            if keys[0] == "inner_xs" and r["rotation"] == 2:  # as xs_ablation.py: rotation 2's inner sources
                continue  # are rotation 1's test objects
            v = r["by_n"][n][name]
            for k in keys:
                v = v[k]
            vals.append(v)
        return float(np.mean(vals))

    for name in names:
        cells = [" / ".join(f"{m(name, n, crit, key):.3f}" for n in ns)
                 for crit, key in (("val", "hand_till_auc"), ("val", "macro_f1"), ("inner_xs", "hand_till_auc"),
                                   ("inner_xs", "macro_f1"))]
        g = (f"{m(name, '1', 'gal_p_sn_gt_0.5'):.2f} / {m(name, 'all', 'gal_p_sn_gt_0.5'):.2f} "
             f"({m(name, '1', 'home_p_sn_gt_0.5'):.2f} / {m(name, 'all', 'home_p_sn_gt_0.5'):.2f})")
        a = f"{m(name, '1', 'gal_sn_against_home'):.2f} / {m(name, 'all', 'gal_sn_against_home'):.2f}"
        out.append(f"| {name} | " + " | ".join(cells) + f" | {g} | {a} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="0,1,2")
    p.add_argument("--seeds", default="0", help="seed indices k (model seed = rotation + 10 k)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--table", action="store_true", help="print the markdown table of --out and stop")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.table:
        print(table(out))
        return 0
    bd = load_benchmark_data("goto3_xs", cache=str(ROOT / "runs" / "goto3_xs"))
    done = finished(out, variant=False)
    for k in (int(s) for s in args.seeds.split(",")):
        for rot in (int(r) for r in args.rotations.split(",")):
            if (rot, rot + 10 * k) in done:
                continue
            print(f"{time.strftime('%H:%M:%S')} rotation {rot} seed {rot + 10 * k}", file=sys.stderr, flush=True)
            rec = run(bd, rot, k)
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            a = rec["by_n"]["all"]
            print(f"{time.strftime('%H:%M:%S')}  " + "; ".join(
                f"{k2} val F1 {v['val']['macro_f1']:.3f} gal {v['gal_p_sn_gt_0.5']:.2f}" for k2, v in a.items()),
                file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
