"""Novelty score, sixth round (issue 21, item 3): is the shipped recipe at an optimum of what its inputs allow?

A fast harness around the shipped recipe (:class:`skysift.model.novelty.NoveltyRecipe`): each of the three
goto3 models of ``benchmarks/novelty.py`` (``runs/novelty/goto3_s{0,1,2}.skysift.pt``, trained there with
``--train``) takes every object of goto3's training, validation and test splits and of the novel set through
its steps once (``Classifier.step_rows``: the tree inputs and the probabilities after each observation, as the
stream sees them); the rows are cached under ``runs/novelty/steps/``. Each variant then refits scikit-learn's
isolation forest (200 trees of 256 rows, as the recipe) on the training objects' rows after their last
observation, scores every step, adds the recipe's terms (0.1 (1 - max p), 0.5 where the newest point rose by
more than 8 errors) and aggregates the steps (exponentially weighted mean, alpha 0.3), exactly as the
classifier does, but without writing a model file per variant.

Variants (``--family``): ``sky`` (the Galactic longitude back in several forms), ``columns`` (each scorer
column left out, or given twice), ``forest`` (rows and features per tree), ``history`` (the change of the
probabilities since the previous step as a term; the running mean of the scorer's rows beside or instead of
the step's row), ``weights`` (alpha x uncertainty weight x outburst weight), ``lcfeatures`` (light-curve features the
feature peers use and skysift's statistics lack, of each step's prefix, from the ``light-curve`` package of the
``peers`` extra: each alone and all together, beside the scorer's row). ``--supervised``: a ceiling check, gradient boosting
given the novel validation half's labels (:func:`supervised_check`); ``--dense``: the shipped score plus an
isolation forest on the network's last dense layer (the paper's suggestion; :func:`dense_check`). Eighth round
(``--family context``, results in ``novelty_sweep8.jsonl``): the position against the verdict as a term
(:func:`_context_agreement`) and the forest fitted on every training step (``every-step``).

Rule as in the earlier rounds: mean validation AUROC (novel validation half against goto3 validation, n = 3,
6, all) over 3 models x 3 forest seeds x 3 novel splits x the four emulations ``--novel-seeds 0,1,2,3``; test
AUROC at n = all (the other novel half against goto3 test) printed for reference only. One JSON line per
variant in ``benchmarks/results/novelty_sweep6.jsonl``.

    OMP_NUM_THREADS=1 python benchmarks/novelty_sweep.py --family sky,columns
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

import novelty as nv  # noqa: E402 - the benchmark's models, novel halves and AUROC
from peerlib import load_benchmark_data, split_sets  # noqa: E402

STEPS = nv.RUNS / "steps"
OUT = ROOT / "benchmarks" / "results" / "novelty_sweep6.jsonl"
EVAL_KEYS = ("3", "6", "all")


# ---------------------------------------------------------------------- cached steps


def step_table(clf, lcset, tag: str) -> dict[str, np.ndarray]:
    """Every object's steps (``Classifier.step_rows``): step number ``k``, object index ``live``, tree inputs
    ``x`` and probabilities ``p`` per row (rows in step order), ``n`` objects; cached as runs/novelty/steps/{tag}.npz."""
    path = STEPS / f"{tag}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    ks, lives, xs, ps = [], [], [], []
    for k, (live, x, p) in enumerate(clf.step_rows(clf.prepare_arrays(lcset)), start=1):
        ks.append(np.full(len(live), k))
        lives.append(live)
        xs.append(x)
        ps.append(p)
    out = {"k": np.concatenate(ks), "live": np.concatenate(lives), "x": np.concatenate(xs),
           "p": np.concatenate(ps), "n": np.array(len(lcset))}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def load_steps(seeds: list[int], emulations: list[int]) -> tuple[dict, dict]:
    """Steps per (model seed, set) and the novel labels per emulation (computed once, then read from the cache)."""
    from skysift.benchsets.novel import build_novel
    from skysift.model.estimator import Classifier

    bd = load_benchmark_data("goto3", cache=ROOT / "runs" / "goto3")
    _, train, val, test = split_sets(bd.lcset, 0)
    labels, novel = {}, {}
    for e in emulations:
        path = STEPS / f"novel_labels_e{e}.npy"
        if not path.exists() or not all((STEPS / f"s{s}_novel{e}.npz").exists() for s in seeds):
            novel[e] = build_novel(seed=e, reference=bd.lcset.objects, star_offsets=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, np.asarray(novel[e].labels).astype(str))
        labels[e] = np.load(path)
    steps = {}
    for s in seeds:
        clf = Classifier.load(nv.model_path(s))
        sets = {"train": train, "val": val, "test": test, **{f"novel{e}": novel.get(e) for e in emulations}}
        steps[s] = {"clf": clf, **{name: step_table(clf, lc, f"s{s}_{name}") for name, lc in sets.items()}}
        print(f"model seed {s}: steps ready", file=sys.stderr, flush=True)
    return steps, labels


# ---------------------------------------------------------------------- the recipe, with a variant


def running_mean(rows: np.ndarray, t: dict, alpha: float) -> np.ndarray:
    """Per row: the exponentially weighted mean (newest weight ``alpha``) of the object's rows up to this step."""
    state = np.zeros((int(t["n"]), rows.shape[1]))
    out = np.empty_like(rows, dtype=np.float64)
    for k in range(1, int(t["k"].max()) + 1):
        sel = np.flatnonzero(t["k"] == k)
        live = t["live"][sel]
        state[live] = rows[sel] if k == 1 else (1 - alpha) * state[live] + alpha * rows[sel]
        out[sel] = state[live]
    return out


