"""Where to choose the blend: on same-survey validation, or on sources held out of training (issue 19).

For goto3_xs rotation r: the default preset is fitted as in ``xs_ablation.py`` (the rotation's training
objects outside one more held-out source per class; epoch, temperature and decisions on the rotation's
validation objects outside it). The parts' probabilities (network, boosted trees, forest) are then read on
the rotation's validation objects (``val``: same surveys), on the inner held-out sources (``inner_xs``:
surveys no training object of that class came from) and on the rotation's test objects; the blend weights
and rule are chosen (``skysift.model.blend.choose_blend``) once on ``val`` and once on ``inner_xs``, and both
blends are scored on the test objects (Hand & Till AUC at n = 1, 3, 6, all; macro F1 at class weights fitted
on ``val`` at the same n, as the protocol does, and at weights fitted on ``inner_xs``). Test is read only for
those scores. One JSON line per rotation in benchmarks/results/xs_blend_choice.jsonl.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/xs_blend_choice.py --rotations 0,1
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

from peerlib import load_benchmark_data, split_sets  # noqa: E402
from xs_ablation import N_OBS, inner_sets  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_blend_choice.jsonl"


def parts(clf, lcset, n):
    """(lengths, [network, boost, forest] probabilities) of ``lcset`` after its first n observations."""
    data = clf.prepare_arrays(lcset, max_observations=n)
    return np.asarray(data.lengths), clf.part_probabilities(data)


def run(bd, rotation: int) -> dict:
    import pandas as pd

    from sklearn.metrics import f1_score

    from skysift.classifier import Classifier
    from skysift.model.blend import BLEND_RULES, blend_bucket, choose_blend, pool_probabilities
    from skysift.model.decisions import fit_class_weights, weighted_decision
    from skysift.numeric import hand_till_auc

    train, val, inner, held = inner_sets(bd.lcset, rotation)
    test = split_sets(bd.lcset, rotation)[3]
    t0 = time.perf_counter()
    clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=rotation, progress=False, final_trees="train")
    clf.fit(train, val)
    idx = pd.Index([str(c) for c in clf.classes_])
    sets = {"val": val, "inner_xs": inner, "test": test}
    y = {k: idx.get_indexer(s.labels.astype(str)) for k, s in sets.items()}
    views = {k: [parts(clf, s, n) for n in N_OBS] for k, s in sets.items()}
    present = {k: v is not None for k, v in clf.tree_parts().items()}
    rec = {"rotation": rotation, "held_inner": held, "fit_seconds": round(time.perf_counter() - t0, 1),
           "n": {k: len(v) for k, v in y.items()}, "chosen": {}, "test_auc": {}}

    def blended(table, rule):  # per set: the blend's probabilities at each n
        return {k: [pool_probabilities(table[blend_bucket(ln)], pv, rule) for ln, pv in v] for k, v in views.items()}

    def score(name, probs):
        rec["test_auc"][name], rec["test_macro_f1"][name], rec["test_macro_f1_inner_w"][name] = {}, {}, {}
        for i, n in enumerate(N_OBS):
            key = "all" if n is None else str(n)
            rec["test_auc"][name][key] = hand_till_auc(y["test"], probs["test"][i], len(idx))
            for out, where in (("test_macro_f1", "val"), ("test_macro_f1_inner_w", "inner_xs")):
                w = fit_class_weights(y[where], probs[where][i])  # decision weights fitted there
                rec[out][name][key] = float(f1_score(y["test"], weighted_decision(probs["test"][i], w),
                                                     labels=np.arange(len(idx)), average="macro", zero_division=0))

    rec["test_macro_f1"], rec["test_macro_f1_inner_w"] = {}, {}
    for where in ("val", "inner_xs"):
        _, rule, table = choose_blend(y[where], views[where], len(idx), present, BLEND_RULES)
        rec["chosen"][where] = {"rule": rule, "table": np.round(table, 2).tolist()}
        score(where, blended(table, rule))
    score("shipped blend", {k: [clf.predict_proba(s, max_observations=n) for n in N_OBS] for k, s in sets.items()})
    score("network alone", {k: [pv[0] for _, pv in v] for k, v in views.items()})
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="0,1")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    bd = load_benchmark_data("goto3_xs", cache=str(ROOT / "runs" / "goto3_xs"))
    for r in (int(x) for x in args.rotations.split(",")):
        rec = run(bd, r)
        print(json.dumps(rec), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
