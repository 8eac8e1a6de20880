"""Ablation of the default model's parts, on validation objects only (never test).

Each configuration is the ``skysift`` preset with some hyperparameters changed (or the ``paper``
preset); every configuration is trained on the training objects of a split and scored on that
split's validation objects: Hand & Till AUC and macro F1 after the first n = 1, 3, 6, 10 and all
observations. One JSON line per (configuration, seed) is appended to ``--out`` as soon as it is
done, so an interrupted sweep keeps what it finished and a rerun skips it.

    python benchmarks/ablation.py --data runs/goto3 --seeds 0,1,2 --out benchmarks/results/ablation_goto3.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

#: name -> Classifier keyword arguments (on top of the skysift preset unless preset is given)
CONFIGS: dict[str, dict] = {
    "paper": {"preset": "paper", "epochs": 15},
    "skysift": {},
    "no_forest": {"forest": False},
    "no_boost": {"boost": False},
    "network_only": {"boost": False, "forest": False},
    # the network's own parts, measured without the trees (compare with network_only)
    "no_stats": {"stats": False, "boost": False, "forest": False},
    "no_prefix": {"prefix_augment": 0.0, "boost": False, "forest": False},
    "lr_1e-4_constant": {"lr": 1e-4, "lr_schedule": "constant"},
    "focal": {"loss": "focal"},
    "light_regularisation": {"dropout": 0.2, "l2": 0.001},
    "small": {"rnn_units": 32, "dense_units": 32, "boost": False, "forest": False},
    "max_length_100": {"max_length": 100},
    "no_band_stats": {"band_stats": False},
    "arithmetic_blend": {"blend": "arithmetic"},
    # the nearest-galaxy distance and its context copies (the default since issue 19)
    "no_context_mix": {"context_mix": 0.0},
    "no_gal_dist": {"galaxy_distance": False},
    "no_galactic": {"galactic": False},
    # the distance read without copies behind the host gate (skysift.model.host_gate)
    "host_gate0.1": {"context_mix": 0.0, "host_gate": 0.1},
    "host_gate0.1_hidden_copies": {"host_gate": 0.1},  # the preset's copies, made at no galaxy under the gate
}
N_OBS = (1, 3, 6, 10, None)


def evaluate(clf, lcset) -> dict:
    from sklearn.metrics import f1_score

    from skysift.train import multiclass_auc

    y = clf._encode_labels(lcset.labels, "validation")
    out = {}
    for n in N_OBS:
        p = clf.predict_proba(lcset, max_observations=n)
        key = "all" if n is None else str(n)
        out[key] = {"auc": multiclass_auc(y, p), "macro_f1": float(f1_score(y, p.argmax(1), average="macro"))}
    return out


#: Configurations that differ from the default only in the tree parts grown after the network: they
#: share its network (training it does not depend on the trees), so they are measured on the
#: default's own fit (:meth:`skysift.classifier.Classifier.refit_trees`), not trained again.
TREE_PARTS = {"no_forest": (True, False), "no_boost": (False, True), "network_only": (False, False)}


def finished(out: Path) -> set[tuple[str, int]]:
    """(configuration, seed) pairs already in the results file ``out``."""
    if not out.exists():
        return set()
    return {(r["config"], r["seed"]) for r in map(json.loads, out.read_text().splitlines())}


def record(out: Path, rec: dict) -> None:
    """Append one result line to ``out`` (JSON lines)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        f.write(json.dumps(rec) + "\n")
    v = rec["val"]
    print(f"{rec['config']} seed {rec['seed']}: " + ", ".join(
        f"n={k} AUC {v[k]['auc']:.3f} F1 {v[k]['macro_f1']:.3f}" for k in v), file=sys.stderr, flush=True)