def probability_change(t: dict) -> np.ndarray:
    """Per row: the L1 change of the probabilities since the object's previous step (0 at the first)."""
    prev = np.zeros((int(t["n"]), t["p"].shape[1]))
    out = np.zeros(len(t["k"]))
    for k in range(1, int(t["k"].max()) + 1):
        sel = np.flatnonzero(t["k"] == k)
        live = t["live"][sel]
        if k > 1:
            out[sel] = np.abs(t["p"][sel] - prev[live]).sum(axis=1)
        prev[live] = t["p"][sel]
    return out


def sky_columns(clf, x: np.ndarray) -> dict[str, np.ndarray]:
    """Forms of the Galactic longitude (degrees, unscaled with the model's context scaler) per row."""
    names = list(clf.sequence_config_.feature_names) + list(clf.context_columns_)
    ctx = list(clf.context_columns_)
    raw = {c: x[:, names.index(c)] * clf.ctx_scaler_.std[ctx.index(c)] + clf.ctx_scaler_.mean[ctx.index(c)]
           for c in ("gal_l", "gal_b")}
    lr, br = np.radians(raw["gal_l"]), np.radians(raw["gal_b"])
    wrapped = (raw["gal_l"] + 180.0) % 360.0 - 180.0
    return {"l": raw["gal_l"], "l_wrapped": wrapped, "abs_l_wrapped": np.abs(wrapped),
            "cos_gc": np.cos(lr) * np.cos(br), "cos_l": np.cos(lr), "sin_l": np.sin(lr)}


