"""Description of a labelled set for the report: per-object light-curve statistics, the gaps
between detections, the context (galactic latitude, distance to the nearest catalogued galaxy)
and the class counts of each part of the data. Durations and gaps in days, magnitudes in mag,
angles in degrees, distances in arcsec."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skysift.features.context import GalaxyCatalog, galactic_coordinates
from skysift.io.tables import LightCurveSet

__all__ = [
    "lightcurve_statistics",
    "observation_gaps",
    "context_table",
    "dataset_summary",
    "per_class_description",
]


def _main_band_rows(phot: pd.DataFrame) -> pd.DataFrame:
    if "band" not in phot:
        return phot
    counts = phot.groupby(["object_id", "band"]).size().rename("n").reset_index()
    main = counts.sort_values(["object_id", "n", "band"], ascending=[True, False, True]).drop_duplicates("object_id")
    return phot.merge(main[["object_id", "band"]], on=["object_id", "band"], how="inner")


def lightcurve_statistics(lcset: LightCurveSet) -> pd.DataFrame:
    """Per object: ``object_id``, ``label``, ``n_obs`` (detections), ``duration_days`` (last minus
    first detection), ``mean_mag`` and ``std_mag`` (mag; over the object's most-observed band
    when there are several; the standard deviation is NaN for one detection)."""
    phot = lcset.photometry
    g = phot.groupby("object_id")["mjd"]
    out = pd.DataFrame({"n_obs": g.size(), "duration_days": g.max() - g.min()})
    mags = _main_band_rows(phot).groupby("object_id")["mag"].agg(["mean", "std"])
    out["mean_mag"] = mags["mean"]
    out["std_mag"] = mags["std"]
    ids = pd.Index(lcset.object_ids.astype(str), name="object_id")
    out = out.reindex(ids).reset_index()
    labels = lcset.labels
    out.insert(1, "label", np.asarray(labels).astype(str) if labels is not None else "unlabelled")
    return out


def observation_gaps(lcset: LightCurveSet) -> pd.DataFrame:
    """Time between consecutive detections of each object (days): ``object_id``, ``label``,
    ``gap_days`` (all bands together, so simultaneous detections in two bands give 0)."""
    phot = lcset.photometry.sort_values(["object_id", "mjd"], kind="stable")
    gaps = phot.groupby("object_id")["mjd"].diff()
    df = pd.DataFrame({"object_id": phot["object_id"].to_numpy(), "gap_days": gaps.to_numpy()}).dropna()
    lab = lcset.objects.set_index("object_id")["label"] if "label" in lcset.objects else None
    df["label"] = lab.reindex(df["object_id"]).to_numpy() if lab is not None else "unlabelled"
    return df[["object_id", "label", "gap_days"]].reset_index(drop=True)


def _catalog(galaxy_catalog: Any) -> GalaxyCatalog | None:
    if galaxy_catalog is None:
        return None
    if isinstance(galaxy_catalog, (str, Path)):
        return GalaxyCatalog.load(galaxy_catalog)
    return galaxy_catalog


def context_table(lcset: LightCurveSet, galaxy_catalog: Any = None) -> pd.DataFrame:
    """Per object: ``object_id``, ``label``, galactic ``gal_l`` and ``gal_b`` (degrees) and, with a
    galaxy catalogue (a :class:`skysift.features.context.GalaxyCatalog`, or a name or path it can load),
    ``galaxy_dist_arcsec``, the angular distance to the nearest catalogued galaxy (arcsec).
    Without one, object-table columns ``gal_b`` / ``galaxy_dist_arcsec`` are used when present."""
    objs = lcset.objects
    out = pd.DataFrame({"object_id": objs["object_id"].astype(str).to_numpy()})
    out["label"] = objs["label"].astype(str).to_numpy() if "label" in objs else "unlabelled"
    if "gal_b" in objs:
        out["gal_b"] = objs["gal_b"].to_numpy(float)
        if "gal_l" in objs:
            out["gal_l"] = objs["gal_l"].to_numpy(float)
    else:
        out["gal_l"], out["gal_b"] = galactic_coordinates(objs["ra"].to_numpy(float), objs["dec"].to_numpy(float))
    cat = _catalog(galaxy_catalog)
    if cat is not None:
        out["galaxy_dist_arcsec"] = cat.nearest_distance(objs["ra"].to_numpy(float), objs["dec"].to_numpy(float))
    elif "galaxy_dist_arcsec" in objs:
        out["galaxy_dist_arcsec"] = objs["galaxy_dist_arcsec"].to_numpy(float)
    return out


def dataset_summary(sets: Mapping[str, LightCurveSet], name: str | None = None) -> dict[str, Any]:
    """Class counts per part (e.g. train / validation / test) and what validation dropped."""
    counts = {part: s.class_counts() for part, s in sets.items()}
    dropped: list[str] = []
    for s in sets.values():
        for table, reason, n in s.dropped.entries:
            line = f"{table}: {n} rows dropped ({reason})"
            if line not in dropped:
                dropped.append(line)
    first = next(iter(sets.values()), None)
    return {
        "name": name or (first.name if first is not None else "dataset"),
        "n_objects": {part: len(s) for part, s in sets.items()},
        "n_detections": {part: len(s.photometry) for part, s in sets.items()},
        "bands": first.bands if first is not None else [],
        "class_counts": counts,
        "dropped": dropped,
    }


def per_class_description(stats: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Per class: number of objects and the medians of the number of detections, the duration
    (days), the mean and standard deviation of the magnitudes (mag) and the gaps (days)."""
    per_class = stats.groupby("label").agg(
        n_objects=("object_id", "size"),
        median_n_obs=("n_obs", "median"),
        median_duration_days=("duration_days", "median"),
        median_mean_mag=("mean_mag", "median"),
        median_std_mag=("std_mag", "median"),
    ).reset_index()
    if len(gaps):
        per_class = per_class.merge(gaps.groupby("label")["gap_days"].median().rename("median_gap_days")
                                    .reset_index(), on="label", how="left")
    return per_class
