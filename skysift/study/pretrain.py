"""Pretrained models shipped in the package, loadable by name, and the one command that remakes them.

``Classifier.load("goto3")`` (and ``skysift predict --model goto3``) reads
``skysift/models/goto3.pt``: skysift's default model trained on the ``goto3`` benchmark (split seed
0: trained on its training objects, epoch, temperature and thresholds chosen on its validation
objects, scored on its test objects). Its model card, ``skysift/models/goto3.md``, gives the
training data, the date, test metrics with bootstrap 95 % intervals at each number of
observations, and the known limits.

Retrain (needs ``../shared/data``; about an hour on 2 CPU cores)::

    python -m skysift.study.pretrain goto3
    python -m skysift.study.pretrain goto3 --novelty-only   # only the novelty score, on the same objects

The saved model computes the galaxy distance from the Mangrove catalogue alone (goto3's own
catalogue adds the host galaxies that moved with its objects during sky placement, which do not
exist on the real sky).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np

from skysift.features.context import GALAXY_DISTANCE_COLUMN
from skysift.model.shipped import MODELS_DIR, PRETRAINED, pretrained_path  # noqa: F401 - re-exported
from skysift.study.cards import novelty_text

N_OBS = (1, 3, 6, 10, None)


def _bootstrap(y, p, weights, n_boot: int, seed: int) -> dict:
    """Test AUC and macro F1 (weighted decision) with percentile 95 % intervals over ``n_boot``
    resamples of the objects (a resample missing a class is left out)."""
    from sklearn.metrics import f1_score

    from skysift.model.decisions import weighted_decision
    from skysift.numeric import bootstrap_values, hand_till_auc, percentile_interval

    k = p.shape[1]
    labels = np.arange(k)

    def metrics(idx):
        yy, pp = y[idx], p[idx]
        if len(np.unique(yy)) < k:
            return float("nan"), float("nan")
        return (hand_till_auc(yy, pp, k, require_all=True),
                f1_score(yy, weighted_decision(pp, weights), labels=labels, average="macro", zero_division=0))

    auc, f1 = metrics(np.arange(len(y)))
    lo, hi = percentile_interval(bootstrap_values(metrics, y, n_boot=n_boot, seed=seed, stratified=False))
    return {"auc": float(auc), "auc_ci": [float(lo[0]), float(hi[0])],
            "macro_f1": float(f1), "macro_f1_ci": [float(lo[1]), float(hi[1])]}


def train_pretrained(name: str = "goto3", out_dir: Path = MODELS_DIR, seed: int = 0, n_boot: int = 200,
                     data: str | Path | None = None) -> Path:
    """Train the shipped model ``name`` from scratch (on ``data``, default the named set built anew),
    write it and its model card; returns the model path."""
    from skysift.datasets import load_dataset
    from skysift.model.estimator import Classifier
    from skysift.splits import split_lightcurves

    if name not in PRETRAINED:
        raise SystemExit(f"unknown pretrained model {name!r} (known: {', '.join(PRETRAINED)})")
    ds = load_dataset(data or name, seed=0)
    ds.lcset.name = name
    _, train, val, test = split_lightcurves(ds.lcset, seed=seed)
    clf = Classifier(galaxy_catalog=ds.galaxy_catalog, seed=seed, progress=False, log_epochs=True)
    clf.fit(train, val)
    return write_pretrained(name, clf, ds.lcset, train, val, test, out_dir, seed, n_boot)


def write_pretrained(name, clf, lcset, train, val, test, out_dir: Path = MODELS_DIR, seed: int = 0,
                     n_boot: int = 200) -> Path:
    """Save a classifier fitted on ``train`` (choices on ``val``) as the shipped model ``name``, with its
    model card (test metrics with bootstrap intervals at each n) and metrics JSON."""
    from skysift.features.context import GalaxyCatalog
    from skysift.model.estimator import Classifier

    if getattr(clf, "catalog_", None) is not None:
        # on the real sky: the Mangrove catalogue only (not goto3's moved hosts), swapped in before
        # anything is measured
        mangrove = GalaxyCatalog.load("mangrove")
        clf.catalog_ = mangrove
        clf.galaxy_catalog = mangrove
    out_dir.mkdir(parents=True, exist_ok=True)
    path = clf.save(out_dir / PRETRAINED[name])
    write_card(name, Classifier.load(path), lcset, train, val, test, out_dir, seed, n_boot)
    return path


def write_card(name, shipped, lcset, train, val, test, out_dir: Path = MODELS_DIR, seed: int = 0,
               n_boot: int = 200) -> None:
    """The shipped model's card and metrics JSON, every figure measured on the file as shipped (``shipped``,
    loaded from it) on the ``test`` objects."""
    from skysift.evaluate.calibration import calibration_summary

    y = shipped._encode_labels(test.labels, "test")
    weights = np.asarray(shipped.decision_weights_)
    metrics = {}
    for n in N_OBS:
        p = shipped.predict_proba(test, max_observations=n)
        m = _bootstrap(y, p, weights, n_boot, seed)
        m["ece_top"] = float(calibration_summary(np.asarray(shipped.classes_)[y], p, list(shipped.classes_))["ece_top"])
        metrics["all" if n is None else str(n)] = m
    card = model_card(name, shipped, lcset, train, val, test, metrics)
    (out_dir / f"{name}.md").write_text(card)
    (out_dir / f"{name}.metrics.json").write_text(json.dumps(metrics, indent=1))


def _shipped_with_its_split(name: str, out_dir: Path, seed: int, data: str | Path | None):
    """The shipped model ``name`` (path, classifier) and goto3 (``data``: a saved copy; default built anew) split
    with ``seed`` as (lcset, train, val, test); stops when its validation objects are not that split's."""
    from skysift.datasets import load_dataset
    from skysift.model.estimator import Classifier
    from skysift.splits import split_lightcurves

    path = out_dir / PRETRAINED[name]
    clf = Classifier.load(path)
    ds = load_dataset(data or "goto3", seed=0)
    _, train, val, test = split_lightcurves(ds.lcset, seed=seed)
    if sorted(map(str, val.object_ids)) != sorted(getattr(clf, "validation_ids_", []) or []):
        raise SystemExit(f"{path.name}: its validation objects are not goto3's split seed {seed}: not the set it "
                         "was trained on")
    return path, clf, (ds.lcset, train, val, test)