class Variant:
    """One change of the shipped recipe: ``rows(clf, t)`` makes the scorer's rows of a step table, ``term(t)`` is
    added to each step's score; forest and aggregate settings as the recipe unless given."""

    def __init__(self, rows: Callable | None = None, term: Callable | None = None, *, sample_size: int = 256,
                 max_features: float = 1.0, alpha: float = 0.3, uncertainty: float = 0.1, outburst: float = 0.5,
                 clf_term: Callable | None = None, every_step: bool = False):
        self.rows_fn, self.term, self.clf_term = rows, term, clf_term
        self.every_step = every_step  # the forest fitted on every step of the training objects, not the last
        self.sample_size, self.max_features = sample_size, max_features
        self.alpha, self.uncertainty, self.outburst = alpha, uncertainty, outburst

    def rows(self, clf, t: dict) -> np.ndarray:
        base = clf._novelty_matrix(t["x"], t["p"])
        return base if self.rows_fn is None else self.rows_fn(clf, t, base)

    def step_scores(self, clf, forest, t: dict, rows: np.ndarray) -> np.ndarray:
        s = -forest.score_samples(rows) + self.uncertainty * (1.0 - t["p"].max(axis=1))
        s = s + self.outburst * outburst_term(clf, t)
        if self.clf_term is not None:
            s = s + self.clf_term(clf, t)
        return s if self.term is None else s + self.term(t)

    def all_rows(self, st: dict) -> dict[str, np.ndarray]:
        """The scorer's rows of every set of one model's steps (``st``: :func:`load_steps`' entry of the model)."""
        return {name: self.rows(st["clf"], st[name]) for name in st if name != "clf"}

    def fit_forest(self, st: dict, rows: dict[str, np.ndarray], random_state: int) -> Any:
        """The variant's isolation forest (200 trees) fitted on the training objects' rows after their last step."""
        from sklearn.ensemble import IsolationForest

        fit_rows = rows["train"] if self.every_step else last_rows(rows["train"], st["train"])
        return IsolationForest(n_estimators=200, max_samples=self.sample_size, max_features=self.max_features,
                               random_state=random_state).fit(fit_rows)

    def scores(self, st: dict, rows: dict[str, np.ndarray], forest: Any, names) -> dict[str, dict[str, np.ndarray]]:
        """The variant's aggregated score of the sets ``names``, after n = 3, 6, all observations."""
        clf = st["clf"]
        return {name: aggregate(self.step_scores(clf, forest, st[name], rows[name]), st[name], self.alpha)
                for name in names}


def outburst_term(clf, t: dict) -> np.ndarray:
    from skysift.model.novelty_stats import outburst_flag_at

    recipe = clf.novelty_recipe_
    return outburst_flag_at(t["x"], clf._novelty_layout().outburst, recipe.outburst_sigma)


def aggregate(scores: np.ndarray, t: dict, alpha: float) -> dict[str, np.ndarray]:
    """The recipe's exponentially weighted mean of the step scores (the classifier's own
    :func:`~skysift.model.novelty.aggregate_novelty`), after n = 3, 6 and all observations."""
    import dataclasses

    from skysift.model.novelty import NoveltyRecipe, aggregate_novelty

    recipe = dataclasses.replace(NoveltyRecipe(), aggregate="ewm", alpha=alpha)
    agg = np.full(int(t["n"]), np.nan)
    snap = {}
    for k in range(1, int(t["k"].max()) + 1):
        sel = t["k"] == k
        live = t["live"][sel]
        agg[live] = aggregate_novelty(None if k == 1 else agg[live], scores[sel], k, recipe)
        if k in (3, 6):
            snap[str(k)] = agg.copy()
    return {"3": snap.get("3", agg.copy()), "6": snap.get("6", agg.copy()), "all": agg}


def last_rows(rows: np.ndarray, t: dict) -> np.ndarray:
    """Each object's row after its last step (rows are in step order: the last write wins)."""
    at = np.full(int(t["n"]), -1)
    at[t["live"]] = np.arange(len(t["k"]))
    return rows[at[at >= 0]]


def evaluate(variant: Variant, steps: dict, labels: dict, forest_seeds: list[int]) -> dict:
    val, test, per_em = [], [], {e: [] for e in labels}
    t0 = time.perf_counter()
    for s, st in steps.items():
        rows = variant.all_rows(st)
        for fs in forest_seeds:
            forest = variant.fit_forest(st, rows, 1000 * s + fs)
            score = variant.scores(st, rows, forest, [name for name in rows if name != "train"])
            for e, nl in labels.items():
                for sp in (0, 1, 2):
                    mv, mt = nv.novel_halves(nl, sp)
                    for key in EVAL_KEYS:
                        a = nv.auroc(score["val"][key], score[f"novel{e}"][key][mv])
                        val.append(a)
                        per_em[e].append(a)
                    test.append(nv.auroc(score["test"]["all"], score[f"novel{e}"]["all"][mt]))
    return {"val_mean": float(np.mean(val)), "val_per_emulation": [float(np.mean(v)) for v in per_em.values()],
            "test_all": float(np.mean(test)), "test_all_sd": float(np.std(test)), "seconds": time.perf_counter() - t0}


