"""emulate(): real light curves resampled at GOTO-like visits through the survey's error model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError
from skysift.io.tables import LightCurveSet, from_frames
from skysift.simulate.emulate import emulate
from skysift.simulate.survey import SurveyConfig
from tests.simulate.test_survey import NOISELESS


def _truth(t: np.ndarray, oid: int) -> np.ndarray:
    return 0.4 * np.sin(2 * np.pi * t / (30.0 + oid)) + 0.001 * (t - 55000.0)


def make_dense(n: int = 300, seed: int = 0, bands: tuple[str, ...] = ()) -> LightCurveSet:
    """Dense, irregular "real" light curves: ~200 points over 3-6 years, mean mag 15-20.5."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        start = 55000.0 + rng.uniform(0, 300)
        t = np.sort(start + rng.uniform(0, rng.uniform(1000, 2000), rng.integers(100, 300)))
        t = np.unique(np.round(t, 5))
        mean = rng.uniform(15.0, 20.5)
        for b, shift in (zip(bands, np.arange(len(bands)) * 0.5) if bands else [(None, 0.0)]):
            mag = mean + shift + _truth(t, i)
            df = pd.DataFrame(
                {"object_id": f"obj{i:04d}", "mjd": t, "mag": mag, "mag_err": rng.uniform(0.01, 0.05, t.size)}
            )
            if b is not None:
                df["band"] = b
            rows.append(df)
    phot = pd.concat(rows, ignore_index=True)
    objs = pd.DataFrame({"object_id": [f"obj{i:04d}" for i in range(n)], "ra": 10.0, "dec": 20.0, "label": "VS"})
    return from_frames(phot, objs, name="dense")


@pytest.fixture(scope="module")
def dense() -> LightCurveSet:
    return make_dense()


@pytest.fixture(scope="module")
def emulated(dense: LightCurveSet) -> LightCurveSet:
    return emulate(dense, seed=1)


def _per_object(lc: LightCurveSet) -> tuple[np.ndarray, np.ndarray]:
    ids = lc.photometry["object_id"].to_numpy()
    t = lc.photometry["mjd"].to_numpy()
    same = ids[1:] == ids[:-1]
    return lc.photometry.groupby("object_id").size().to_numpy(), np.diff(t)[same]


def test_emulate_looks_like_goto(emulated: LightCurveSet, dense: LightCurveSet) -> None:
    points, gaps = _per_object(emulated)
    assert 4 <= np.median(points) <= 9
    assert 8.5 <= np.median(gaps) <= 13.0
    spans = emulated.photometry.groupby("object_id")["mjd"].agg(lambda x: x.max() - x.min())
    assert spans.max() <= SurveyConfig().max_window_days
    assert emulated.bands == ["L"]
    assert set(emulated.objects.columns) == set(dense.objects.columns)
    assert len(emulated) <= len(dense)


def test_emulate_respects_depth_and_saturation(emulated: LightCurveSet) -> None:
    cfg = SurveyConfig()
    mag = emulated.photometry["mag"].to_numpy()
    assert mag.max() <= cfg.deepest_limit_mag
    assert mag.min() >= cfg.saturation_mag
    assert np.mean(mag > cfg.limit_mag + 0.5) < 0.02  # only on nights of better-than-median depth


def test_emulate_errors_grow_with_magnitude(emulated: LightCurveSet) -> None:
    p = emulated.photometry
    bins = pd.cut(p["mag"], [13, 15, 17, 18, 19, 19.5, 20, 20.5])
    med = p.groupby(bins, observed=True)["mag_err"].median().to_numpy()
    assert np.all(np.diff(med) > 0)


def test_emulate_is_reproducible(dense: LightCurveSet, emulated: LightCurveSet) -> None:
    again = emulate(dense, seed=1)
    pd.testing.assert_frame_equal(again.photometry, emulated.photometry)
    other = emulate(dense, seed=2)
    assert len(other.photometry) != len(emulated.photometry) or not np.allclose(
        other.photometry["mjd"], emulated.photometry["mjd"]
    )


def test_emulate_output_is_a_valid_sorted_set(emulated: LightCurveSet) -> None:
    checked = from_frames(emulated.photometry, emulated.objects)
    pd.testing.assert_frame_equal(checked.photometry, emulated.photometry)
    assert set(emulated.photometry["object_id"]) == set(emulated.objects["object_id"])


def test_emulate_interpolates_without_extrapolating(dense: LightCurveSet) -> None:
    out = emulate(dense, NOISELESS, seed=5)
    assert len(out) == len(dense)  # everything detected
    real = dense.photometry.groupby("object_id")
    for oid, g in out.photometry.groupby("object_id"):
        r = real.get_group(oid)
        assert g["mjd"].min() >= r["mjd"].min() and g["mjd"].max() <= r["mjd"].max()
        expected = np.interp(g["mjd"], r["mjd"], r["mag"])
        assert np.allclose(g["mag"], expected, atol=1e-3)
        # Reported errors include the (interpolated) real error in quadrature.
        assert np.all(g["mag_err"] >= np.interp(g["mjd"], r["mjd"], r["mag_err"]) - 1e-9)


def test_emulate_nearest_uses_real_values(dense: LightCurveSet) -> None:
    sub = dense.subset(dense.object_ids[:20])
    out = emulate(sub, NOISELESS, seed=6, method="nearest")
    real = sub.photometry.groupby("object_id")
    for oid, g in out.photometry.groupby("object_id"):
        r = real.get_group(oid)["mag"].to_numpy()
        assert np.all(np.min(np.abs(g["mag"].to_numpy()[:, None] - r[None, :]), axis=1) < 1e-3)


