"""Which changes to the default preset transfer across surveys: an ablation on goto3_xs
validation objects only (issue 19, item 2). Test objects are never read.

For a rotation ``r`` (the split seed of goto3_xs) the training + validation objects of ``r`` are the pool.
Inside the pool each class holds out one more source, chosen by the rule of
:mod:`skysift.benchsets.xs_splits` with inner rotation 1 (the second-largest source of the class in the
pool). Each variant is fitted once, on the rotation's training objects outside the held-out sources
(its epoch, temperature, blend and decision weights chosen on the rotation's validation objects outside
them), and scored on two criteria:

* ``val`` -- the rotation's validation objects from the sources it was trained on (same surveys);
* ``inner_xs`` -- every pool object of the inner held-out sources (surveys no training object of that
  class came from; the honest cross-survey criterion). Macro F1 uses class weights fitted on ``val``.

Galaxy proximity: ``--n-gal`` random ``val`` variable stars, each moved 1 arcsec from a random Mangrove
galaxy (``load_catalog("mangrove")``, part of goto3_xs's catalogue), and the share with P(SN) > 0.5.

Variants are constructor options of :class:`skysift.classifier.Classifier` or wrappers that transform
a copy of the photometry (``PHOT``) or augment the training objects (``AUG``). One JSON line per
(variant, rotation) is appended to ``benchmarks/results/xs_ablation.jsonl`` as it finishes; finished
pairs are skipped (resumable).

    nice -n 15 env OMP_NUM_THREADS=1 python benchmarks/xs_ablation.py --rotations 1 --variants default,no_gal_dist
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from peerlib import load_benchmark_data, split_sets

OUT = ROOT / "benchmarks" / "results" / "xs_ablation.jsonl"
N_OBS = (1, 3, 6, None)
GAL_OFFSET_ARCSEC = 1.0


# --------------------------------------------------------------------------- photometry wrappers


def rel_first(phot: pd.DataFrame, state: dict) -> pd.DataFrame:
    """Magnitudes relative to each object's first observation (mag; causal, O(1) in a stream)."""
    p = phot.sort_values(["object_id", "mjd"], kind="stable").copy()
    p["mag"] = p["mag"] - p.groupby("object_id")["mag"].transform("first")
    return p


def common_err(phot: pd.DataFrame, state: dict) -> pd.DataFrame:
    """Error bars replaced by one error-vs-magnitude curve (median mag_err in 0.25 mag bins of the
    training photometry, interpolated; mag)."""
    p = phot.copy()
    edges, med = state["err_curve"]
    centres = 0.5 * (edges[:-1] + edges[1:])
    ok = np.isfinite(med)
    p["mag_err"] = np.interp(p["mag"].to_numpy(float), centres[ok], med[ok])
    return p


def fit_err_curve(phot: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges, median mag_err per bin) of the training photometry (mag)."""
    mag, err = phot["mag"].to_numpy(float), phot["mag_err"].to_numpy(float)
    edges = np.arange(np.floor(np.nanmin(mag)), np.ceil(np.nanmax(mag)) + 0.25, 0.25)
    idx = np.clip(np.digitize(mag, edges) - 1, 0, edges.size - 2)
    med = np.array([np.nanmedian(err[idx == i]) if np.sum(idx == i) >= 20 else np.nan for i in range(edges.size - 1)])
    return edges, med


def aug_zp(phot: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Training augmentation: every object gets a random zero point (N(0, 0.5) mag) and its error bars a
    random scale (log-uniform 0.7-1.5); one draw per object, the set keeps its size."""
    rng = np.random.default_rng(seed)
    ids = phot["object_id"].unique()
    shift = pd.Series(rng.normal(0.0, 0.5, ids.size), index=ids)
    scale = pd.Series(np.exp(rng.uniform(np.log(0.7), np.log(1.5), ids.size)), index=ids)
    p = phot.copy()
    p["mag"] = p["mag"] + p["object_id"].map(shift).to_numpy()
    p["mag_err"] = p["mag_err"] * p["object_id"].map(scale).to_numpy()
    return p