def rewrite_card(name: str = "goto3", out_dir: Path = MODELS_DIR, seed: int = 0,
                 data: str | Path | None = None) -> Path:
    """Write the shipped model's card again from the file as it is (goto3, split ``seed``; nothing refitted)."""
    _, clf, (lcset, train, val, test) = _shipped_with_its_split(name, out_dir, seed, data)
    write_card(name, clf, lcset, train, val, test, out_dir, seed)
    return out_dir / f"{name}.md"


def refit_novelty(name: str = "goto3", out_dir: Path = MODELS_DIR, seed: int = 0,
                  data: str | Path | None = None) -> Path:
    """Fit the shipped model's novelty score again with the current recipe
    (:class:`skysift.model.novelty.NoveltyRecipe`) on the training objects it was trained on (goto3, split
    ``seed``), and put the new bullet in its card; the probabilities are untouched. For ``ztf`` the
    level-1 model (goto3's) is refitted the same way. ``data``: a saved copy of goto3 (default: built anew)."""
    from skysift.model.estimator import Classifier
    from skysift.study.cards import replace_novelty_line

    path, clf, (_, train, _, test) = _shipped_with_its_split(name, out_dir, seed, data)
    clf._fit_novelty(clf.prepare_arrays(train, labels=True))
    clf.save(path)
    shipped = Classifier.load(path)
    card = out_dir / f"{name}.md"
    card.write_text(replace_novelty_line(card.read_text(), novelty_text(shipped, test)))
    return path


