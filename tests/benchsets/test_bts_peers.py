"""Data conversion of the bts_types peers (Superphot+, ParSNIP): runs without either peer installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, PEERS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _three_objects() -> pd.DataFrame:
    """Three small ZTF-like light curves (mag, mag_err in mag; mjd in days; bands g, R, and one i row)."""
    return pd.DataFrame({
        "object_id": ["a", "a", "a", "b", "b", "c", "c"],
        "mjd": [59000.0, 59001.0, 59003.0, 59010.0, 59012.0, 59020.0, 59021.0],
        "mag": [19.0, 18.5, 26.3, 20.0, 25.0, 18.0, 17.0],
        "mag_err": [0.1, 0.05, 0.2, 0.1, 0.3, 0.02, 0.05],
        "band": ["g", "R", "R", "g", "R", "i", "g"],
    })


def test_superphot_frame_uses_its_zero_point_and_band_names() -> None:
    sp = _module("run_superphot")
    out = sp.to_superphot_frame(_three_objects())
    assert len(out) == 6  # the i-band row is dropped
    assert out["band"].tolist() == ["g", "r", "r", "g", "r", "g"]
    row = out.iloc[2]  # mag 26.3 at Superphot+'s ZTF zero point 26.3: flux 1
    assert row["flux"] == pytest.approx(1.0)
    assert row["flux_err"] == pytest.approx(0.2 * np.log(10) / 2.5)
    assert out["time"].iloc[0] == 59000.0


def test_parsnip_frame_uses_zero_point_25_and_ztf_bands() -> None:
    pn = _module("run_parsnip")
    out = pn.to_parsnip_frame(_three_objects())
    assert len(out) == 6
    assert set(out["band"]) == {"ztfg", "ztfr"}
    b = out.loc[out["object_id"] == "b"]
    assert b["flux"].iloc[1] == pytest.approx(1.0)  # mag 25 at zero point 25
    assert b["fluxerr"].iloc[1] == pytest.approx(0.3 * np.log(10) / 2.5)
    kept = _three_objects().drop(index=5)  # the i-band row
    np.testing.assert_allclose(out["flux"], 10 ** (-0.4 * (kept["mag"].to_numpy() - 25.0)))


def test_superphot_fit_jobs_reuse_the_full_fit_for_short_light_curves() -> None:
    sp = _module("run_superphot")
    counts = pd.Series({"a": 3, "b": 2, "c": 12})
    jobs = sp.fit_jobs(counts, ["c"])
    assert jobs[:3] == [("all", "a"), ("all", "b"), ("all", "c")]
    assert jobs[3:7] == [("1", "c"), ("3", "c"), ("6", "c"), ("10", "c")]  # the first ids' cut fits come first
    assert ("3", "a") not in jobs and ("1", "a") in jobs and ("1", "b") in jobs
    assert sp.fit_key("3", "a", counts) == "all" and sp.fit_key("1", "a", counts) == "1"
    assert sp.fit_key("all", "c", counts) == "all"
