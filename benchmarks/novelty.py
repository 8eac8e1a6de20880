"""Novelty score: which score tells real classes outside VS / SN / AGN from the known ones (issue 21, item 3).

The goto3 model (``Classifier(preset="skysift")``, split seed 0, trees grown on the training objects
only so that validation is out of sample; one model per ``--seeds`` seed, trained with ``--train``
and kept under ``runs/novelty/``) never sees a novel object. The novel set
(:func:`skysift.benchsets.novel.build_novel`: BTS novae, TDEs and other non-SN transients, Open TDE
Catalog TDEs, MANTRA CVs and flares, OSC 2020-2024 XRBs/CVs/...) goes through goto3's emulation.

Candidates (each fitted on the goto3 *training* objects' rows, at n = 3, 6, 10 and all observations),
:class:`skysift.model.novelty_scorer.NoveltyScorer` (``mahalanobis`` with groups class x n, ``knn``,
``iforest``) on: the tree parts' inputs (``tree``: last step's scaled statistics and context), the same
without the nuisance columns (``phys``: no time step, magnitude, errors, Galactic longitude), the
network's last dense layer (``dense``), the probabilities (``proba``) and joins of these; and two
scores of the probabilities alone (``1 - max p``, entropy). Features are cached in
runs/novelty/cache/ (cleared for a seed when ``--train`` trains it again).

Choice on VALIDATION: half of the novel objects (stratified by class, ``--splits`` seeds) against the
goto3 validation objects; the candidate with the best mean AUROC over n = 3, 6, all (mean over model
seeds and novel splits) is chosen. Test: the other half against the goto3 test objects: AUROC at n = 3,
6, all and the share of novel objects among the top 1 % of scores (known = all goto3 test objects, so
the proportions are the real ones). Prints a table, writes benchmarks/results/novelty.json.

    OMP_NUM_THREADS=1 python benchmarks/novelty.py --train --seeds 0,1,2 --splits 0,1,2

Recipes (``--recipes``; writes benchmarks/results/novelty_recipes.json): the classifier's own novelty
score (:class:`skysift.model.novelty.NoveltyRecipe`, computed by the model's code) for each recipe of
:data:`RECIPE_CANDIDATES`: the isolation forest on the tree inputs without the nuisance columns (``phys``)
or also without :data:`~skysift.model.novelty.REDUNDANT_COLUMNS` (``lean``), fitted at n = 3, 6, 10, all
or at all only, and the score after n observations taken as the last step's score, the mean of the
scores after each observation, or their exponentially weighted mean (alpha 0.3); then variations of
``lean|all|ewm`` (one isolation forest per class, more trees or rows per tree, kNN, the uncertainty
``1 - max p`` added to each step's score, other alphas, without the cadence column); then (third round)
``lean-gap|all|ewm|u0.1`` plus an outburst term (the newest point brighter than the weighted mean,
``|b{weight}s{sigma}``, or than the previous point, ``|r{weight}s{sigma}``: :mod:`skysift.model.novelty_stats`);
the same rule chooses, run once per emulation (``--novel-seed 0..3``) and averaged over them (docs/results.md).
``--only REGEX`` scores the recipes whose names match; ``--out`` names the result file (the third round's:
``benchmarks/results/novelty_recipes3_novelseed{E}.json``).

Selection (``--select``): the backward elimination that found ``REDUNDANT_COLUMNS``: from the
``phys+proba/iforest`` inputs, drop the column whose removal raises the mean validation AUROC (model
seed 0, novel splits as given) most, while it rises by more than 0.001.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from peerlib import load_benchmark_data, split_sets
from protocol import n_key

RUNS = ROOT / "runs" / "novelty"
OUT = ROOT / "benchmarks" / "results" / "novelty.json"
#: Numbers of first observations evaluated (None: all), and those the scorers learn from.
EVAL_N: tuple[int | None, ...] = (3, 6, None)
FIT_N: tuple[int | None, ...] = (3, 6, 10, None)
TOP_FRACTION = 0.01


def model_path(seed: int, runs: Path = RUNS) -> Path:
    return runs / f"goto3_s{seed}.skysift.pt"


def train_model(bd, seed: int, runs: Path = RUNS) -> Path:
    """The goto3 model for one seed (split seed 0; trees on the training objects only), saved under ``runs``."""
    from skysift.model.estimator import Classifier

    _, train, val, _ = split_sets(bd.lcset, 0)
    clf = Classifier(preset="skysift", galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False,
                     final_trees="train", num_threads=1)
    t0 = time.perf_counter()
    clf.fit(train, val)
    print(f"trained seed {seed} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    runs.mkdir(parents=True, exist_ok=True)
    for old in (runs / "cache").glob(f"s{seed}_*.npz"):  # features of a former model of this seed
        old.unlink()
    return clf.save(model_path(seed, runs))


def novel_halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Validation and test masks: each novel class split in half at random (an odd one out goes to
    either side with equal chance)."""
    rng = np.random.default_rng(seed)
    val = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = len(idx) // 2 + (int(rng.random() < 0.5) if len(idx) % 2 else 0)
        val[idx[:n_val]] = True
    return val, ~val


