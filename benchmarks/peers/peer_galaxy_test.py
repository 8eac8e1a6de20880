"""The galaxy test of issue 19 for the feature peers: do they call a variable star a supernova because it
lies next to a galaxy?

For each goto3_xs rotation the peers (``features_baseline``: balanced forest and boosted trees, each fitted on
the light curves and their prefix copies, as :mod:`run_features` can choose) are fitted on the training objects
of :func:`xs_ablation.inner_sets` (the same objects skysift's validation ablation trains on), and read:

* ``val`` and ``inner_xs`` AUC and macro F1 (class weights fitted on ``val``), as ``xs_ablation.py`` scores them;
* the galaxy test of ``xs_ablation.py`` on the same 300 validation variable stars (``near_galaxy_set``, seed = the
  rotation): the share with P(SN) > 0.5 moved 1 arcsec from a random Mangrove galaxy, at their own positions, and
  called SN next to the galaxy although P(SN) < 0.25 at home.

One JSON line per (peer, rotation) to ``benchmarks/results/peer_galaxy_test.jsonl`` (resumable). Test objects
are never read.

    nice env OMP_NUM_THREADS=1 python benchmarks/peers/peer_galaxy_test.py --rotations 0,1,2
    python benchmarks/peers/peer_galaxy_test.py --table
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from features_baseline import fit_baseline, predict_proba  # noqa: E402
from peerlib import load_benchmark_data  # noqa: E402
from protocol import prefix_copies, truncate  # noqa: E402
from xs_ablation import N_OBS, galaxy_test, inner_sets, near_galaxy_set, scores  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "peer_galaxy_test.jsonl"


def run_peer(bd, kind: str, rotation: int, n_gal: int) -> dict:
    """Fit one peer on a rotation's inner training objects and score it (module docstring)."""
    from skysift.model.decisions import fit_class_weights

    train, val, inner, held = inner_sets(bd.lcset, rotation)
    gal = near_galaxy_set(val, n_gal, seed=rotation)
    home = val.subset(gal.object_ids)
    t0 = time.perf_counter()
    base = fit_baseline(prefix_copies(train), model=kind, catalog=bd.galaxy_catalog, seed=rotation)
    classes = [str(c) for c in base.classes_]
    idx = pd.Index(classes)
    y_val, y_in = idx.get_indexer(val.labels.astype(str)), idx.get_indexer(inner.labels.astype(str))
    sn = classes.index("SN")
    rec = {"method": f"features_{kind}", "rotation": rotation, "held_inner": held, "n_gal": len(gal.object_ids),
           "by_n": {}}
    for n in N_OBS:
        pv, pi = predict_proba(base, truncate(val, n)), predict_proba(base, truncate(inner, n))
        pg, ph = predict_proba(base, truncate(gal, n)), predict_proba(base, truncate(home, n))
        w = fit_class_weights(y_val, pv)
        rec["by_n"]["all" if n is None else str(n)] = {
            "val": scores(y_val, pv, classes, w), "inner_xs": scores(y_in, pi, classes, w),
            **galaxy_test(pg[:, sn], ph[:, sn])}
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def table(paths: list[Path]) -> str:
    """Markdown: per method, the mean over rotations of the galaxy test and the val / inner_xs figures (inner_xs
    over rotations 0 and 1: rotation 2's inner sources are rotation 1's test objects)."""
    rows = [json.loads(line) for p in paths if p.exists() for line in p.open()]
    methods = sorted({r.get("method", r.get("variant")) for r in rows})
    out = ["| method | runs | next to a galaxy P(SN) > 0.5, n = 1 / all | at home, n = 1 / all | called SN although P(SN) < 0.25 at home, "
           "n = 1 / all | val macro F1 n = 1 / all | inner_xs macro F1 n = 1 / all |",
           "|---|---|---|---|---|---|---|"]
    for m in methods:
        rs = [r for r in rows if r.get("method", r.get("variant")) == m]

        def mean(key, n, crit=None):  # inner_xs over rotations 0 and 1, as xs_ablation.py reads it
            use = [r for r in rs if crit != "inner_xs" or r["rotation"] != 2]
            return np.mean([(r["by_n"][n][crit][key] if crit else r["by_n"][n][key]) for r in use])

        out.append(f"| {m} | {len(rs)} | {mean('gal_p_sn_gt_0.5', '1'):.2f} / {mean('gal_p_sn_gt_0.5', 'all'):.2f} | "
                   f"{mean('home_p_sn_gt_0.5', '1'):.2f} / {mean('home_p_sn_gt_0.5', 'all'):.2f} | "
                   f"{mean('gal_sn_against_home', '1'):.2f} / {mean('gal_sn_against_home', 'all'):.2f} | "
                   f"{mean('macro_f1', '1', 'val'):.3f} / {mean('macro_f1', 'all', 'val'):.3f} | "
                   f"{mean('macro_f1', '1', 'inner_xs'):.3f} / {mean('macro_f1', 'all', 'inner_xs'):.3f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="0,1,2")
    p.add_argument("--models", default="brf,hgb")
    p.add_argument("--n-gal", type=int, default=300)
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--table", nargs="*", metavar="JSONL",
                   help="print the markdown table of --out (and of these xs_ablation files) and stop")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.table is not None:
        print(table([out, *map(Path, args.table)]))
        return 0
    bd = load_benchmark_data("goto3_xs", cache=str(ROOT / "runs" / "goto3_xs"))
    bd.name = "goto3_xs"
    done = {(r["method"], r["rotation"]) for r in map(json.loads, out.open())} if out.exists() else set()
    for rot in (int(r) for r in args.rotations.split(",")):
        for kind in args.models.split(","):
            if (f"features_{kind}", rot) in done:
                continue
            print(f"{time.strftime('%H:%M:%S')} features_{kind} rotation {rot}", file=sys.stderr, flush=True)
            rec = run_peer(bd, kind, rot, args.n_gal)
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            a = rec["by_n"]["all"]
            print(f"  galaxy P(SN)>0.5 {a['gal_p_sn_gt_0.5']:.2f} (home {a['home_p_sn_gt_0.5']:.2f}); val macro F1 "
                  f"{a['val']['macro_f1']:.3f} ({rec['seconds']} s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