def record_tree_parts(clf, train, val, seed: int, out: Path, done: set | frozenset = frozenset()) -> None:
    """Rows of :data:`TREE_PARTS` from a fitted default model (a copy of it gets the other trees)."""
    import copy

    for name, (boost, forest) in TREE_PARTS.items():
        if (name, seed) in done:
            continue
        t0 = time.perf_counter()
        other = copy.deepcopy(clf).refit_trees(train, val, boost=boost, forest=forest)
        record(out, {"config": name, "seed": seed, "params": CONFIGS[name], "best_epoch": clf.best_epoch_,
                     "train_seconds": time.perf_counter() - t0, "same_network_as": "skysift",
                     "blend_rule": other.blend_rule_, "blend_weights": other.blend_table().tolist(),
                     "val": evaluate(other, val)})


def _mean_sd(values: list[float]) -> str:
    """``mean ± sd`` over seeds (the mean alone for one seed)."""
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{np.mean(values):.3f}"


def table(path: Path) -> str:
    """Markdown: validation AUC (and macro F1 at the arg-max) per configuration and n, mean over seeds."""
    rows: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        rows.setdefault(r["config"], []).append(r)
    keys = ["1", "3", "6", "10", "all"]
    out = ["| configuration | change from the default | seeds | " + " | ".join(f"AUC n={k}" for k in keys)
           + " | mean AUC (± sd over seeds) | macro F1 (arg-max) n=all | best epoch |", "|---|---|---|" + "---|" * (len(keys) + 3)]
    for name in CONFIGS:
        if name not in rows:
            continue
        rs = rows[name]
        aucs = [np.mean([r["val"][k]["auc"] for r in rs]) for k in keys]
        out.append(f"| {name} | {json.dumps(CONFIGS[name]) if CONFIGS[name] else '-'} | "
                   f"{','.join(str(r['seed']) for r in rs)} | " + " | ".join(f"{a:.3f}" for a in aucs)
                   + f" | {_mean_sd([np.mean([r['val'][k]['auc'] for k in keys]) for r in rs])} | "
                   f"{np.mean([r['val']['all']['macro_f1'] for r in rs]):.3f} | "
                   f"{','.join(str(r['best_epoch']) for r in rs)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset name or saved directory")
    ap.add_argument("--seeds", default="0", help="split seeds, comma-separated")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="configurations, comma-separated")
    ap.add_argument("--out", required=True, help="JSON-lines results file (appended)")
    ap.add_argument("--table", action="store_true", help="print the Markdown table of --out and exit")
    args = ap.parse_args(argv)
    if args.table:
        print(table(Path(args.out)))
        return 0

    from skysift.classifier import Classifier
    from skysift.datasets import load_dataset
    from skysift.splits import split_lightcurves

    ds = load_dataset(args.data)
    out = Path(args.out)
    done = finished(out)
    for seed in [int(s) for s in args.seeds.split(",")]:
        _, train, val, _ = split_lightcurves(ds.lcset, seed=seed)
        for name in args.configs.split(","):
            with_default = "skysift" in args.configs.split(",") and ("skysift", seed) not in done
            if (name, seed) in done or (name in TREE_PARTS and with_default):
                continue  # tree-part rows come with the default's own fit
            kw = dict(CONFIGS[name])
            # trees on the training objects only: the validation objects score every configuration
            clf = Classifier(galaxy_catalog=ds.galaxy_catalog, seed=seed, progress=False, log_epochs=True,
                             **{"final_trees": "train", **kw})
            t0 = time.perf_counter()
            clf.fit(train, val)
            record(out, {"config": name, "seed": seed, "params": kw, "best_epoch": clf.best_epoch_,
                         "train_seconds": time.perf_counter() - t0,
                         "blend_rule": clf.blend_rule_, "blend_weights": clf.blend_table().tolist(),
                         "val": evaluate(clf, val)})
            if name == "skysift":
                record_tree_parts(clf, train, val, seed, out, done)
                done |= {(k, seed) for k in TREE_PARTS}
    return 0


if __name__ == "__main__":
    sys.exit(main())
