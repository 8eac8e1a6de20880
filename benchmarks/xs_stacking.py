"""How the parts' probabilities are combined: the blend against a stacked model (issue 19; validation only).

For goto3_xs rotation r and seed index k (model seed r + 10 k): the default preset with ``lc_part=True`` is fitted
as in ``xs_ablation.py`` (the rotation's training objects outside one more held-out source per class; trees on
the training objects only), and every part's probabilities (network, boosted trees, forest, and the boosted trees
on the light-curve features and context alone) are cached for the rotation's validation objects (``val``: same
surveys) and the inner held-out sources (``inner_xs``: surveys no training object of that class came from) at
n = 1, 3, 6, all (``runs/xs_parts/r{r}_s{seed}.npz``). Test objects are never read.

Combiners, each judged on ``val`` (out of fold where it is fitted there) and on ``inner_xs``; macro F1 at class
weights fitted on ``val`` (``skysift.model.decisions.fit_class_weights``), Hand & Till AUC:

* ``blend`` -- the blend of the default before ``min_network_weight`` (network, boost, forest), weights and rule
  chosen on ``val`` (``choose_blend``, as ``fit`` does); ``blend+lc``, the same with the fourth part; ``blend,
  network >= m``: the network's weight at least m (``Classifier(min_network_weight=m)``);
* ``stack`` -- a multinomial logistic regression on the parts' log-probabilities and the range of n, class-balanced,
  fitted on ``val`` (5-fold out-of-fold predictions for ``val``; the model fitted on all of ``val`` for
  ``inner_xs``); ``stack+lc`` with the fourth part;
* each part alone;
* ``blend, network alone past novelty q``: the blend, but the network alone for the objects whose novelty score
  (the model's own) is above the ``q`` quantile of the validation objects' at the same n (caches made since the
  novelty score was added to them).

One JSON line per (rotation, seed) in ``benchmarks/results/xs_stacking.jsonl`` (resumable).

    OMP_NUM_THREADS=1 python benchmarks/xs_stacking.py --rotations 0,1,2 --seeds 0,1,2
    python benchmarks/xs_stacking.py --table
    python benchmarks/xs_stacking.py --out benchmarks/results/xs_stacking_gate.jsonl   # caches with the novelty score
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

from xs_ablation import INNER_XS_LEFT_OUT, N_OBS, finished, inner_sets  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_stacking.jsonl"
CACHE = ROOT / "runs" / "xs_parts"
PART_NAMES = ("network", "boost", "forest", "lcboost")
CRITERIA = ("val", "inner_xs")
#: The network's least weights in the blend tried (``Classifier(min_network_weight=...)``).
NETWORK_FLOORS = (0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
#: Quantiles of the validation objects' novelty score (the model's own, :meth:`Classifier.novelty_score`) past which
#: the network alone is taken (a gate that reads the blend's probabilities: measured here, not buildable as is).
NOVELTY_GATES = (0.75, 0.9)


def cache_parts(rotation: int, seed_index: int) -> Path:
    """Fit the model of (rotation, seed index) and cache its parts' probabilities (module docstring)."""
    import pandas as pd

    from peerlib import load_benchmark_data
    import unittest.mock

    from skysift.classifier import Classifier
    from skysift.model import parts as parts_module

    seed = rotation + 10 * seed_index
    path = CACHE / f"r{rotation}_s{seed}.npz"
    if path.exists():
        return path
    bd = load_benchmark_data("goto3_xs", cache=str(ROOT / "runs" / "goto3_xs"))
    train, val, inner, _ = inner_sets(bd.lcset, rotation)
    clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False, final_trees="train", lc_part=True)
    t0 = time.perf_counter()
    grown: dict = {}

    def keep(*a, **kw):  # every part as grown (fit drops a part whose blend weight is 0)
        grown.update(real(*a, **kw))
        return dict(grown)

    real = parts_module.grow_parts
    with unittest.mock.patch.object(parts_module, "grow_parts", keep):
        clf.fit(train, val)
    idx = pd.Index([str(c) for c in clf.classes_])
    arrays: dict[str, np.ndarray] = {"classes": np.array(list(idx)), "fit_seconds": np.array(time.perf_counter() - t0)}
    for crit, s in (("val", val), ("inner_xs", inner)):
        arrays[f"{crit}_y"] = idx.get_indexer(s.labels.astype(str))
        for i, n in enumerate(N_OBS):
            data = clf.prepare_arrays(s, max_observations=n)
            arrays[f"{crit}_{i}_lengths"] = np.asarray(data.lengths)
            for name, p in zip(PART_NAMES, clf.part_probabilities(data, grown)):
                arrays[f"{crit}_{i}_{name}"] = p
            arrays[f"{crit}_{i}_novelty"] = clf.novelty_score(s, max_observations=n)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def _features(parts: list[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """Stacker inputs: each part's log-probabilities and a one-hot of the blend's range of n."""
    from skysift.model.blend import BLEND_BUCKETS, blend_bucket

    onehot = np.eye(len(BLEND_BUCKETS) + 1)[blend_bucket(lengths)]
    return np.concatenate([np.log(np.maximum(p, 1e-4)) for p in parts] + [onehot], axis=1)


def _stack(y_val, x_val, x_other, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold val probabilities, probabilities of ``x_other`` from the model fitted on all of val)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    def model():
        return LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)

    oof = np.zeros((len(y_val), int(y_val.max()) + 1))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x_val, y_val):
        oof[te] = model().fit(x_val[tr], y_val[tr]).predict_proba(x_val[te])
    return oof, model().fit(x_val, y_val).predict_proba(x_other)