def supervised_check(steps: dict, labels: dict) -> dict:
    """A ceiling check: gradient boosting trained on known-vs-novel with the novel validation half's labels (against
    goto3 validation), on per-object features -- the last step's scorer row, the running mean of the rows, the
    shipped score, the largest step score, the number of steps -- scored on test at n = all; beside it the shipped
    score on the same halves."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    v = Variant()
    sup, shipped = [], []
    for s, st in steps.items():
        clf = st["clf"]
        rows = v.all_rows(st)
        forest = v.fit_forest(st, rows, 1000 * s)

        def per_object(name: str) -> tuple[np.ndarray, np.ndarray]:
            t, r = st[name], rows[name]
            step = v.step_scores(clf, forest, t, r)
            score = aggregate(step, t, v.alpha)["all"]
            top = np.full(int(t["n"]), -np.inf)
            np.maximum.at(top, t["live"], step)
            feats = [last_rows(r, t), last_rows(running_mean(r, t, 0.3), t), score, top,
                     np.bincount(t["live"], minlength=int(t["n"]))]
            return np.column_stack(feats), score

        (fv, _), (ft, st_score) = per_object("val"), per_object("test")
        for e, nl in labels.items():
            fn, sn = per_object(f"novel{e}")
            for sp in (0, 1, 2):
                mv, mt = nv.novel_halves(nl, sp)
                model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, class_weight="balanced",
                                                       random_state=0)
                model.fit(np.vstack([fv, fn[mv]]), np.r_[np.zeros(len(fv)), np.ones(int(mv.sum()))])
                sup.append(nv.auroc(model.predict_proba(ft)[:, 1], model.predict_proba(fn[mt])[:, 1]))
                shipped.append(nv.auroc(st_score, sn[mt]))
    return {"supervised_test_all": float(np.mean(sup)), "supervised_sd": float(np.std(sup)),
            "shipped_test_all": float(np.mean(shipped)), "shipped_sd": float(np.std(shipped))}


def _lc_extractors() -> list[tuple[int, Any]]:
    """(minimum points, extractor) of the light-curve features skysift's statistics lack."""
    import light_curve as lc

    return [(2, lc.Extractor(lc.BeyondNStd(1), lc.Cusum(), lc.EtaE(), lc.StetsonK(), lc.MedianAbsoluteDeviation(),
                             lc.InterPercentileRange(0.1), lc.PercentAmplitude())),
            (3, lc.Extractor(lc.Skew())), (4, lc.Extractor(lc.Kurtosis()))]


def prefix_features(clf, t: dict, last_only: bool = False) -> np.ndarray:
    """Per step row: :func:`_lc_extractors`' features of the object's points up to that step (time since the first
    point in days, magnitude, error: the step rows' first three inputs unscaled); NaN below a feature's minimum
    number of points; ``last_only``: only each object's last step (other rows NaN)."""
    exts = _lc_extractors()
    sc = clf.seq_scaler_
    raw = t["x"][:, :3] * np.asarray(sc.std[:3]) + np.asarray(sc.mean[:3])
    out = np.full((len(t["k"]), sum(len(e.names) for _, e in exts)), np.nan)
    order = np.lexsort((t["k"], t["live"]))
    starts = np.r_[0, np.flatnonzero(np.diff(t["live"][order])) + 1]
    for a, b in zip(starts, np.r_[starts[1:], len(order)]):
        rows = order[a:b]
        tt = raw[rows, 0] + np.arange(len(rows)) * 1e-6  # strictly increasing for the extractors
        mm, ee = raw[rows, 1], np.maximum(raw[rows, 2], 1e-3)
        for k in ([len(rows)] if last_only else range(1, len(rows) + 1)):
            out[rows[k - 1]] = np.concatenate([
                e(tt[:k], mm[:k], ee[:k], fill_value=np.nan, sorted=True, check=False) if k >= m
                else np.full(len(e.names), np.nan) for m, e in exts])
    return out