def model_card(name, clf, lcset, train, val, test, metrics) -> str:
    counts = lambda s: ", ".join(f"{k} {v}" for k, v in s.class_counts().items())  # noqa: E731
    hp = clf.hyperparameters()
    regrown = hp["final_trees"] == "all" and any(part is not None for part in clf.tree_parts().values())
    trees_on = ("; the trees were then grown again on the training and validation objects together (the "
                "choices above kept)" if regrown else "")
    rows = "\n".join(
        f"| {k} | {m['auc']:.3f} [{m['auc_ci'][0]:.3f}, {m['auc_ci'][1]:.3f}] | "
        f"{m['macro_f1']:.3f} [{m['macro_f1_ci'][0]:.3f}, {m['macro_f1_ci'][1]:.3f}] | {m.get('ece_top', float('nan')):.3f} |"
        for k, m in metrics.items())
    from skysift import __version__

    if "gal_b" in getattr(clf, "context_columns_", []):
        sky_text = ("Sky positions of goto3's SN and AGN were re-drawn (docs/datasets.md), so the model learnt |b|, "
                    "not survey footprints.")
    else:
        sky_text = ("Galactic l and b are not inputs: in a training set assembled from several surveys |b| also "
                    "says which survey a class came from (docs/results.md, \"Galactic coordinates out\"); the model "
                    "does not know that variable stars crowd toward the Galactic plane.")
    if GALAXY_DISTANCE_COLUMN in getattr(clf, "context_columns_", []):
        host_text = (" The nearest-galaxy distance is an input, trained with context augmentation (context_mix "
                     f"{float(hp.get('context_mix') or 0):g}: each object also seen at another class's distance), so "
                     "that a variable star next to a galaxy stays a variable star unless its light curve allows "
                     "otherwise (tests/model/test_galaxy_proximity.py runs on this file).")
    else:
        host_text = (" The nearest-galaxy distance is not an input (it outvoted the light curve: a variable star next "
                     "to a galaxy became a supernova); a host galaxy therefore does not help at the first detection.")
    return f"""# Model card: `{name}` (skysift {__version__})

Load with `Classifier.load("{name}")` or `skysift predict --model {name} --data DIR --out predictions.csv`.
Remake with `python -m skysift.study.pretrain {name}`.

* **Trained**: {_dt.date.today().isoformat()}, preset `{clf.preset}`, best epoch {clf.best_epoch_} of
  {hp['epochs']} (validation Hand & Till AUC of the network {clf.best_val_auc_:.3f}; of the whole model, out of sample,
  {getattr(clf, 'val_auc_', float('nan')):.3f}).
* **Data**: `{name}` ({len(lcset)} objects: {counts(lcset)}; GOTO-like single band `L`, built from real
  CRTS/SSS, CSS, ZTF BTS, MANTRA, SDSS Stripe 82 and MACHO light curves, see docs/datasets.md), split seed 0:
  train {len(train)} ({counts(train)}), validation {len(val)}, test {len(test)} ({counts(test)}).
* **Inputs**: time since first observation (days), magnitude, error (mag) of the first {hp['max_length']}
  observations, light-curve statistics updated at each observation{_lc_text(clf)}{_context_text(clf)}.
* **Parts**: {_parts_text(clf, trees_on)}
* **Calibration** (fitted on validation prefixes, per range of n 1, 2-3, 4-6, 7-10, more; columns: temperature,
  then the offset of each class {', '.join(clf.classes_)}): {json.dumps(np.round(clf.calibration_table(), 3).tolist()) if clf.calibration_table() is not None else 'none'}.
* **Hyperparameters**: {json.dumps(hp)}.
{novelty_text(clf, test)}* **Decisions**: `predict(decision="weighted")` uses class weights fitted on validation for the best macro F1
  ({', '.join(f'{c} {w:.2f}' for c, w in zip(clf.classes_, clf.decision_weights_))});
  `predict(decision="fpr")` per-class thresholds at {clf.target_fpr:.0%} false-positive rate on validation
  ({', '.join(f'{c} {t:.3f}' for c, t in zip(clf.classes_, clf.fpr_thresholds_))}).

## Test metrics (bootstrap 95 % intervals, {len(test)} test objects)

| first n observations | Hand & Till AUC | macro F1 (validation weights) | ECE (top label, 15 bins) |
|---|---|---|---|
{rows}

{_cross_survey_rows()}

## Known limits

* Trained on GOTO-like emulated light curves (one broad band, 20.5 mag depth, median 5 points per object);
  other surveys' photometry is accepted but lies outside the training distribution (other bands, depths,
  cadences).
* Three classes only (VS, SN, AGN): anything else (novae, CVs, TDEs, asteroids, bogus) is forced into one.
* The AGN class is mostly SDSS Stripe 82 quasars seen at r; the SN class mostly ZTF BTS supernovae (R), the
  VS class CRTS/CSS periodic variables: irregular variables and the Galactic plane (|b| < 10 deg) are
  barely represented.
* {sky_text}{host_text}
* Across surveys (table above; docs/results.md) the AGN are hardly told apart (one-vs-rest AUC 0.4-0.6 on
  goto3_xs): a quasar from a survey the model has not seen is mostly called a variable star.
"""