def _galactic_patch(fold: bool):
    """A context manager under which the classifier's context reads Galactic longitude 0 and latitude b (or |b|
    with ``fold``), for a variant that leaves the footprint's longitude (and hemisphere) out."""
    import unittest.mock

    from skysift.features import context

    real = context.galactic_coordinates

    def reduced(ra_deg, dec_deg):
        gl, gb = real(ra_deg, dec_deg)
        return np.zeros_like(gl), (np.abs(gb) if fold else gb)

    return unittest.mock.patch.object(context, "galactic_coordinates", reduced)


def _lc_scaled_patch():
    """A context manager under which a new model also standardises its light-curve features (the ``lc_`` columns;
    skysift scales only the base features and the running statistics): a variant, measured before any change."""
    import unittest.mock

    from skysift.features.sequences import BASE_FEATURES, Standardizer
    from skysift.model import estimator

    def scaler(batch, config):
        scaled = [n in BASE_FEATURES or n.startswith(("stat_", "lc_")) for n in config.feature_names]
        return Standardizer.fit(batch.values[batch.mask], scaled)

    return unittest.mock.patch.object(estimator, "fit_sequence_scaler", scaler)


def _forest_patch(**settings):
    """The forest part grown with other settings of :func:`skysift.model.forest.fit_forest` (criterion,
    min_samples_leaf, n_trees) for the whole run."""
    import functools
    import unittest.mock

    from skysift.model import blend, forest

    return unittest.mock.patch.object(blend, "fit_forest", functools.partial(forest.fit_forest, **settings))