def features(clf, lcset, n: int | None) -> dict[str, np.ndarray]:
    """Per object after n observations: the tree parts' inputs (``tree``), the same without the nuisance
    columns (``phys``, :data:`skysift.model.novelty.NUISANCE_COLUMNS`), the last dense layer
    (``dense``) and the probabilities (``proba``)."""
    from skysift.model.blend import tree_inputs
    from skysift.model.novelty import NUISANCE_COLUMNS, novelty_columns

    data = clf.prepare_arrays(lcset, max_observations=n)
    tree = tree_inputs(data.values, data.lengths, data.context)
    return {"tree": tree, "phys": tree[:, novelty_columns(tree_names(clf), NUISANCE_COLUMNS)],
            "dense": clf.embed_arrays(data)["dense"].astype(np.float64),
            "proba": clf.predict_proba_arrays(data)}


def tree_names(clf) -> list[str]:
    """Names of the tree parts' input columns: the sequence features, then the context columns."""
    return list(clf.sequence_config_.feature_names) + list(clf.context_columns_)


def cached_features(clf, lcset, n: int | None, tag: str) -> dict[str, np.ndarray]:
    """:func:`features`, kept in runs/novelty/cache/{tag}_{n}.npz (tag names model seed and set)."""
    path = RUNS / "cache" / f"{tag}_{n_key(n)}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    f = features(clf, lcset, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **f)
    return f


def entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


#: name -> (feature spaces joined column-wise, NoveltyScorer kwargs).
SCORER_CANDIDATES: dict[str, tuple[tuple[str, ...], dict]] = {
    "tree/mahalanobis": (("tree",), {"method": "mahalanobis"}),
    "tree/knn": (("tree",), {"method": "knn", "k": 10}),
    "tree/iforest": (("tree",), {"method": "iforest"}),
    "phys/mahalanobis": (("phys",), {"method": "mahalanobis"}),
    "phys/iforest": (("phys",), {"method": "iforest"}),
    "dense/mahalanobis": (("dense",), {"method": "mahalanobis"}),
    "dense/knn": (("dense",), {"method": "knn", "k": 10}),
    "dense/iforest": (("dense",), {"method": "iforest"}),
    "proba/iforest": (("proba",), {"method": "iforest"}),
    "tree+proba/iforest": (("tree", "proba"), {"method": "iforest"}),
    "phys+proba/iforest": (("phys", "proba"), {"method": "iforest"}),
    "phys+proba/knn": (("phys", "proba"), {"method": "knn", "k": 10}),
    "dense+proba/iforest": (("dense", "proba"), {"method": "iforest"}),
}
PROBA_CANDIDATES = {"proba/1-maxp": lambda p: 1.0 - p.max(axis=1), "proba/entropy": entropy}


