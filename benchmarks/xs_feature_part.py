"""goto3_xs validation: do the feature peers' light-curve features add to skysift across surveys? (issue 19)

The question `benchmarks/xs_peer_blend.py` raised from test predictions, asked where a choice may be made: on
validation objects only (test is never read), with the inner held-out sources of :mod:`xs_ablation` (each
rotation's training + validation pool, one more source per class held out: ``inner_xs``, surveys no training
object of that class came from). Per rotation: skysift (the default, and ``galactic=False``) fitted on the
rotation's training objects outside the inner sources (epochs, calibration, blend chosen on its validation objects
outside them; trees on the training objects only), and the boosting peer (``features_baseline`` ``hgb``: the
``light-curve`` package's features + context, HistGradientBoosting, class-balanced) fitted on the same training
objects. Their probabilities are averaged with weight w on skysift (w = 1: skysift alone, 0: the peer alone);
class weights for the decisions fitted on ``val``; Hand & Till AUC and macro F1 on ``val`` and ``inner_xs`` at n = 1,
3, 6, all. One JSON line per (rotation, seed) in ``benchmarks/results/xs_feature_part.jsonl`` (resumable).

    OMP_NUM_THREADS=1 python benchmarks/xs_feature_part.py --rotations 0,1,2 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from features_baseline import fit_baseline, predict_proba  # noqa: E402
from peerlib import load_benchmark_data  # noqa: E402
from protocol import truncate  # noqa: E402
from xs_ablation import auc_and_macro_f1, finished, inner_sets  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_feature_part.jsonl"
N_OBS = (1, 3, 6, None)
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
SKYSIFT = {"default": {}, "nogalactic": {"galactic": False}}


def run(bd, rotation: int, seed_index: int) -> dict:
    from skysift.classifier import Classifier
    from skysift.model.decisions import fit_class_weights

    train, val, inner, held = inner_sets(bd.lcset, rotation)
    seed = rotation + 10 * seed_index
    t0 = time.perf_counter()
    peer = fit_baseline(train, model="hgb", catalog=bd.galaxy_catalog, seed=seed)
    classes = [str(c) for c in peer.classes_]
    y_val = np.array([classes.index(c) for c in val.labels.astype(str)])
    y_in = np.array([classes.index(c) for c in inner.labels.astype(str)])
    views = {n: (truncate(val, n), truncate(inner, n)) for n in N_OBS}
    peer_p = {n: (predict_proba(peer, v), predict_proba(peer, i)) for n, (v, i) in views.items()}
    rec = {"rotation": rotation, "seed": seed, "held_inner": held, "n_val": len(y_val), "n_inner": len(y_in),
           "results": {}}
    for name, kw in SKYSIFT.items():
        clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False, final_trees="train", **kw)
        clf.fit(train, val)
        if [str(c) for c in clf.classes_] != classes:
            raise SystemExit(f"class order differs: {clf.classes_} against {classes}")
        for n in N_OBS:
            sv, si = clf.predict_proba(val, max_observations=n), clf.predict_proba(inner, max_observations=n)
            pv, pi = peer_p[n]
            key = "all" if n is None else str(n)
            for w in WEIGHTS:
                bv, bi = w * sv + (1 - w) * pv, w * si + (1 - w) * pi
                cw = fit_class_weights(y_val, bv)
                rec["results"].setdefault(name, {}).setdefault(f"w{w:g}", {})[key] = {
                    "val": auc_and_macro_f1(y_val, bv, cw), "inner_xs": auc_and_macro_f1(y_in, bi, cw)}
        print(f"rotation {rotation} seed {seed} {name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
              flush=True)
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def summary(path: Path) -> str:
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keys = ("1", "3", "6", "all")
    lines = [f"{len(recs)} (rotation, seed) runs; mean over them; columns n = 1 / 3 / 6 / all",
             "| skysift | weight on skysift | val AUC | val macro F1 | inner_xs AUC | inner_xs macro F1 |",
             "|---|---|---|---|---|---|"]
    for name in SKYSIFT:
        for w in WEIGHTS:
            cells = []
            for crit in ("val", "inner_xs"):
                for metric in ("auc", "macro_f1"):
                    vals = [np.mean([r["results"][name][f"w{w:g}"][k][crit][metric] for r in recs]) for k in keys]
                    cells.append(" / ".join(f"{v:.3f}" for v in vals))
            lines.append(f"| {name} | {w:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="0,1,2")
    p.add_argument("--seeds", default="0", help="seed indices (seed = rotation + 10 x index)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--summary", action="store_true", help="print the table of the runs so far and stop")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.summary:
        print(summary(out))
        return 0
    done = finished(out, variant=False)
    bd = load_benchmark_data("goto3_xs", cache=ROOT / "runs" / "goto3_xs")
    bd.name = "goto3_xs"
    for si in (int(s) for s in args.seeds.split(",")):
        for rotation in (int(r) for r in args.rotations.split(",")):
            if (rotation, rotation + 10 * si) in done:
                continue
            rec = run(bd, rotation, si)
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
    print(summary(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