def scores(y: dict, probs: dict, k: int) -> dict:
    """{n: {criterion: {auc, macro_f1, f1 per class}}} of one combiner's probabilities (``probs``: criterion -> per n
    of :data:`N_OBS`; ``y``: criterion -> class codes), the class weights fitted on ``val`` at each n."""
    from sklearn.metrics import f1_score

    from skysift.model.decisions import fit_class_weights, weighted_decision
    from skysift.numeric import hand_till_auc

    out = {}
    for i, n in enumerate(N_OBS):
        w = fit_class_weights(y["val"], probs["val"][i])
        out["all" if n is None else str(n)] = {
            c: {"auc": float(hand_till_auc(y[c], probs[c][i], k)),
                "macro_f1": float(f1_score(y[c], weighted_decision(probs[c][i], w), labels=np.arange(k),
                                           average="macro", zero_division=0)),
                "f1": f1_score(y[c], weighted_decision(probs[c][i], w), labels=np.arange(k), average=None,
                               zero_division=0).round(4).tolist()}
            for c in CRITERIA}
    return out


def evaluate(path: Path) -> dict:
    """Every combiner's AUC and macro F1 at each n on val and inner_xs, from a cache file."""
    from skysift.model.blend import BLEND_RULES, choose_blend, blend_bucket, pool_probabilities

    z = np.load(path)
    k = len(z["classes"])
    y = {c: z[f"{c}_y"] for c in CRITERIA}
    views = {c: [(z[f"{c}_{i}_lengths"], [z[f"{c}_{i}_{p}"] for p in PART_NAMES]) for i in range(len(N_OBS))]
             for c in CRITERIA}
    probs: dict[str, dict[str, list[np.ndarray]]] = {}  # combiner -> criterion -> per n
    blends = [("blend", False, 0.0), ("blend+lc", True, 0.0)] + [(f"blend, network >= {m:g}", False, m)
                                                                 for m in NETWORK_FLOORS]
    for name, with_lc, floor in blends:
        present = {"boost": True, "forest": True, "lcboost": with_lc}
        used = {c: [(ln, pv if with_lc else pv[:3] + [None]) for ln, pv in views[c]] for c in CRITERIA}
        _, rule, table = choose_blend(y["val"], used["val"], k, present, BLEND_RULES, min_network=floor)
        probs[name] = {c: [pool_probabilities(table[blend_bucket(ln)], pv, rule) for ln, pv in used[c]]
                       for c in CRITERIA}
    seed = int(path.stem.split("_s")[1])
    for name, used in (("stack", 3), ("stack+lc", 4)):
        # one stacker for every n: the rows of all views of val stacked (each view's out-of-fold rows kept apart)
        xv = [_features(pv[:used], ln) for ln, pv in views["val"]]
        xi = [_features(pv[:used], ln) for ln, pv in views["inner_xs"]]
        yv = np.concatenate([y["val"]] * len(xv))
        oof, other = _stack(yv, np.concatenate(xv), np.concatenate(xi), seed)
        nv, ni = len(y["val"]), len(y["inner_xs"])
        probs[name] = {"val": [oof[i * nv:(i + 1) * nv] for i in range(len(xv))],
                       "inner_xs": [other[i * ni:(i + 1) * ni] for i in range(len(xi))]}
    for j, part in enumerate(PART_NAMES):
        probs[part] = {c: [pv[j] for _, pv in views[c]] for c in CRITERIA}
    if "val_0_novelty" in z.files:  # the blend, but the network alone past the q quantile of val's novelty score
        for q in NOVELTY_GATES:
            taus = [np.quantile(z[f"val_{i}_novelty"], q) for i in range(len(N_OBS))]
            probs[f"blend, network alone past novelty q{q:g}"] = {
                c: [np.where((z[f"{c}_{i}_novelty"] > taus[i])[:, None], probs["network"][c][i], probs["blend"][c][i])
                    for i in range(len(N_OBS))] for c in CRITERIA}
    rec = {"rotation": int(path.stem[1:].split("_")[0]), "seed": seed, "classes": z["classes"].tolist(),
           "combiners": {name: scores(y, pc, k) for name, pc in probs.items()}}
    if "val_0_novelty" in z.files:  # how well the novelty score tells inner_xs objects from val objects
        from sklearn.metrics import roc_auc_score

        rec["novelty_auroc_inner_xs_vs_val"] = [
            float(roc_auc_score(np.r_[np.zeros(len(y["val"])), np.ones(len(y["inner_xs"]))],
                                np.r_[z[f"val_{i}_novelty"], z[f"inner_xs_{i}_novelty"]])) for i in range(len(N_OBS))]
    return rec