def _macro_ap(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean over the classes of the one-vs-rest average precision (sklearn's step-wise AP)."""
    from sklearn.metrics import average_precision_score

    return float(np.mean([average_precision_score(y == k, proba[:, k]) for k in range(proba.shape[1])]))


def _blend_score_patch(ap_weight: float):
    """A context manager under which the blend weights are chosen on validation by
    (1 - ap_weight) * Hand & Till AUC + ap_weight * macro average precision (the default: the AUC alone):
    AP rewards the top of each class's ranking, where the decisions are made."""
    import unittest.mock

    from skysift.model import blend
    from skysift.model.train import multiclass_auc

    def score(y, proba):
        return (1.0 - ap_weight) * multiclass_auc(y, proba) + ap_weight * _macro_ap(np.asarray(y), proba)

    return unittest.mock.patch.object(blend, "multiclass_auc", score)


def _variants() -> dict[str, dict]:
    from skysift.features.context import ContextConfig

    return {
        "default": {},
        "no_gal_dist": {"kw": {"context": ContextConfig(galaxy_distance=False)}},
        "no_context": {"kw": {"use_context": False}},
        "no_galactic": {"kw": {"context": ContextConfig(galactic=False)}},
        "gal_clip10": {"kw": {"context": ContextConfig(match_radius_arcsec=10.0, dummy_distance_arcsec=10.0)}},
        "rel_first": {"phot": [rel_first]},
        "common_err": {"phot": [common_err]},
        "aug_zp": {"aug": True},
        "rel_first+common_err": {"phot": [rel_first, common_err]},
        "rel_first+no_gal_dist": {"phot": [rel_first], "kw": {"context": ContextConfig(galaxy_distance=False)}},
        "common_err+no_gal_dist": {"phot": [common_err], "kw": {"context": ContextConfig(galaxy_distance=False)}},
        "aug_zp+no_gal_dist": {"aug": True, "kw": {"context": ContextConfig(galaxy_distance=False)}},
        "network_only": {"kw": {"boost": False, "forest": False}},
        "no_stats": {"kw": {"stats": False}},
        "no_prefix_aug": {"kw": {"prefix_augment": 0.0}},
        # stats=False also drops the trees (they are grown on the statistics)
        "no_stats+no_gal_dist": {"kw": {"stats": False, "context": ContextConfig(galaxy_distance=False)}},
        "no_stats+no_context": {"kw": {"stats": False, "use_context": False}},
        "network_only+no_context": {"kw": {"boost": False, "forest": False, "use_context": False}},
        "network_only+no_gal_dist": {"kw": {"boost": False, "forest": False,
                                            "context": ContextConfig(galaxy_distance=False)}},
        # the galaxy distance kept, with copies of a fraction of the training objects at another class's
        # distance (Classifier(context_mix=f), skysift.model.augment)
        "gal_dist": {"kw": {"galaxy_distance": True}},  # the former default (the preset now has none)
        **{f"ctxmix{f:g}": {"kw": {"galaxy_distance": True, "context_mix": f}} for f in (0.25, 0.5, 0.75, 1.0)},
        # the default since 2026-12-04 (ctxmix1) with one more change (issue 19, next round)
        "ctxmix1+no_galactic": {"kw": {"galaxy_distance": True, "context_mix": 1.0,
                                       "context": ContextConfig(galactic=False)}},
        "ctxmix1+rel_first": {"phot": [rel_first], "kw": {"galaxy_distance": True, "context_mix": 1.0}},
        "ctxmix1+common_err": {"phot": [common_err], "kw": {"galaxy_distance": True, "context_mix": 1.0}},
        # Galactic coordinates reduced (a patch of the context's galactic_coordinates for the whole run; the
        # columns keep their names): longitude constant (0), latitude kept (no_l) or folded to |b| (abs_b)
        "ctxmix1+no_l": {"kw": {"galaxy_distance": True, "context_mix": 1.0}, "patch": lambda: _galactic_patch(False)},
        "ctxmix1+abs_b": {"kw": {"galaxy_distance": True, "context_mix": 1.0}, "patch": lambda: _galactic_patch(True)},
        # copies only where the donor's galaxy is nearer than the object's own (augment.mix_context direction)
        "ctxmix1_nearer": {"kw": {"galaxy_distance": True, "context_mix": 1.0}, "mix_direction": "nearer"},
        "network_only+no_gal_dist+offsets": {"kw": {"boost": False, "forest": False, "calibration": "offsets",
                                                    "context": ContextConfig(galaxy_distance=False)}},
        # the host prior (skysift.model.decisions.fit_host_offsets) fitted on val after the model: the
        # nearest-galaxy distance may change the odds of two classes by at most the factor given
        **{f"{base}+prior{odds}": {**spec, "prior": odds}
           for base, spec in (("network_only+no_gal_dist", {"kw": {"boost": False, "forest": False,
                                                                   "context": ContextConfig(galaxy_distance=False)}}),
                              ("no_gal_dist", {"kw": {"context": ContextConfig(galaxy_distance=False)}}))
           for odds in (2, 4, 10, 1000)},
        # the host prior fitted for each n on the validation objects' first n observations (as the
        # temperature is fitted per range of n), applied at that n
        "no_gal_dist+prior2n": {"kw": {"context": ContextConfig(galaxy_distance=False)}, "prior": 2, "per_n": True},
        "no_gal_dist+prior4n": {"kw": {"context": ContextConfig(galaxy_distance=False)}, "prior": 4, "per_n": True},
        # the light-curve package's features of the points so far as step inputs (issue 19, the measured next
        # step: Classifier(lc_features=True), skysift.features.lightcurve)
        "lc_features": {"kw": {"lc_features": True}},
        "lc_features+no_galactic": {"kw": {"lc_features": True, "context": ContextConfig(galactic=False)}},
        # ... and boosted trees on those features and the context alone, a fourth part of the blend (lcboost)
        "lc_part": {"kw": {"lc_features": True, "lc_part": True}},
        # ... standardised like the statistics (they enter as asinh values otherwise)
        "lc_features_scaled": {"kw": {"lc_features": True}, "patch": _lc_scaled_patch},
        # the blend weights chosen on validation by the AUC and the macro average precision together (0.5), or
        # by the average precision alone (1)
        "blend_aucap": {"patch": lambda: _blend_score_patch(0.5)},
        "blend_ap": {"patch": lambda: _blend_score_patch(1.0)},
        # the forest part grown as the feature peer's balanced forest is (entropy, leaves of one object, 500 trees),
        # or with one of those settings alone
        "forest_peer": {"patch": lambda: _forest_patch(criterion="entropy", min_samples_leaf=1, n_trees=500)},
        "forest_leaf1": {"patch": lambda: _forest_patch(min_samples_leaf=1)},
        "forest_entropy": {"patch": lambda: _forest_patch(criterion="entropy")},
        # the galaxy distance read as it is (no copies) behind the host gate (Classifier(host_gate=t),
        # skysift.model.host_gate; benchmarks/xs_host_gate.py measured the gate outside the model first)
        **{f"host_gate{t:g}": {"kw": {"galaxy_distance": True, "context_mix": 0.0, "host_gate": t}}
           for t in (0.1, 0.2, 0.3, 0.5)},
        # ... with the network's least blend weight 0.6 (the floor that transferred best, "The network's share")
        "host_gate0.1+net0.6": {"kw": {"galaxy_distance": True, "context_mix": 0.0, "host_gate": 0.1,
                                       "min_network_weight": 0.6}},
        # ... with copies at the "no galaxy" distance (with a gate, context_mix makes those: the far reading learns
        # what the light curve says when the galaxy is not known; before, ctxmix0.5+host_gate0.2 / 0.3 had copies at
        # another class's distance: xs_host_gate_option.jsonl, docs/results.md)
        **{f"hide{f:g}+host_gate{t:g}": {"kw": {"galaxy_distance": True, "context_mix": f, "host_gate": t}}
           for f in (0.5, 1.0) for t in (0.1, 0.25, 0.5)},
        # (gate0.1, gate0.25 in xs_gate.jsonl: Classifier(network_gate=...) of commit df11f87, measured and removed)
        # the damped host prior: the offsets times how unsure the light curve is (decisions.host_weight)
        **{f"no_gal_dist+dprior{odds}": {"kw": {"context": ContextConfig(galaxy_distance=False)}, "prior": odds,
                                         "damped": True}
           for odds in (4, 10, 30, 100)},
    }


# --------------------------------------------------------------------------- data


def _with_phot(lcset, phot: pd.DataFrame, objects: pd.DataFrame | None = None):
    from skysift.io.tables import LightCurveSet

    return LightCurveSet(phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True),
                         lcset.objects if objects is None else objects, lcset.name)


def inner_sets(lcset, rotation: int):
    """(fit_train, fit_val, inner_xs, held-out sources) of a rotation (module docstring)."""
    from skysift.benchsets.goto3_xs import object_sources
    from skysift.benchsets.xs_splits import held_out_sources

    _, train, val, _test = split_sets(lcset, rotation)
    pool_ids = np.concatenate([train.object_ids, val.object_ids]).astype(str)
    pool = lcset.subset(pool_ids)
    src = object_sources(pool)
    held = held_out_sources(pool.labels, src, 1)
    is_inner = np.array([held[c] == s for c, s in zip(pool.labels.astype(str), src)], bool)
    inner_ids = set(pool_ids[is_inner].tolist())

    def keep(s):
        return s.subset([i for i in s.object_ids.astype(str) if i not in inner_ids])

    return keep(train), keep(val), pool.subset(pool_ids[is_inner]), held


def near_galaxy_set(val, n: int, seed: int):
    """``n`` random variable stars of ``val``, each moved 1 arcsec north of a random Mangrove galaxy."""
    from skysift.io.catalogs import load_catalog

    rng = np.random.default_rng(seed)
    vs = val.object_ids[val.labels.astype(str) == "VS"].astype(str)
    pick = rng.choice(vs, size=min(n, vs.size), replace=False)
    s = val.subset(pick)
    gal = load_catalog("mangrove").to_frame()
    g = gal.iloc[rng.choice(len(gal), size=len(pick), replace=False)]
    objects = s.objects.copy()
    objects["ra"] = g["ra"].to_numpy(float)
    objects["dec"] = np.clip(g["dec"].to_numpy(float) + GAL_OFFSET_ARCSEC / 3600.0, -90, 90)
    return _with_phot(s, s.photometry, objects)


# --------------------------------------------------------------------------- metrics


def scores(y: np.ndarray, proba: np.ndarray, classes: list[str], weights: np.ndarray | None) -> dict:
    from sklearn.metrics import f1_score, roc_auc_score

    from skysift.model.decisions import weighted_decision

    labels = np.arange(len(classes))
    out = {"hand_till_auc": float(roc_auc_score(y, proba, multi_class="ovo", average="macro", labels=labels)),
           "macro_f1_argmax": float(f1_score(y, proba.argmax(1), labels=labels, average="macro", zero_division=0)),
           "auc_ovr": {c: float(roc_auc_score(y == i, proba[:, i])) for i, c in enumerate(classes)}}
    from skysift.evaluate.calibration import expected_calibration_error

    out["ece_top"] = float(expected_calibration_error(np.asarray(classes)[y], proba, classes, 15, "top"))
    if weights is not None:
        pred = weighted_decision(proba, weights)
        out["macro_f1"] = float(f1_score(y, pred, labels=labels, average="macro", zero_division=0))
        out["recall"] = {c: float(np.mean(pred[y == i] == i)) for i, c in enumerate(classes)}
    return out


def galaxy_test(near: np.ndarray, home: np.ndarray, lc: np.ndarray | None = None) -> dict:
    """The galaxy test's figures from P(SN) of the same variable stars next to a galaxy (``near``) and at their own
    positions (``home``); with ``lc`` (P(SN) from the light curve alone) also the share called SN against it."""
    out = {"gal_p_sn_gt_0.5": float(np.mean(near > 0.5)), "gal_median_p_sn": float(np.median(near)),
           # called SN next to the galaxy although at its own position P(SN) < 0.25
           "gal_sn_against_home": float(np.mean((near > 0.5) & (home < 0.25))),
           "home_p_sn_gt_0.5": float(np.mean(home > 0.5))}
    if lc is not None:  # called SN although the light curve alone gives P(SN) < 0.25
        out["gal_sn_against_lc"] = float(np.mean((near > 0.5) & (lc < 0.25)))
    return out


def auc_and_macro_f1(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> dict:
    """Hand & Till AUC (skysift's :func:`~skysift.model.train.multiclass_auc`) and macro F1 of the decisions at class
    ``weights`` (fitted on validation), of class codes ``y`` and probabilities (n, K)."""
    from sklearn.metrics import f1_score

    from skysift.model.decisions import weighted_decision
    from skysift.model.train import multiclass_auc

    return {"auc": multiclass_auc(y, proba),
            "macro_f1": float(f1_score(y, weighted_decision(proba, weights), average="macro"))}


_FITTED: dict = {}  # the last fitted model, by (spec without the prior, rotation, seed)


def run_variant(bd, name: str, spec: dict, rotation: int, n_gal: int, seed_index: int = 0) -> dict:
    from skysift.classifier import Classifier
    from skysift.model.decisions import fit_class_weights

    train, val, inner, held = inner_sets(bd.lcset, rotation)
    gal = near_galaxy_set(val, n_gal, seed=rotation)
    gal_home = val.subset(gal.object_ids)  # the same stars where they are (their light curve's own verdict)
    state = {"err_curve": fit_err_curve(train.photometry)}

    def tf(s):
        p = s.photometry
        for f in spec.get("phot", []):
            p = f(p, state)
        return _with_phot(s, p) if spec.get("phot") else s

    fit_train = tf(train)
    if spec.get("aug"):
        fit_train = _with_phot(fit_train, aug_zp(fit_train.photometry, seed=100 + rotation))
    fit_val, inner_t, gal_t, home_t = tf(val), tf(inner), tf(gal), tf(gal_home)
    seed = rotation + 10 * seed_index  # seed index 0: the seed is the rotation (the first sweep)
    clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False,
                     **{**spec.get("kw", {}), "final_trees": "train"})
    t0 = time.perf_counter()
    key = (repr({k: v for k, v in spec.items() if k not in ("prior", "damped", "per_n")}), rotation, seed)
    if key in _FITTED:  # the prior variants share their base model
        clf = _FITTED[key]
    else:
        import functools
        import unittest.mock

        from skysift.model import augment, parts

        mixer = functools.partial(augment.mix_context, direction=spec.get("mix_direction", "any"))
        with unittest.mock.patch.object(parts, "mix_context", mixer):
            clf.fit(fit_train, fit_val)
        _FITTED.clear()
        _FITTED[key] = clf
    fit_s = time.perf_counter() - t0
    classes = [str(c) for c in clf.classes_]
    idx = pd.Index(classes)
    y_val, y_in = idx.get_indexer(fit_val.labels.astype(str)), idx.get_indexer(inner_t.labels.astype(str))
    sn = classes.index("SN")
    rec = {"variant": name, "rotation": rotation, "seed": seed, "held_inner": held, "n_train": len(fit_train.object_ids),
           "n_val": len(y_val), "n_inner": len(y_in), "n_gal": len(gal.object_ids),
           "best_epoch": getattr(clf, "best_epoch_", None), "fit_seconds": round(fit_s, 1), "by_n": {}}
    prior = None
    if spec.get("prior"):
        from skysift.model.decisions import fit_host_offsets, host_bins, host_weight
        from skysift.numeric import softmax
        damped = bool(spec.get("damped"))

        def bins_of(s):
            o = s.objects
            return host_bins(bd.galaxy_catalog.nearest_distance(o["ra"].to_numpy(float), o["dec"].to_numpy(float)))

        b_val, b_in, b_gal, b_home = bins_of(fit_val), bins_of(inner_t), bins_of(gal_t), bins_of(home_t)

        def fitted_offsets(n):
            lp = np.log(np.maximum(clf.predict_proba(fit_val, max_observations=n), 1e-12))
            return fit_host_offsets(lp, b_val, y_val, float(spec["prior"]), damped=damped)

        offsets = {n: fitted_offsets(n) for n in N_OBS} if spec.get("per_n") else dict.fromkeys(N_OBS, fitted_offsets(None))
        rec["host_offsets"] = offsets[None].round(3).tolist()

        def prior(p, b, n):
            lp = np.log(np.maximum(p, 1e-12))
            return softmax(lp + (host_weight(lp)[:, None] if damped else 1.0) * offsets[n][b])
    for n in N_OBS:
        key = "all" if n is None else str(n)
        pv = clf.predict_proba(fit_val, max_observations=n)
        pi = clf.predict_proba(inner_t, max_observations=n)
        pg = clf.predict_proba(gal_t, max_observations=n)
        pg_lc = pg  # for a model without the galaxy distance as input (and before any prior): the light curve's
        ph = clf.predict_proba(home_t, max_observations=n)  # the same stars at their own positions
        if prior is not None:
            pv, pi, pg, ph = prior(pv, b_val, n), prior(pi, b_in, n), prior(pg, b_gal, n), prior(ph, b_home, n)
        w = fit_class_weights(y_val, pv)
        rec["by_n"][key] = {"val": scores(y_val, pv, classes, w), "inner_xs": scores(y_in, pi, classes, w),
                            **galaxy_test(pg[:, sn], ph[:, sn], pg_lc[:, sn])}
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def finished(path: Path, variant: bool = True) -> set[tuple]:
    """(variant, rotation, seed) of every record of ``path``; (rotation, seed) with ``variant=False`` (the
    benchmarks whose lines hold one run each: xs_feature_part.py, xs_stacking.py)."""
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            run = (int(r["rotation"]), int(r.get("seed", r["rotation"])))
            done.add((r["variant"], *run) if variant else run)
    return done


#: Rotations whose inner held-out sources are another rotation's test sources *and* whose fitting pool is
#: that rotation's: rotation 2 holds out MANTRA blazars, ZTF BTS and CSS north inside its pool, which are
#: exactly rotation 1's test objects, with the same fitting objects as rotation 1. Its ``inner_xs`` scores are
#: kept in the JSON lines but left out of the tables, so that a default chosen on them can still be tested
#: on rotation 1. (Rotations 0 and 1 hold out Stripe 82 RR Lyrae, OSC pre-1990 SN and MACHO quasars:
#: rotation 2's test sources, whose model is fitted on a different pool.)
INNER_XS_LEFT_OUT = (2,)


def table(path: Path, summary: bool = False) -> str:
    """Markdown tables of the JSON lines: per variant and criterion, AUC / macro F1 at n = 1, 3, 6, all
    (mean over the rotations run, with the range when there are several), and the one-vs-rest AUCs."""
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    order = list(_variants())
    by: dict[str, list[dict]] = {}
    for r in recs:
        by.setdefault(r["variant"], []).append(r)
    names = sorted(by, key=lambda v: order.index(v) if v in order else len(order))

    def cell(rs, crit, n, key):
        v = np.array([r["by_n"][n][crit][key] for r in rs])
        return f"{v.mean():.3f}" + (f" ({v.min():.3f}-{v.max():.3f})" if v.size > 1 else "")

    def gal(rs, n):
        v = np.array([r["by_n"][n]["gal_p_sn_gt_0.5"] for r in rs])
        return f"{v.mean():.2f}" + (f" ({v.min():.2f}-{v.max():.2f})" if v.size > 1 else "")

    ns = ["1", "3", "6", "all"]
    lines = ["| variant | criterion | rotation(s) | " + " | ".join(f"AUC n={n}" for n in ns) + " | "
             + " | ".join(f"F1 n={n}" for n in ns) + " | VS near galaxy: P(SN)>0.5 (n=all) |",
             "|---|---|---|" + "---|" * (2 * len(ns) + 1)]
    groups = []
    for v in names:
        rs = sorted(by[v], key=lambda r: r["rotation"])
        groups += [(v, rs)] if summary else [(v, [r]) for r in rs] + ([(v, rs)] if len(rs) > 1 else [])
    for v, rs in groups:
        rots = ",".join(str(r["rotation"]) for r in rs) + (" (mean, range)" if len(rs) > 1 else "")
        for crit in ("val", "inner_xs"):
            if crit == "inner_xs":
                rs_c = [r for r in rs if r["rotation"] not in INNER_XS_LEFT_OUT]
                if not rs_c:
                    continue
                rots = ",".join(str(r["rotation"]) for r in rs_c) + (" (mean, range)" if len(rs_c) > 1 else "")
            else:
                rs_c = rs
            lines.append(f"| {v} | {crit} | {rots} | " + " | ".join(cell(rs_c, crit, n, "hand_till_auc") for n in ns)
                         + " | " + " | ".join(cell(rs_c, crit, n, "macro_f1") for n in ns)
                         + f" | {gal(rs_c, 'all') if crit == 'val' else ''} |")
    lines += ["", "| variant | criterion | rotation(s) | AUC one-vs-rest at n = all: AGN | SN | VS | recall AGN | SN | VS |",
              "|---|---|---|---|---|---|---|---|---|"]
    for v, rs in groups:
        rots = ",".join(str(r["rotation"]) for r in rs) + (" (mean)" if len(rs) > 1 else "")
        for crit in ("val", "inner_xs"):
            rs_c = [r for r in rs if crit == "val" or r["rotation"] not in INNER_XS_LEFT_OUT]
            if not rs_c:
                continue
            rots = ",".join(str(r["rotation"]) for r in rs_c) + (" (mean)" if len(rs_c) > 1 else "")
            ovr = [np.mean([r["by_n"]["all"][crit]["auc_ovr"][c] for r in rs_c]) for c in ("AGN", "SN", "VS")]
            rec = [np.mean([r["by_n"]["all"][crit]["recall"][c] for r in rs_c]) for c in ("AGN", "SN", "VS")]
            lines.append(f"| {v} | {crit} | {rots} | " + " | ".join(f"{x:.2f}" for x in ovr + rec) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="1")
    p.add_argument("--variants", default=",".join(_variants()))
    p.add_argument("--seeds", default="0", help="seed indices k (model seed = rotation + 10 k; default 0)")
    p.add_argument("--n-gal", type=int, default=300)
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--table", action="store_true", help="print the markdown tables of --out and stop")
    p.add_argument("--summary", action="store_true", help="with --table: one row per variant and criterion")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.table:
        print(table(out, summary=args.summary))
        return 0
    specs = _variants()
    bd = load_benchmark_data("goto3_xs", cache=str(ROOT / "runs" / "goto3_xs"))
    bd.name = "goto3_xs"
    jobs = [(k, rot, name) for k in (int(x) for x in args.seeds.split(","))
            for rot in (int(r) for r in args.rotations.split(",")) for name in args.variants.split(",")]
    for k, rot, name in jobs:
        if (name, rot, rot + 10 * k) in finished(out):
            continue
        print(f"{time.strftime('%H:%M:%S')} {name} rotation {rot} seed {rot + 10 * k}", file=sys.stderr, flush=True)
        with specs[name].get("patch", contextlib.nullcontext)():
            rec = run_variant(bd, name, specs[name], rot, args.n_gal, k)
        with out.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        a = rec["by_n"]["all"]
        print(f"{time.strftime('%H:%M:%S')} {name} r{rot}: val AUC {a['val']['hand_till_auc']:.3f} inner_xs AUC "
              f"{a['inner_xs']['hand_till_auc']:.3f} gal P(SN)>0.5 {a['gal_p_sn_gt_0.5']:.2f} "
              f"({rec['seconds']} s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
