"""Does a nuisance input alone give the classes away?

A classifier trained on a set whose classes each came from their own survey, band or depth learns
the survey, not the sky: it scores AUC 1.0 from the first observation and fails on the next
survey. :func:`nuisance_leakage` fits a quick model (scikit-learn's histogram gradient boosting,
3-fold stratified cross-validation) on each nuisance input alone and reports its Hand & Till AUC;
:func:`warn_if_leaky` warns when one of them separates the classes above a threshold (0.9).

The nuisance inputs (each computed per object from the photometry and object table):

* ``band``: the fraction of the object's detections in each band (several bands only);
* ``source``: any object column that names where an object came from (``source``, ``survey``,
  ``telescope``, ``instrument``, ``origin``, ``catalog``), as categories;
* ``error level``: the median and the smallest magnitude error (mag);
* ``cadence``: the median and the largest gap between detections (days) and the time span (days);
* ``sky position``: RA and Dec (degrees).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skysift.errors import InputWarning
from skysift.io.tables import LightCurveSet
from skysift.numeric import hand_till_auc

#: AUC above which a nuisance input alone is said to give the classes away.
LEAKAGE_AUC = 0.9
#: Object columns taken to name the source of an object.
SOURCE_COLUMNS = ("source", "survey", "telescope", "instrument", "origin", "catalog", "catalogue")


class LeakageWarning(InputWarning):
    """A nuisance input (band, source, error level, cadence, sky position) alone separates the classes."""


@dataclass(frozen=True)
class Leakage:
    """How well one nuisance input alone separates the classes (cross-validated Hand & Till AUC)."""

    name: str
    columns: tuple[str, ...]
    auc: float

    @property
    def leaky(self) -> bool:
        return bool(np.isfinite(self.auc) and self.auc > LEAKAGE_AUC)


def nuisance_features(lcset: LightCurveSet) -> dict[str, pd.DataFrame]:
    """The nuisance inputs of every object (rows in ``lcset.objects`` order), by name."""
    phot = lcset.photometry
    ids = pd.Index(lcset.object_ids.astype(str), name="object_id")
    g = phot.assign(object_id=phot["object_id"].astype(str)).groupby("object_id", sort=False)
    out: dict[str, pd.DataFrame] = {}
    if "band" in phot and phot["band"].nunique() > 1:
        frac = pd.crosstab(phot["object_id"].astype(str), phot["band"].astype(str), normalize="index")
        out["band"] = frac.reindex(ids).fillna(0.0).add_prefix("frac_")
    src = [c for c in lcset.objects.columns if str(c).lower() in SOURCE_COLUMNS]
    if src:
        codes = {c: pd.Categorical(lcset.objects[c].astype(str)).codes.astype(float) for c in src}
        out["source"] = pd.DataFrame(codes, index=ids)
    err = g["mag_err"]
    out["error level"] = pd.DataFrame({"median_err": err.median(), "min_err": err.min()}).reindex(ids)
    mjd = phot.assign(object_id=phot["object_id"].astype(str)).sort_values(["object_id", "mjd"])
    gaps = mjd.groupby("object_id", sort=False)["mjd"].diff()
    gg = gaps.groupby(mjd["object_id"], sort=False)
    span = mjd.groupby("object_id", sort=False)["mjd"].agg(lambda s: s.max() - s.min())
    out["cadence"] = pd.DataFrame({"median_gap": gg.median(), "max_gap": gg.max(), "span": span}).reindex(ids)
    out["sky position"] = pd.DataFrame({"ra": lcset.objects["ra"].to_numpy(float),
                                        "dec": lcset.objects["dec"].to_numpy(float)}, index=ids)
    return out


def _cv_auc(x: np.ndarray, y: np.ndarray, n_classes: int, seed: int, categorical: bool) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    proba = np.zeros((len(y), n_classes))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    for tr, te in folds.split(x, y):
        # leaves no larger than a third of the smallest class (scikit-learn's 20 leaves a small set unsplit)
        leaf = int(np.clip(np.bincount(y[tr], minlength=n_classes).min() // 3, 1, 20))
        model = HistGradientBoostingClassifier(max_iter=50, random_state=seed, class_weight="balanced",
                                               min_samples_leaf=leaf,
                                               categorical_features=np.ones(x.shape[1], bool) if categorical else None)
        model.fit(x[tr], y[tr])
        proba[np.ix_(te, model.classes_)] = model.predict_proba(x[te])
    return hand_till_auc(y, proba, n_classes)


def nuisance_leakage(lcset: LightCurveSet, seed: int = 0, max_objects: int = 20000) -> list[Leakage]:
    """Cross-validated AUC of each nuisance input alone (on at most ``max_objects`` objects, a
    seeded subsample stratified by class). Empty for an unlabelled set or one with a class of
    fewer than 3 objects."""
    if lcset.labels is None:
        return []
    labels = np.asarray(lcset.labels).astype(str)
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2 or np.bincount(y).min() < 3:
        return []
    rows = np.arange(len(y))
    if len(y) > max_objects:
        from sklearn.model_selection import train_test_split

        rows, _ = train_test_split(rows, train_size=max_objects, stratify=y, random_state=seed)
    out = []
    for name, frame in nuisance_features(lcset).items():
        x = frame.to_numpy(np.float64)[rows]
        x = np.where(np.isfinite(x), x, np.nan)
        auc = _cv_auc(x, y[rows], len(classes), seed, categorical=name == "source")
        out.append(Leakage(name, tuple(map(str, frame.columns)), float(auc)))
    return out


def warn_if_leaky(lcset: LightCurveSet, seed: int = 0) -> list[Leakage]:
    """:func:`nuisance_leakage`, with a :class:`LeakageWarning` naming each nuisance input that alone
    gives the classes away (AUC above :data:`LEAKAGE_AUC`). Returns every finding."""
    found = nuisance_leakage(lcset, seed=seed)
    for f in found:
        if f.leaky:
            hint = (" (or train without Galactic l and b: --no-galactic, Classifier(galactic=False))"
                    if f.name == "sky position" else "")
            warnings.warn(
                f"{lcset.name}: the {f.name} alone ({', '.join(f.columns)}) separates the classes (Hand & Till AUC "
                f"{f.auc:.2f} from a quick model on it alone): a classifier can learn it instead of the light curves, "
                f"and will fail on data where it differs; make the classes share it (same bands, surveys, depth "
                f"and cadence){hint} or check the result on data from another source", LeakageWarning, stacklevel=2)
    return found