def table(path: Path) -> str:
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    names = list(recs[0]["combiners"])
    lines = ["| combiner | criterion | AUC n = 1 / 3 / 6 / all | macro F1 n = 1 / 3 / 6 / all | runs |",
             "|---|---|---|---|---|"]
    for name in names:
        for c in CRITERIA:
            rs = [r for r in recs if c == "val" or r["rotation"] not in INNER_XS_LEFT_OUT]
            cells = [" / ".join(f"{np.mean([r['combiners'][name][n][c][m] for r in rs]):.3f}"
                                for n in ("1", "3", "6", "all")) for m in ("auc", "macro_f1")]
            lines.append(f"| {name} | {c} | {cells[0]} | {cells[1]} | {len(rs)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="0,1,2")
    p.add_argument("--seeds", default="0", help="seed indices k (model seed = rotation + 10 k)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--table", action="store_true", help="print the table of --out and stop")
    p.add_argument("--cache-only", action="store_true", help="fit and cache the parts, evaluate nothing")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.table:
        print(table(out))
        return 0
    done = finished(out, variant=False)
    for k in (int(x) for x in args.seeds.split(",")):
        for r in (int(x) for x in args.rotations.split(",")):
            if (r, r + 10 * k) in done and not args.cache_only:
                continue
            print(f"{time.strftime('%H:%M:%S')} rotation {r} seed {r + 10 * k}", file=sys.stderr, flush=True)
            path = cache_parts(r, k)
            if args.cache_only:
                continue
            rec = evaluate(path)
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