def test_emulate_max_interp_gap() -> None:
    phot = pd.DataFrame(
        {"object_id": "a", "mjd": [0.0, 1.0, 2.0, 300.0, 301.0], "mag": 17.0, "mag_err": 0.01}
    )
    objs = pd.DataFrame({"object_id": ["a"], "ra": [1.0], "dec": [1.0]})
    lc = from_frames(phot, objs)
    out = emulate(lc, NOISELESS, seed=0, max_interp_gap_days=10.0)
    t = out.photometry["mjd"].to_numpy()
    assert np.all((t <= 2.0) | (t >= 300.0))


def test_emulate_mean_of_bands_and_single_band() -> None:
    lc = make_dense(n=30, seed=4, bands=("g", "r"))  # r = g + 0.5 mag
    g_only = lc.photometry[lc.photometry["band"] == "g"].drop(columns="band")
    mean = emulate(lc, NOISELESS, seed=3)
    r_only = emulate(lc, NOISELESS, seed=3, band="r")
    real = g_only.groupby("object_id")
    for oid, grp in mean.photometry.groupby("object_id"):
        r = real.get_group(oid)
        assert np.allclose(grp["mag"], np.interp(grp["mjd"], r["mjd"], r["mag"]) + 0.25, atol=1e-3)
    for oid, grp in r_only.photometry.groupby("object_id"):
        r = real.get_group(oid)
        assert np.allclose(grp["mag"], np.interp(grp["mjd"], r["mjd"], r["mag"]) + 0.5, atol=1e-3)
    missing = emulate(lc, NOISELESS, seed=3, band="i")
    assert len(missing) == 0
    assert any("band 'i'" in reason for _, reason, _ in missing.dropped.entries)


def test_emulate_records_drops(dense: LightCurveSet) -> None:
    # Make a third of the objects far too faint for the survey.
    phot = dense.photometry.copy()
    faint_ids = dense.object_ids[::3]
    phot.loc[phot["object_id"].isin(faint_ids), "mag"] += 10.0
    lc = LightCurveSet(phot, dense.objects, "faint", dense.dropped)
    out = emulate(lc, seed=0)
    assert not set(faint_ids) & set(out.object_ids)
    entries = [e for e in out.dropped.entries if e[0] == "objects" and "survey emulation" in e[1]]
    assert len(entries) == 1
    assert entries[0][2] == len(lc) - len(out)
    assert entries[0][2] >= len(faint_ids)
    strict = emulate(lc, seed=0, min_points=5)
    assert (strict.photometry.groupby("object_id").size() >= 5).all()
    assert any("fewer than 5 detections" in r for _, r, _ in strict.dropped.entries)
    with pytest.raises(InputError):
        emulate(lc, min_points=0)


def test_emulate_many_objects_at_once() -> None:
    """Thousands of objects in one call (vectorised over objects): every one comes back with its points."""
    rng = np.random.default_rng(0)
    n, k = 2000, 100
    t = np.sort(rng.uniform(0, 2000, (n, k)), axis=1) + 55000.0
    phot = pd.DataFrame(
        {
            "object_id": np.repeat([f"o{i:05d}" for i in range(n)], k),
            "mjd": t.ravel(),
            "mag": rng.uniform(14, 20, n * k),
            "mag_err": 0.02,
        }
    )
    objs = pd.DataFrame({"object_id": [f"o{i:05d}" for i in range(n)], "ra": 1.0, "dec": 2.0})
    out = emulate(LightCurveSet(phot, objs), seed=0)
    assert len(out) > 0.9 * n
    assert set(out.photometry["object_id"]) <= set(objs["object_id"])


@pytest.mark.data
def test_emulate_real_crts(shared_data) -> None:
    """Real CRTS periodic variables (first 2000 objects) through the emulator."""
    path = shared_data / "crts_sss_periodic_vars" / "lightcurves.parquet"
    if not path.exists():
        pytest.skip(f"{path} not present")
    d = pd.read_parquet(path, columns=["crts_id", "mjd", "mag", "magerr"])
    ids = d["crts_id"].unique()[:2000]
    d = d[d["crts_id"].isin(ids)]
    phot = pd.DataFrame(
        {"object_id": d["crts_id"].astype(str), "mjd": d["mjd"], "mag": d["mag"].astype(float),
         "mag_err": d["magerr"].astype(float)}
    )
    objs = pd.DataFrame({"object_id": ids.astype(str), "ra": 0.0, "dec": 0.0, "label": "VS"})
    lc = from_frames(phot, objs, on_invalid="drop")
    out = emulate(lc, seed=0)
    points, gaps = _per_object(out)
    assert len(out) > 0.8 * len(lc)
    assert 4 <= np.median(points) <= 10
    assert 8.0 <= np.median(gaps) <= 13.0
    assert out.photometry["mag"].max() <= SurveyConfig().deepest_limit_mag


def test_emulate_config_changes_depth(dense: LightCurveSet) -> None:
    shallow = emulate(dense, replace(SurveyConfig(), limit_mag=18.5), seed=1)
    deep = emulate(dense, seed=1)
    assert len(shallow.photometry) < len(deep.photometry)
    assert shallow.photometry["mag"].max() <= 18.5 + 0.9