def lc_feature_names() -> list[str]:
    return [n for _, e in _lc_extractors() for n in e.names]


def _with_lc_features(steps: dict, cols: list[int]) -> Callable:
    """Rows: the scorer's row, then light-curve features ``cols`` of the step's prefix (NaN: the training objects'
    median), computed once per model and set."""
    cache: dict = {}

    def rows(clf, t, base):
        key = (id(clf), id(t))
        if key not in cache:
            st = next(v for v in steps.values() if v["clf"] is clf)
            train = cache.setdefault((id(clf), "train"), prefix_features(clf, st["train"], last_only=True))
            cache[key] = train if t is st["train"] else prefix_features(clf, t)
            cache[(id(clf), "median")] = np.nanmedian(last_rows(train, st["train"]), axis=0)
        f = cache[key][:, cols]
        return np.hstack([base, np.where(np.isnan(f), cache[(id(clf), "median")][cols], f)])
    return rows


def dense_check(steps: dict, labels: dict, weights: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)) -> dict:
    """The paper's suggestion beside the shipped score: the shipped score plus w x an isolation forest (200 trees of
    256 rows) on the network's last dense layer after n observations (standardised with the training objects'
    rows, fitted on them); mean validation AUROC over n = 3, 6, all and test AUROC at n = all per w."""
    from sklearn.ensemble import IsolationForest

    from skysift.benchsets.novel import build_novel

    bd = load_benchmark_data("goto3", cache=ROOT / "runs" / "goto3")
    _, train, val, test = split_sets(bd.lcset, 0)
    novel = {e: build_novel(seed=e, reference=bd.lcset.objects, star_offsets=True) for e in labels}
    v = Variant()
    ns = {"3": 3, "6": 6, "all": None}
    out = {w: {"val": [], "test": []} for w in weights}
    for s, st in steps.items():
        clf = st["clf"]

        def dense(lcset, n, clf=clf):
            return clf.embed_arrays(clf.prepare_arrays(lcset, max_observations=n))["dense"].astype(np.float64)

        d_train = dense(train, None)
        mu, sd = d_train.mean(axis=0), d_train.std(axis=0) + 1e-9
        d_forest = IsolationForest(n_estimators=200, max_samples=256, random_state=s).fit((d_train - mu) / sd)
        sets = {"val": val, "test": test, **{f"novel{e}": novel[e] for e in labels}}
        d_score = {name: {k: -d_forest.score_samples((dense(lc, n) - mu) / sd) for k, n in ns.items()}
                   for name, lc in sets.items()}
        rows = v.all_rows(st)
        shipped = v.scores(st, rows, v.fit_forest(st, rows, 1000 * s), sets)
        for e, nl in labels.items():
            for sp in (0, 1, 2):
                mv, mt = nv.novel_halves(nl, sp)
                for w in weights:
                    def both(name: str, k: str, w=w) -> np.ndarray:
                        return shipped[name][k] + w * d_score[name][k]
                    out[w]["val"] += [nv.auroc(both("val", k), both(f"novel{e}", k)[mv]) for k in ns]
                    out[w]["test"].append(nv.auroc(both("test", "all"), both(f"novel{e}", "all")[mt]))
    return {f"w{w:g}": {"val_mean": float(np.mean(r["val"])), "test_all": float(np.mean(r["test"]))}
            for w, r in out.items()}