def _parts_text(clf, trees_on: str) -> str:
    """The model's parts and their blend, in words."""
    have = {name: part is not None for name, part in clf.tree_parts().items()}
    if not any(have.values()):
        return ("the recurrent network alone (the tree parts transfer worst across surveys: docs/results.md, "
                "\"goto3_xs: what transfers\").")
    rule = "weighted product (log-linear pool)" if clf.blend_rule_ == "geometric" else "weighted mean"
    parts = "".join([", boosted trees" if have["boost"] else "", ", a balanced forest" if have["forest"] else "",
                     ", boosted trees on the light-curve features and context alone" if have["lcboost"] else ""])
    return (f"the recurrent network{parts}, blended by their {rule} with weights (network, boosted trees, "
            f"forest, light-curve-feature trees) chosen on validation per range of n (1, 2-3, 4-6, 7-10, more): "
            f"{json.dumps(np.round(clf.blend_table(), 2).tolist())}{trees_on}.")


def _lc_text(clf) -> str:
    """The light-curve features among a model's inputs, in words (nothing for a model without them)."""
    if not getattr(clf.sequence_config_, "n_lc", 0):
        return ""
    return (", the light-curve package's features of the points so far (Stetson K, eta, skew, kurtosis, "
            "periodogram, ...; skysift.features.lightcurve)")


def _context_text(clf) -> str:
    """The context inputs of a model, in words."""
    cols = list(getattr(clf, "context_columns_", []) or [])
    parts = []
    if "gal_l" in cols:
        parts.append("galactic l and b (deg)")
    if GALAXY_DISTANCE_COLUMN in cols:
        parts.append('the distance to the nearest Mangrove galaxy (arcsec; 100 when none within 60")')
    parts += [c for c in cols if c not in ("gal_l", "gal_b", GALAXY_DISTANCE_COLUMN)]
    return (", " + ", ".join(parts)) if parts else "; no context (position and host galaxy are not inputs)"


def _cross_survey_rows() -> str:
    """The same recipe on goto3_xs (test objects from surveys no training object of their class came from),
    from the benchmark records (``benchmarks/results/comparison.json``, method ``skysift``), when present:
    the shipped file itself has seen objects of every goto3_xs source, so it is not scored there."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "comparison.json"
    if not path.exists():
        return ""
    recs = [r for r in json.loads(path.read_text())
            if r.get("dataset") == "goto3_xs" and r.get("method") == "skysift" and "hand_till_auc" in r]
    if not recs:
        return ""
    lines = ["## Across surveys (goto3_xs, the same recipe retrained per rotation)", "",
             "Test objects only from surveys that none of their class's training objects came from "
             "(docs/results.md); mean ± sd over the rotations:", "",
             "| first n observations | Hand & Till AUC | macro F1 | ECE (top label) |", "|---|---|---|---|"]
    for n in ("1", "3", "6", "10", "all"):
        rs = [r for r in recs if str(r["n_obs"]) == n]
        if not rs:
            continue

        def ms(key):
            v = np.array([r[key] for r in rs if r.get(key) is not None], float)
            return f"{v.mean():.3f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.3f}" if v.size else "-"
        lines.append(f"| {n} | {ms('hand_till_auc')} | {ms('macro_f1')} | {ms('ece_top')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m skysift.study.pretrain", description="Retrain a shipped model.")
    ap.add_argument("name", choices=sorted(PRETRAINED))
    ap.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    ap.add_argument("--data", help="a saved copy of the set (default: build it from ../shared/data)")
    ap.add_argument("--reattach", action="store_true",
                    help="ztf only: its children, unchanged, under the shipped goto3 model (after goto3 is retrained)")
    ap.add_argument("--novelty-only", action="store_true",
                    help="only fit the shipped file's novelty score again (current recipe); probabilities untouched")
    ap.add_argument("--card-only", action="store_true",
                    help="goto3 only: write the card again from the shipped file (nothing refitted)")
    args = ap.parse_args(argv)
    if args.card_only:
        if args.name != "goto3":
            raise SystemExit("--card-only: goto3 only (the ztf card is written by --reattach)")
        print(f"wrote {rewrite_card(args.name, args.out_dir, data=args.data)}", file=sys.stderr)
        return 0
    if args.novelty_only:
        print(f"wrote {refit_novelty(args.name, args.out_dir, data=args.data)}", file=sys.stderr)
        return 0
    if args.name == "ztf" and args.reattach:
        from skysift.study.pretrain_ztf import reattach_ztf

        print(f"wrote {reattach_ztf(args.out_dir, goto3_data=args.data)}", file=sys.stderr)
        return 0
    if args.name == "ztf":  # a tree of parts trained on several sets
        from skysift.study.pretrain_ztf import train_ztf

        print(f"wrote {train_ztf(args.out_dir, goto3_data=args.data)}", file=sys.stderr)
        return 0
    print(f"wrote {train_pretrained(args.name, args.out_dir, data=args.data)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
