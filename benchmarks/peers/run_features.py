"""The feature baselines (ALeRCE-like: light-curve features + HGB / balanced RF) under the fair protocol.

Each model is fitted twice on the training objects: on the light curves as they are, and on them
plus copies cut to their first 1, 3, 6 and 10 observations (:func:`protocol.prefix_copies`); the
variant with the better mean validation AUC over n = 1, 3, 6, 10, all is kept (its best fair
shot), and its validation and test probabilities at every n are written for :mod:`protocol`.

    python benchmarks/peers/run_features.py --data goto3 --seeds 0,1,2 --models hgb,brf
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features_baseline import fit_baseline, predict_proba  # noqa: E402
from peerlib import load_benchmark_data, split_sets  # noqa: E402
from protocol import N_OBS, n_key, prediction_path, prefix_copies, save_predictions, truncate  # noqa: E402

from skysift.train import multiclass_auc  # noqa: E402


def run_one(bd, seed: int, kind: str) -> Path:
    _, train, val, test = split_sets(bd.lcset, seed)
    val_views = {n_key(n): truncate(val, n) for n in N_OBS}
    test_views = {n_key(n): truncate(test, n) for n in N_OBS}
    best = None
    for variant in ("full", "prefix"):
        t0 = time.perf_counter()
        tr = train if variant == "full" else prefix_copies(train)
        base = fit_baseline(tr, model=kind, catalog=bd.galaxy_catalog, seed=seed)
        classes = list(base.classes_)
        y = np.array([classes.index(c) for c in val.labels.astype(str)])
        pv = {k: predict_proba(base, v) for k, v in val_views.items()}
        auc = float(np.mean([multiclass_auc(y, p) for p in pv.values()]))
        print(f"  {bd.name} seed {seed} features_{kind} [{variant}]: mean val AUC {auc:.4f} "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        if best is None or auc > best[0]:
            best = (auc, variant, base, pv)
    auc, variant, base, pv = best
    pt = {k: predict_proba(base, t) for k, t in test_views.items()}
    return save_predictions(bd.name, f"features_{kind}", seed, base.classes_, val.object_ids, val.labels,
                            test.object_ids, test.labels, pv, pt, variant=variant, mean_val_auc=auc,
                            model=base.model_name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--models", default="hgb,brf")
    p.add_argument("--cache", help="directory of the built set (default runs/DATA)")
    p.add_argument("--force", action="store_true", help="redo runs whose predictions exist")
    args = p.parse_args(argv)
    bd = load_benchmark_data(args.data, cache=args.cache or f"runs/{args.data}")
    bd.name = args.data
    for seed in (int(s) for s in args.seeds.split(",")):
        for kind in args.models.split(","):
            if prediction_path(args.data, f"features_{kind}", seed).exists() and not args.force:
                continue
            print(f"wrote {run_one(bd, seed, kind)}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
