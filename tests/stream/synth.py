"""Small synthetic light curves (VS / SN / AGN) for the stream tests and benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skysift.io.tables import LightCurveSet, from_frames


def synthetic_frames(n_per_class: int = 20, seed: int = 0, bands: tuple[str, ...] = ("g", "R"),
                     min_points: int = 4, max_points: int = 45, mjd0: float = 59000.0
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Photometry and object tables: periodic variables, supernova-like rise and decline, and
    random-walk AGN, each with ``min_points``..``max_points`` detections over ~120 days."""
    rng = np.random.default_rng(seed)
    phot, objs = [], []
    k = 0
    for label in ("VS", "SN", "AGN"):
        for _ in range(n_per_class):
            oid = f"{label}{k:05d}"
            k += 1
            n = int(rng.integers(min_points, max_points + 1))
            start = mjd0 + rng.uniform(0, 60)
            t = np.sort(start + rng.uniform(0, 120, n))
            if label == "VS":
                period = rng.uniform(0.3, 20)
                mag = 17 + rng.uniform(0, 2) + rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * t / period)
                b_deg = rng.normal(0, 10)
            elif label == "SN":
                peak = start + rng.uniform(5, 25)
                dt = t - peak
                mag = 19 + rng.uniform(-1, 1) - 2.5 * np.where(dt < 0, np.exp(dt / 5), np.exp(-dt / 30))
                b_deg = rng.uniform(-80, 80)
            else:
                mag = 18.5 + np.cumsum(rng.normal(0, 0.05, n))
                b_deg = rng.uniform(-80, 80)
            err = rng.uniform(0.02, 0.15, n)
            mag = mag + rng.normal(0, err)
            band = rng.choice(list(bands), n) if bands else None
            df = pd.DataFrame({"object_id": oid, "mjd": t, "mag": mag, "mag_err": err})
            if bands:
                df["band"] = band
            phot.append(df)
            objs.append({"object_id": oid, "ra": rng.uniform(0, 360), "dec": float(np.clip(b_deg, -89, 89)),
                         "label": label})
    return pd.concat(phot, ignore_index=True), pd.DataFrame(objs)


def synthetic_lcset(n_per_class: int = 20, seed: int = 0, bands: tuple[str, ...] = ("g", "R"), **kw) -> LightCurveSet:
    phot, objs = synthetic_frames(n_per_class, seed, bands, **kw)
    return from_frames(phot, objs, name=f"synthetic-{seed}")
