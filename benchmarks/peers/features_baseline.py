"""Feature-based peer baseline (as in the ALeRCE light-curve classifier): light-curve features + forests.

Features, per band (``light-curve`` package, Rust; names prefixed ``{band}_``):
Amplitude, BeyondNStd(1), Cusum, Eta, EtaE, InterPercentileRange(0.1), Kurtosis, LinearTrend
(slope, its sigma, noise), MaximumSlope, Mean, Median, MedianAbsoluteDeviation, PercentAmplitude,
ReducedChi2, Skew, StandardDeviation, StetsonK, WeightedMean, Periodogram (best period and its
signal-to-noise), ObservationCount and Duration; plus the context skysift uses: galactic l and b,
the distance to the nearest Mangrove galaxy (60 arcsec radius, 100 arcsec when none) and the
data set's own numeric context columns (PLAsTiCC: host photo-z, its error, MW E(B-V)).

Short light curves: every feature needs a minimum number of points (1 for Amplitude, Mean, ...;
2 for Eta, StetsonK, ...; 3 for LinearTrend, Skew; 4 for Kurtosis; the periodogram is computed
from 5 points on). A feature is NaN for a light curve (or band) with fewer points, and for a
band with no points at all. HistGradientBoosting handles NaN natively; for the random forest
NaN becomes -999 (as ALeRCE does), a value no feature takes, so trees can split on "missing".

Models: imbalanced-learn's BalancedRandomForestClassifier (each tree on a class-balanced
bootstrap; ALeRCE's choice; falls back to sklearn RandomForest with
``class_weight="balanced_subsample"`` when imbalanced-learn is missing) and sklearn's
HistGradientBoostingClassifier with ``class_weight="balanced"``. Neither uses a validation
set, so both train on train + validation of the common split and report on test.

Usage::

    python benchmarks/peers/features_baseline.py --data crts3 --split-seed 0 --out results.json
    python benchmarks/peers/features_baseline.py --data plasticc14 --models brf --out p14.json
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peerlib import (  # noqa: E402
    Timer,
    classification_metrics,
    concat_sets,
    load_benchmark_data,
    result_record,
    split_sets,
    write_results,
)

from skysift.io.tables import LightCurveSet  # noqa: E402

NAN_FILL_RF = -999.0
PERIODOGRAM_MIN_POINTS = 5


def _feature_groups():
    """(minimum number of points, [features]) for the light-curve package's extractors."""
    import light_curve as lc

    return [
        (1, [lc.Amplitude(), lc.InterPercentileRange(0.1), lc.Mean(), lc.Median(), lc.MedianAbsoluteDeviation(),
             lc.PercentAmplitude(), lc.WeightedMean(), lc.ObservationCount(), lc.Duration()]),
        (2, [lc.BeyondNStd(1), lc.Cusum(), lc.Eta(), lc.EtaE(), lc.MaximumSlope(), lc.ReducedChi2(),
             lc.StandardDeviation(), lc.StetsonK()]),
        (3, [lc.LinearTrend(), lc.Skew()]),
        (4, [lc.Kurtosis()]),
        (PERIODOGRAM_MIN_POINTS, [lc.Periodogram(peaks=1, fast=True)]),
    ]


def feature_names() -> list[str]:
    import light_curve as lc

    return [n for _, feats in _feature_groups() for n in lc.Extractor(*feats).names]


def _per_band_arrays(lcset: LightCurveSet, bands: list[str]):
    """For each band: list (object-table order) of (t, m, sigma) float64 arrays (possibly empty)."""
    ph = lcset.photometry
    ids = lcset.objects["object_id"].astype(str).to_numpy()
    code = pd.Index(ids).get_indexer(ph["object_id"].astype(str).to_numpy())
    band = ph["band"].astype(str).to_numpy() if "band" in ph and len(bands) > 1 else np.full(len(ph), bands[0])
    bcode = pd.Index(bands).get_indexer(band)
    t = ph["mjd"].to_numpy(float)
    keep = (code >= 0) & (bcode >= 0)
    code, bcode, t = code[keep], bcode[keep], t[keep]
    m = ph["mag"].to_numpy(float)[keep]
    s = np.clip(ph["mag_err"].to_numpy(float)[keep], 1e-3, None)
    order = np.lexsort((t, code, bcode))
    code, bcode, t, m, s = code[order], bcode[order], t[order], m[order], s[order]
    out = {}
    for bi, b in enumerate(bands):
        sel = bcode == bi
        c, tb, mb, sb = code[sel], t[sel], m[sel], s[sel]
        counts = np.bincount(c, minlength=len(ids))
        cuts = np.cumsum(counts)[:-1]
        out[b] = (np.split(tb, cuts), np.split(mb, cuts), np.split(sb, cuts), counts)
    return out