def _recipes() -> dict:
    from skysift.model.novelty import (
        CADENCE_COLUMNS,
        NUISANCE_COLUMNS,
        RECIPE_FIELDS_BEFORE,
        REDUNDANT_COLUMNS,
        NoveltyRecipe,
    )

    drops = {"phys": NUISANCE_COLUMNS, "lean": NUISANCE_COLUMNS + REDUNDANT_COLUMNS}
    views = {"n3-6-10-all": FIT_N, "all": (None,)}
    out = {f"{d}|{v}|{a}": NoveltyRecipe(drop=drops[d], views=views[v], aggregate=a, alpha=0.3, **RECIPE_FIELDS_BEFORE)
           for d in drops for v in views for a in ("last", "mean", "ewm")}
    # issue 21 item 3, second round: variations of lean|all|ewm (the recipe chosen in the first round)
    base = {"drop": drops["lean"], "views": (None,), "aggregate": "ewm", "alpha": 0.3, **RECIPE_FIELDS_BEFORE}
    variants = {
        "cls-min": {"method": "class_iforest", "combine": "min"},
        "cls-proba": {"method": "class_iforest", "combine": "proba"},
        "cls-pred": {"method": "class_iforest", "combine": "predicted"},
        "t500": {"n_trees": 500},
        "psi1024": {"sample_size": 1024},
        "t500-psi1024": {"n_trees": 500, "sample_size": 1024},
        "knn": {"method": "knn"},
        "u0.1": {"uncertainty": 0.1},
        "u0.2": {"uncertainty": 0.2},
        "u0.4": {"uncertainty": 0.4},
        "a0.2": {"alpha": 0.2},
        "a0.5": {"alpha": 0.5},
    }
    for name, change in variants.items():
        out[f"lean|all|ewm|{name}"] = NoveltyRecipe(**{**base, **change})
    # third round: without the cadence column too (a column search on the per-step scores), with and without
    # the uncertainty term
    gap = {**base, "drop": drops["lean"] + CADENCE_COLUMNS}
    out["lean-gap|all|ewm"] = NoveltyRecipe(**gap)
    out["lean-gap|all|ewm|u0.1"] = NoveltyRecipe(**{**gap, "uncertainty": 0.1})
    # third round: that recipe (the default then) plus an outburst term (the newest point more than s of its
    # errors brighter than the weighted mean so far: + b; skysift.model.novelty_stats)
    for b, sig in ((0.1, 3.0), (0.2, 3.0), (0.3, 3.0), (0.1, 2.0)):
        out[f"lean-gap|all|ewm|u0.1|b{b:g}s{sig:g}"] = NoveltyRecipe(**{**gap, "uncertainty": 0.1, "outburst": b,
                                                                       "outburst_sigma": sig})
    # ... or than the previous point (a sudden rise: |r{b}s{sigma})
    for b, sig in ((0.2, 5.0), (0.3, 5.0), (0.2, 8.0), (0.3, 8.0), (0.5, 8.0)):
        out[f"lean-gap|all|ewm|u0.1|r{b:g}s{sig:g}"] = NoveltyRecipe(**{**gap, "uncertainty": 0.1, "outburst": b,
                                                                       "outburst_sigma": sig, "outburst_stat": "rise"})
    # fourth round (the default with the nearest-galaxy distance and context copies, 2026-12-04): the third
    # round's recipe without the distance (chosen: HOST_COLUMNS), without the Galactic latitude, or without both
    from skysift.features.context import GALAXY_DISTANCE_COLUMN

    chosen = out["lean-gap|all|ewm|u0.1|r0.5s8"]
    for name, cols in (("gdist", (GALAXY_DISTANCE_COLUMN,)), ("gb", ("gal_b",)),
                       ("gdist-gb", (GALAXY_DISTANCE_COLUMN, "gal_b"))):
        out[f"lean-gap|all|ewm|u0.1|r0.5s8|-{name}"] = dataclasses.replace(chosen, drop=chosen.drop + cols)
    # fifth round: the chosen recipe (without the distance) with the latitude as |b|, or as b and |b|
    for lat in ("abs", "both"):
        out[f"lean-gap|all|ewm|u0.1|r0.5s8|-gdist|lat-{lat}"] = dataclasses.replace(
            out["lean-gap|all|ewm|u0.1|r0.5s8|-gdist"], latitude=lat)
    # seventh round (the default with the light-curve features, 2026-12-04): the chosen recipe reads them too (its
    # columns are the tree inputs less a list), or leaves them out (-lc), or keeps only the periodogram's (-lc+per)
    from skysift.model.novelty import LC_COLUMNS

    shipped = out["lean-gap|all|ewm|u0.1|r0.5s8|-gdist|lat-both"]
    out["lean-gap|all|ewm|u0.1|r0.5s8|-gdist|lat-both|-lc"] = dataclasses.replace(shipped, drop=shipped.drop + LC_COLUMNS)
    out["lean-gap|all|ewm|u0.1|r0.5s8|-gdist|lat-both|-lc+per"] = dataclasses.replace(
        shipped, drop=shipped.drop + tuple(c for c in LC_COLUMNS if "periodogram" not in c))
    return out