def _context_agreement(steps: dict, lc_only: bool) -> Callable:
    """A term per step row: how little the object's position agrees with the verdict, -log sum_c p_c q_c / pi_c,
    where q is a context-only model (gradient boosting on the raw context columns: Galactic l, b, |b| and the
    nearest-galaxy distance) fitted on the training objects, pi the training classes' shares, and p the classifier's
    probabilities at the step (``lc_only=False``) or a light-curve-only model's (gradient boosting on the step's own
    inputs without the context, fitted on every step of the training objects): two readers that disagree."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    cache: dict = {}

    def setup(clf):
        st = next(v for v in steps.values() if v["clf"] is clf)
        t = st["train"]
        names = list(clf.sequence_config_.feature_names) + list(clf.context_columns_)
        ci = [names.index(c) for c in clf.context_columns_]
        si = [i for i, n in enumerate(names) if n not in clf.context_columns_]  # the step's own inputs
        _, train, _, _ = split_sets(load_benchmark_data("goto3", cache=ROOT / "runs" / "goto3").lcset, 0)
        y = clf._encode_labels(train.labels, "train")
        y_obj = y[np.unique(t["live"])]  # the order of last_rows: object index
        pi = np.bincount(y_obj, minlength=len(clf.classes_)) / len(y_obj)
        b = clf.context_columns_.index("gal_b")

        def ctx(x):
            r = x[:, ci] * np.asarray(clf.ctx_scaler_.std) + np.asarray(clf.ctx_scaler_.mean)
            return np.column_stack([r, np.abs(r[:, b])])

        ctx_model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)
        ctx_model.fit(ctx(last_rows(t["x"], t)), y_obj)
        lc_model = None
        if lc_only:
            lc_model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, class_weight="balanced",
                                                      random_state=0).fit(t["x"][:, si], y[t["live"]])
        return si, pi, ctx, ctx_model, lc_model

    def term(clf, t):
        if id(clf) not in cache:
            cache[id(clf)] = setup(clf)
        si, pi, ctx, ctx_model, lc_model = cache[id(clf)]
        q = ctx_model.predict_proba(ctx(t["x"]))
        p = t["p"] if lc_model is None else lc_model.predict_proba(t["x"][:, si])
        return -np.log(np.clip((p * q / pi).sum(axis=1), 1e-6, None))
    return term


# ---------------------------------------------------------------------- the families


def _with(cols: tuple[str, ...]) -> Callable:
    return lambda clf, t, base: np.hstack([base] + [sky_columns(clf, t["x"])[c][:, None] for c in cols])


def _drop(i: int) -> Callable:
    return lambda clf, t, base: np.delete(base, i, axis=1)


def _twice(i: int) -> Callable:
    return lambda clf, t, base: np.hstack([base, base[:, i:i + 1]])


def families(width: int, steps: dict | None = None) -> dict[str, dict[str, Variant]]:
    """name -> {variant name -> Variant}; ``width``: the shipped recipe's scorer columns; ``steps``: the cached steps
    (for ``lcfeatures``)."""
    sky = {f"+{'+'.join(c)}": Variant(_with(c)) for c in
           (("l",), ("l_wrapped",), ("abs_l_wrapped",), ("cos_gc",), ("cos_l", "sin_l"), ("abs_l_wrapped", "cos_gc"))}
    columns = {**{f"-col{i}": Variant(_drop(i)) for i in range(width)},
               **{f"+col{i}x2": Variant(_twice(i)) for i in range(width)}}
    forest = {**{f"psi{p}": Variant(sample_size=p) for p in (64, 128, 512)},
              **{f"features{f:g}": Variant(max_features=f) for f in (0.5, 0.75)}}
    history = {**{f"+{w:g}dp": Variant(term=lambda t, w=w: w * probability_change(t)) for w in (0.05, 0.1, 0.2)},
               "running-mean-beside": Variant(lambda clf, t, base: np.hstack([base, running_mean(base, t, 0.3)])),
               "running-mean-instead": Variant(lambda clf, t, base: running_mean(base, t, 0.3))}
    weights = {f"a{a:g}-u{u:g}-b{b:g}": Variant(alpha=a, uncertainty=u, outburst=b)
               for a in (0.2, 0.3, 0.4) for u in (0.05, 0.1, 0.15) for b in (0.3, 0.5, 0.8)}
    lcfeatures = {}
    if steps is not None:
        names = lc_feature_names()
        lcfeatures = {"+lc-all": Variant(_with_lc_features(steps, list(range(len(names))))),
                      **{f"+lc-{n}": Variant(_with_lc_features(steps, [i])) for i, n in enumerate(names)}}
    context = {"every-step": Variant(every_step=True),
               **{f"every-step-psi{p}": Variant(every_step=True, sample_size=p) for p in (512, 1024)}}
    if steps is not None:
        for lc_only in (False, True):
            term = _context_agreement(steps, lc_only)
            context.update({f"+{w:g}ctx-{'lc' if lc_only else 'p'}": Variant(clf_term=lambda clf, t, w=w, f=term: w * f(clf, t))
                            for w in (0.02, 0.05, 0.1, 0.2)})
    return {"sky": sky, "columns": columns, "forest": forest, "history": history, "weights": weights,
            "lcfeatures": lcfeatures, "context": context}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", default="sky,columns,forest,history,weights")
    p.add_argument("--seeds", default="0,1,2", help="model seeds (benchmarks/novelty.py --train)")
    p.add_argument("--novel-seeds", default="0,1,2,3", help="emulations of the novel set")
    p.add_argument("--forest-seeds", default="0,1,2")
    p.add_argument("--supervised", action="store_true", help="run the supervised ceiling check only")
    p.add_argument("--dense", action="store_true", help="run the dense-layer check only (the shipped score + w x "
                                                        "an isolation forest on the network's last dense layer)")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    for s in seeds:
        if not nv.model_path(s).exists():
            raise SystemExit(f"{nv.model_path(s)} missing: run benchmarks/novelty.py --train --seeds {args.seeds}")
    steps, labels = load_steps(seeds, [int(e) for e in args.novel_seeds.split(",")])
    if args.supervised:
        r = supervised_check(steps, labels)
        with open(args.out, "a") as fh:
            fh.write(json.dumps({"variant": "supervised-check", "family": "supervised", "model_seeds": seeds,
                                 "novel_seeds": list(labels), **r}) + "\n")
        print(f"supervised {r['supervised_test_all']:.4f} +- {r['supervised_sd']:.4f}; shipped score "
              f"{r['shipped_test_all']:.4f} +- {r['shipped_sd']:.4f} (test n = all)")
        return 0
    if args.dense:
        r = dense_check(steps, labels)
        with open(args.out, "a") as fh:
            for w, x in r.items():
                fh.write(json.dumps({"variant": f"+{w}-dense", "family": "dense", "model_seeds": seeds,
                                     "novel_seeds": list(labels), **x}) + "\n")
                print(f"shipped + {w[1:]} x dense: validation {x['val_mean']:.4f}  test n = all {x['test_all']:.4f}")
        return 0
    forest_seeds = [int(s) for s in args.forest_seeds.split(",")]
    clf0 = steps[seeds[0]]["clf"]
    width = variant_width(clf0, steps[seeds[0]]["val"])
    fams = families(width, steps)
    todo = {"shipped": Variant()}
    for f in args.family.split(","):
        todo.update(fams[f])
    with open(args.out, "a") as fh:
        for name, v in todo.items():
            r = evaluate(v, steps, labels, forest_seeds)
            fh.write(json.dumps({"variant": name, "family": next((f for f, d in fams.items() if name in d), "shipped"),
                                 "model_seeds": seeds, "novel_seeds": list(labels), "forest_seeds": forest_seeds,
                                 **r}) + "\n")
            fh.flush()
            print(f"{name:<24} validation {r['val_mean']:.4f} (" + " ".join(f"{x:.4f}" for x in r["val_per_emulation"])
                  + f")  test n = all {r['test_all']:.4f}", flush=True)
    return 0


def variant_width(clf, t: dict) -> int:
    return int(clf._novelty_matrix(t["x"][:1], t["p"][:1]).shape[1])


if __name__ == "__main__":
    sys.exit(main())