def extract_features(lcset: LightCurveSet, bands: list[str] | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Light-curve features per object (rows in object-table order), NaN where a band has too few points."""
    import light_curve as lc

    bands = bands or lcset.bands
    arrays = _per_band_arrays(lcset, bands)
    cols: dict[str, np.ndarray] = {}
    n = len(lcset)
    for b in bands:
        ts, ms, ss, counts = arrays[b]
        for min_n, feats in _feature_groups():
            ext = lc.Extractor(*feats)
            vals = np.full((n, len(ext.names)), np.nan)
            ok = np.flatnonzero(counts >= min_n)
            if ok.size:
                batch = [(ts[i], ms[i], ss[i]) for i in ok]
                vals[ok] = ext.many(batch, fill_value=np.nan, sorted=True, check=False, n_jobs=n_jobs)
            for j, name in enumerate(ext.names):
                cols[f"{b}_{name}"] = vals[:, j]
    df = pd.DataFrame(cols, index=lcset.objects["object_id"].astype(str).to_numpy())
    df["n_points_all"] = lcset.photometry.groupby("object_id").size().reindex(df.index).to_numpy(float)
    return df


def context_block(lcset: LightCurveSet, catalog, mode: str = "full") -> pd.DataFrame:
    """The context skysift uses: gal_l, gal_b, galaxy distance and the set's numeric context columns.

    mode ``full`` (default, as skysift), ``abs_b`` (|b| instead of l and b) or ``none``.
    """
    from skysift.context import ContextConfig, context_features

    idx = lcset.objects["object_id"].astype(str).to_numpy()
    if mode == "none":
        return pd.DataFrame(index=idx)
    cfg = ContextConfig(galaxy_distance=catalog is not None)
    ctx = context_features(lcset.objects, catalog, cfg)
    if mode == "abs_b":
        ctx["abs_gal_b"] = np.abs(ctx["gal_b"])
        ctx = ctx.drop(columns=["gal_l", "gal_b"])
    elif mode != "full":
        raise ValueError(f"context mode must be full, abs_b or none, got {mode!r}")
    ctx.index = idx
    return ctx


def _make_model(kind: str, seed: int, n_jobs: int):
    if kind == "brf":
        try:
            from imblearn.ensemble import BalancedRandomForestClassifier

            return BalancedRandomForestClassifier(
                n_estimators=500, criterion="entropy", max_features="sqrt", sampling_strategy="all",
                replacement=True, bootstrap=False, n_jobs=n_jobs, random_state=seed,
            ), "imblearn.BalancedRandomForestClassifier"
        except ImportError:
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(
                n_estimators=500, criterion="entropy", class_weight="balanced_subsample", n_jobs=n_jobs,
                random_state=seed,
            ), "sklearn.RandomForestClassifier(class_weight=balanced_subsample)"
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            class_weight="balanced", max_iter=300, learning_rate=0.1, max_leaf_nodes=31, l2_regularization=1.0,
            early_stopping=False, random_state=seed,
        ), "sklearn.HistGradientBoostingClassifier(class_weight=balanced)"
    raise ValueError(f"unknown model {kind!r} (brf, hgb)")


@dataclass
class Baseline:
    """A fitted feature baseline: the model, its feature columns and what produced them."""

    model: object
    kind: str
    model_name: str
    columns: list[str]
    bands: list[str]
    context: str
    catalog: object | None = None
    n_jobs: int = 1
    classes_: np.ndarray = field(default_factory=lambda: np.array([]))

    def features(self, lcset: LightCurveSet) -> np.ndarray:
        f = extract_features(lcset, self.bands, self.n_jobs).join(context_block(lcset, self.catalog, self.context))
        x = f.reindex(columns=self.columns).to_numpy(float)
        return np.nan_to_num(x, nan=NAN_FILL_RF, posinf=NAN_FILL_RF, neginf=NAN_FILL_RF) if self.kind == "brf" else x


def fit_baseline(train_lcset: LightCurveSet, *, model: str = "brf", catalog=None, context: str = "full",
                 seed: int = 0, n_jobs: int = 1, bands: list[str] | None = None) -> Baseline:
    """Extract features from ``train_lcset`` (labelled) and fit the model (``brf`` or ``hgb``)."""
    if train_lcset.labels is None:
        raise ValueError("fit_baseline needs labels")
    bands = bands or train_lcset.bands
    feats = extract_features(train_lcset, bands, n_jobs).join(context_block(train_lcset, catalog, context))
    est, name = _make_model(model, seed, n_jobs)
    base = Baseline(est, model, name, list(feats.columns), bands, context, catalog, n_jobs)
    x = feats.to_numpy(float)
    if model == "brf":
        x = np.nan_to_num(x, nan=NAN_FILL_RF, posinf=NAN_FILL_RF, neginf=NAN_FILL_RF)
    est.fit(x, train_lcset.labels.astype(str))
    base.classes_ = np.asarray(est.classes_).astype(str)
    return base


def predict_proba(baseline: Baseline, lcset: LightCurveSet) -> np.ndarray:
    """Class probabilities (columns ``baseline.classes_``) for every object of ``lcset``, in object order."""
    return baseline.model.predict_proba(baseline.features(lcset))


def run(data: str, split_seed: int = 0, models=("brf", "hgb"), context: str = "full", seed: int = 0,
        n_jobs: int = 1, cache: str | None = None) -> list[dict]:
    bd = load_benchmark_data(data, seed=seed, cache=cache)
    lcset = bd.lcset
    print(f"{lcset!r}", file=sys.stderr)
    split, train, val, test = split_sets(lcset, split_seed)
    trainval = concat_sets(train, val)
    records = []
    for kind in models:
        with Timer() as tt:
            base = fit_baseline(trainval, model=kind, catalog=bd.galaxy_catalog, context=context, seed=seed,
                                n_jobs=n_jobs)
        with Timer() as tp:
            proba = predict_proba(base, test)
        met = classification_metrics(test.labels, proba, base.classes_)
        rec = result_record(
            f"features_{kind}" + ("" if context == "full" else f"_ctx-{context}"), bd.name, split_seed, met,
            tt.seconds, len(test) / max(tp.seconds, 1e-9),
            n_train=len(trainval), n_test=len(test), classes=base.classes_.tolist(),
            params={"model": base.model_name, "context": context, "n_features": len(base.columns),
                    "bands": base.bands, "trained_on": "train+validation", "n_jobs": n_jobs},
        )
        records.append(rec)
        print(f"  {rec['method']}: AUC {met['auc']:.4f}  macro F1 {met['macro_f1']:.4f}  recall@1%FPR "
              f"{', '.join(f'{k} {v:.3f}' for k, v in met['minority_recall_at_1pct_fpr'].items())}  "
              f"train {tt.seconds:.1f} s  predict {rec['predict_curves_per_s']:.0f} curves/s", file=sys.stderr)
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="crts3, plasticc3, plasticc14, a skysift dataset name or a directory")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0, help="build and model seed")
    p.add_argument("--models", default="brf,hgb", help="comma-separated: brf, hgb")
    p.add_argument("--context", default="full", choices=["full", "abs_b", "none"],
                   help="context features: as skysift (l, b, galaxy distance, set's columns), |b| instead of l/b, none")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--cache", help="directory to save/reuse the built data set")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    t = time.perf_counter()
    recs = run(args.data, args.split_seed, args.models.split(","), args.context, args.seed, args.n_jobs, args.cache)
    write_results(args.out, recs)
    print(f"wrote {args.out} ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