#: name -> NoveltyRecipe (``--recipes``).
RECIPE_CANDIDATES: dict = _recipes()


def score_recipes(clf, sets: dict, seed: int, only: str | None = None) -> dict:
    """Scores[recipe][set name][n key], each the model's own novelty (``step_rows`` once per set, one scorer
    per :meth:`NoveltyRecipe.scorer_key`); ``only``: a regular expression the recipes' names must match."""
    d_tr = clf.prepare_arrays(sets["train"], labels=True)
    steps = {name: (list(clf.step_rows(clf.prepare_arrays(s))), len(s)) for name, s in sets.items() if name != "train"}
    n_rows = sum(len(live) for st, _ in steps.values() for n in EVAL_N for live, _, _ in st[:n])  # scored per recipe
    fitted: dict = {}
    out: dict = {}
    for cand, recipe in recipe_candidates(only).items():
        key = recipe.scorer_key()
        if key not in fitted:
            t0 = time.perf_counter()
            clf._fit_novelty(d_tr, recipe)
            fitted[key] = clf.novelty_
            print(f"  {cand}: fitted in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        clf.novelty_, clf.novelty_recipe_ = fitted[key], recipe
        t0 = time.perf_counter()
        out[cand] = {name: {n_key(n): clf.aggregate_steps(st, size, n) for n in EVAL_N}
                     for name, (st, size) in steps.items()}
        out[cand]["_meta"] = {"us_per_step_row": 1e6 * (time.perf_counter() - t0) / n_rows}
    return out


def recipe_candidates(only: str | None = None) -> dict:
    """:data:`RECIPE_CANDIDATES` whose names match the regular expression ``only`` (None: all)."""
    import re

    return {c: r for c, r in RECIPE_CANDIDATES.items() if only is None or re.search(only, c)}


def select_columns(clf, sets: dict, seed: int, nl: np.ndarray, splits: list[int], novel_tag: str) -> list[str]:
    """Backward elimination of ``phys+proba`` columns on validation (module docstring); the names dropped."""
    from skysift.model.novelty import NUISANCE_COLUMNS, novelty_columns
    from skysift.model.novelty_scorer import NoveltyScorer

    names = [tree_names(clf)[i] for i in novelty_columns(tree_names(clf), NUISANCE_COLUMNS)] + [f"p_{c}" for c in clf.classes_]
    fit = {n_key(n): cached_features(clf, sets["train"], n, f"s{seed}_train") for n in FIT_N}
    ev = {name: {n_key(n): cached_features(clf, sets[name], n, f"s{seed}_{name if name != 'novel' else novel_tag}")
                 for n in EVAL_N} for name in ("val", "novel")}
    rows = lambda f: np.hstack([f["phys"], f["proba"]])  # noqa: E731

    def value(cols: list[int]) -> float:
        sc = NoveltyScorer("iforest", seed=seed).fit(np.vstack([rows(f)[:, cols] for f in fit.values()]))
        a = []
        for k in (n_key(n) for n in EVAL_N):
            sv, sn = sc.score(rows(ev["val"][k])[:, cols]), sc.score(rows(ev["novel"][k])[:, cols])
            a += [auroc(sv, sn[novel_halves(nl, sp)[0]]) for sp in splits]
        return float(np.mean(a))

    cols = list(range(len(names)))
    best = value(cols)
    print(f"all {len(cols)} columns: validation AUROC {best:.4f}", file=sys.stderr, flush=True)
    dropped = []
    while len(cols) > 4:
        trial = {c: value([x for x in cols if x != c]) for c in cols}
        c, v = max(trial.items(), key=lambda t: t[1])
        if v <= best + 0.001:
            break
        cols.remove(c)
        best = v
        dropped.append(names[c])
        print(f"drop {names[c]}: validation AUROC {v:.4f}", file=sys.stderr, flush=True)
    return dropped


def _join(f: dict[str, np.ndarray], spaces: tuple[str, ...]) -> np.ndarray:
    return np.hstack([f[s] for s in spaces])


def score_all(clf, sets: dict, seed: int, novel_tag: str) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Scores[candidate][set name][n key] for the known validation/test and the novel objects."""
    from skysift.model.novelty_scorer import NoveltyScorer

    train = sets["train"]
    fit_rows = {n_key(n): cached_features(clf, train, n, f"s{seed}_train") for n in FIT_N}
    y = np.asarray(train.labels).astype(str)
    evals = {name: {n_key(n): cached_features(clf, s, n, f"s{seed}_{novel_tag if name == 'novel' else name}")
                    for n in EVAL_N} for name, s in sets.items() if name != "train"}
    out: dict = {}
    for cand, (spaces, kw) in SCORER_CANDIDATES.items():
        x = np.vstack([_join(fit_rows[k], spaces) for k in fit_rows])
        groups = np.concatenate([np.char.add(y, f"|{k}") for k in fit_rows])
        t0 = time.perf_counter()
        scorer = NoveltyScorer(**kw, seed=seed).fit(x, groups)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        out[cand] = {name: {k: scorer.score(_join(f[k], spaces)) for k in f} for name, f in evals.items()}
        n_scored = sum(len(f[k]["proba"]) for f in evals.values() for k in f)
        out[cand]["_meta"] = {"dims": int(x.shape[1]), "fit_rows": int(x.shape[0]), "fit_seconds": fit_s,
                              "us_per_object": 1e6 * (time.perf_counter() - t0) / n_scored}
        print(f"  {cand}: {x.shape} fitted in {fit_s:.1f} s", file=sys.stderr, flush=True)
    for cand, rule in PROBA_CANDIDATES.items():
        out[cand] = {name: {k: rule(f[k]["proba"]) for k in f} for name, f in evals.items()}
    return out


def auroc(known: np.ndarray, novel: np.ndarray) -> float:
    y = np.r_[np.zeros(len(known)), np.ones(len(novel))]
    return float(roc_auc_score(y, np.r_[known, novel]))


def top_share(known: np.ndarray, novel: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """Share of novel objects among the top ``fraction`` of all scores (ties broken at random)."""
    s = np.r_[known, novel]
    is_novel = np.r_[np.zeros(len(known), bool), np.ones(len(novel), bool)]
    order = np.lexsort((np.random.default_rng(0).random(s.size), -s))
    top = order[:max(1, round(fraction * s.size))]
    return float(is_novel[top].mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0", help="model seeds (runs/novelty/goto3_s{seed}.skysift.pt)")
    p.add_argument("--splits", default="0,1,2", help="seeds of the novel validation/test halves")
    p.add_argument("--novel-seed", type=int, default=0, help="emulation seed of the novel set")
    p.add_argument("--train", action="store_true", help="train the missing models first")
    p.add_argument("--real-mags", action="store_true",
                   help="novel Galactic stars keep their real magnitudes (not moved as goto3's stars are)")
    p.add_argument("--recipes", action="store_true", help="score the classifier's own recipes (RECIPE_CANDIDATES)")
    p.add_argument("--only", default=None, help="with --recipes: score the recipes whose names match this regex")
    p.add_argument("--select", action="store_true", help="run the backward column elimination and stop")
    p.add_argument("--out", default=None, help=f"result JSON (default {OUT.name}, or novelty_recipes.json)")
    args = p.parse_args(argv)
    args.out = args.out or str(OUT.with_name("novelty_recipes.json") if args.recipes else OUT)
    from skysift.benchsets.novel import build_novel
    from skysift.model.estimator import Classifier

    seeds = [int(s) for s in args.seeds.split(",")]
    splits = [int(s) for s in args.splits.split(",")]
    bd = load_benchmark_data("goto3", cache=ROOT / "runs" / "goto3")
    _, train, val, test = split_sets(bd.lcset, 0)
    novel = build_novel(seed=args.novel_seed, reference=bd.lcset.objects, star_offsets=not args.real_mags)
    novel_tag = f"novel{args.novel_seed}" + ("_realmags" if args.real_mags else "")
    nl = np.asarray(novel.labels).astype(str)
    counts = {str(c): int(n) for c, n in zip(*np.unique(nl, return_counts=True))}
    fine = novel.objects.groupby(["label", "fine_label"]).size()
    print(f"novel set: {len(novel)} objects {counts}", file=sys.stderr)
    sets = {"train": train, "val": val, "test": test, "novel": novel}

    per_seed = {}
    for seed in seeds:
        if not model_path(seed).exists():
            if not args.train:
                raise SystemExit(f"{model_path(seed)} missing: run with --train")
            train_model(bd, seed)
        clf = Classifier.load(model_path(seed))
        if args.select:
            print("dropped:", select_columns(clf, sets, seed, nl, splits, novel_tag))
            return 0
        print(f"seed {seed}: scoring", file=sys.stderr, flush=True)
        per_seed[seed] = score_recipes(clf, sets, seed, args.only) if args.recipes else score_all(clf, sets, seed, novel_tag)

    cands = list(recipe_candidates(args.only)) if args.recipes else list(SCORER_CANDIDATES) + list(PROBA_CANDIDATES)
    rows = {c: {"val": {}, "test": {}, "top1pct_test": {}, "per_class_test_all": {}} for c in cands}
    for c in cands:
        for k in (n_key(n) for n in EVAL_N):
            v, t, share = [], [], []
            for seed in seeds:
                s = per_seed[seed][c]
                for sp in splits:
                    mv, mt = novel_halves(nl, sp)
                    v.append(auroc(s["val"][k], s["novel"][k][mv]))
                    t.append(auroc(s["test"][k], s["novel"][k][mt]))
                    share.append(top_share(s["test"][k], s["novel"][k][mt]))
            rows[c]["val"][k] = [float(np.mean(v)), float(np.std(v))]
            rows[c]["test"][k] = [float(np.mean(t)), float(np.std(t))]
            rows[c]["top1pct_test"][k] = [float(np.mean(share)), float(np.std(share))]
        for cls in counts:
            a = []
            for seed in seeds:
                s = per_seed[seed][c]
                for sp in splits:
                    mt = novel_halves(nl, sp)[1] & (nl == cls)
                    if mt.any():
                        a.append(auroc(s["test"]["all"], s["novel"]["all"][mt]))
            rows[c]["per_class_test_all"][cls] = float(np.mean(a)) if a else None
        rows[c]["val_mean"] = float(np.mean([rows[c]["val"][k][0] for k in rows[c]["val"]]))
    chosen = max(cands, key=lambda c: rows[c]["val_mean"])

    ks = [n_key(n) for n in EVAL_N]
    print("\nValidation AUROC (novel half vs goto3 validation), mean ± sd over model seeds x novel splits")
    print(f"{'candidate':<20}" + "".join(f"{'n=' + k:>16}" for k in ks) + f"{'mean':>8}")
    for c in sorted(cands, key=lambda c: -rows[c]["val_mean"]):
        print(f"{c:<20}" + "".join(f"{rows[c]['val'][k][0]:>10.3f} ±{rows[c]['val'][k][1]:.3f}" for k in ks)
              + f"{rows[c]['val_mean']:>8.3f}" + ("  <- chosen" if c == chosen else ""))
    print(f"\nTest (other novel half vs goto3 test), chosen {chosen}; every candidate for reference")
    print(f"{'candidate':<20}" + "".join(f"{'AUROC n=' + k:>16}" for k in ks) + "".join(f"{'top1% n=' + k:>16}" for k in ks))
    for c in sorted(cands, key=lambda c: -rows[c]["val_mean"]):
        print(f"{c:<20}" + "".join(f"{rows[c]['test'][k][0]:>10.3f} ±{rows[c]['test'][k][1]:.3f}" for k in ks)
              + "".join(f"{rows[c]['top1pct_test'][k][0]:>10.3f} ±{rows[c]['top1pct_test'][k][1]:.3f}" for k in ks))
    print(f"\nChosen {chosen}: test AUROC at n=all per novel class: "
          + ", ".join(f"{k} {v:.3f}" for k, v in rows[chosen]["per_class_test_all"].items() if v is not None))
    n_test_novel = [int(novel_halves(nl, sp)[1].sum()) for sp in splits]
    result = {
        "chosen": chosen, "rule": "best mean validation AUROC over n = 3, 6, all",
        "model_seeds": seeds, "novel_splits": splits, "novel_emulation_seed": args.novel_seed,
        "novel_counts": counts, "novel_fine_counts": {f"{a}/{b}": int(n) for (a, b), n in fine.items()},
        "n_known_val": len(val), "n_known_test": len(test), "n_novel_test_per_split": n_test_novel,
        "known_test_counts": test.class_counts(), "candidates": rows,
        "star_offsets": not args.real_mags,
        "scorer_meta": {c: per_seed[seeds[0]][c]["_meta"] for c in (cands if args.recipes else SCORER_CANDIDATES)},
    }
    if args.recipes:
        result["recipes"] = {c: RECIPE_CANDIDATES[c].to_dict() for c in cands}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
