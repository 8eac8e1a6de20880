"""How much the tree parts gain from more training objects, on validation objects only.

The default model is fitted on a split's training objects (network, boosted trees, forest, blend
weights chosen on validation); its trees are then grown again on a stratified fraction of the same
training objects (:meth:`skysift.classifier.Classifier.refit_trees`, same network, blend weights
chosen again on validation), and both are scored on the validation objects. The slope tells whether
growing the final trees on training + validation objects (``final_trees="all"``, where the
validation objects can no longer score them) is worth doing. One JSON line per (fraction, seed) is
appended to ``--out``.

    python benchmarks/tree_learning_curve.py --data plasticc3 --seeds 0,1,2 \
        --out benchmarks/results/tree_learning_curve_plasticc3.jsonl
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from ablation import evaluate, finished, record  # noqa: E402
from peerlib import load_benchmark_data, split_sets  # noqa: E402


def stratified_fraction(lcset, fraction: float, seed: int):
    """A class-stratified random ``fraction`` of the set's objects."""
    from sklearn.model_selection import train_test_split

    ids = np.asarray(lcset.object_ids)
    keep, _ = train_test_split(ids, train_size=fraction, stratify=np.asarray(lcset.labels), random_state=seed)
    return lcset.subset(keep)


def main(argv: list[str] | None = None) -> None:
    from skysift.classifier import Classifier

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="benchmark set name (goto3, plasticc3, plasticc14) or directory")
    p.add_argument("--seeds", default="0", help="split seeds, comma-separated")
    p.add_argument("--fractions", default="0.5,0.7", help="fractions of the training objects for the trees")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    name = Path(args.data).name
    bd = load_benchmark_data(args.data, cache=args.data if Path(args.data).is_dir() else f"runs/{name}")
    done = finished(args.out)
    fractions = [float(f) for f in args.fractions.split(",")]
    for seed in (int(s) for s in args.seeds.split(",")):
        todo = [f for f in [1.0, *fractions] if (f"trees_on_{f:g}_of_train", seed) not in done]
        if not todo:
            continue
        _, train, val, _ = split_sets(bd.lcset, seed)
        clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False, final_trees="train")
        t0 = time.perf_counter()
        clf.fit(train, val)
        for f in todo:
            other = clf if f == 1.0 else copy.deepcopy(clf).refit_trees(stratified_fraction(train, f, seed), val)
            record(args.out, {"config": f"trees_on_{f:g}_of_train", "seed": seed, "fraction": f,
                              "params": {}, "best_epoch": clf.best_epoch_,
                              "train_seconds": time.perf_counter() - t0, "blend_rule": other.blend_rule_,
                              "blend_weights": other.blend_table().tolist(), "val": evaluate(other, val)})


if __name__ == "__main__":
    main()
