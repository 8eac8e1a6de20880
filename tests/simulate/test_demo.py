"""The built-in demo survey: classes, light-curve statistics, positions and galaxy hosts."""

from __future__ import annotations

from dataclasses import replace

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from skysift.errors import InputError
from skysift.io.tables import from_frames
from skysift.simulate import (
    DEMO_DEFAULTS,
    FINE_LABELS,
    SurveyConfig,
    class_counts_for,
    demo_summary,
    galaxy_visibility,
    make_demo_survey,
)

N = 3000


@pytest.fixture(scope="module")
def demo():
    return make_demo_survey(N, seed=1)


@pytest.fixture(scope="module")
def matches(demo):
    """Per object: label, |b| (deg) and distance (arcsec) to the nearest catalogue galaxy."""
    lc, galaxies = demo
    obj = SkyCoord(lc.objects["ra"].to_numpy() * u.deg, lc.objects["dec"].to_numpy() * u.deg)
    gal = SkyCoord(galaxies["ra"].to_numpy() * u.deg, galaxies["dec"].to_numpy() * u.deg)
    _, sep, _ = obj.match_to_catalog_sky(gal)
    return pd.DataFrame(
        {"label": lc.objects["label"].to_numpy(), "abs_b": np.abs(obj.galactic.b.deg), "sep": sep.arcsec}
    )


# --------------------------------------------------------------------------- classes


def test_class_counts_follow_fractions_with_a_minimum() -> None:
    fr = dict(DEMO_DEFAULTS["fractions"])
    assert class_counts_for(70000, fr, 40) == {"VS": 69510, "SN": 140, "AGN": 350}
    small = class_counts_for(3000, fr, 40)
    assert small == {"VS": 2920, "SN": 40, "AGN": 40}
    assert sum(class_counts_for(12345, fr, 40).values()) == 12345
    with pytest.raises(InputError, match="too small"):
        class_counts_for(100, fr, 40)
    with pytest.raises(InputError, match="sum to 1"):
        class_counts_for(1000, {"VS": 0.5, "SN": 0.1}, 10)
    with pytest.raises(InputError, match="unknown"):
        class_counts_for(1000, {"VS": 0.5, "QSO": 0.5}, 10)


def test_demo_has_the_requested_classes(demo) -> None:
    lc, _ = demo
    assert len(lc) == N
    assert lc.class_counts() == class_counts_for(N, dict(DEMO_DEFAULTS["fractions"]), 40)
    assert not lc.dropped
    # A 70/30 stratified split leaves every class at least 12 test objects.
    assert min(lc.class_counts().values()) * 0.3 >= 12


def test_fine_labels(demo) -> None:
    lc, _ = demo
    o = lc.objects
    for label, fines in FINE_LABELS.items():
        got = set(o.loc[o["label"] == label, "fine_label"])
        assert got <= set(fines)
    assert set(o.loc[o["label"] == "VS", "fine_label"]) == set(FINE_LABELS["VS"])
    assert {"SN Ia", "SN II"} <= set(o.loc[o["label"] == "SN", "fine_label"])
    assert set(o.columns) == {"object_id", "ra", "dec", "label", "fine_label"}  # no leaking parameters


def test_ids_do_not_encode_the_class(demo) -> None:
    lc, _ = demo
    pos = np.flatnonzero(lc.objects["label"].to_numpy() == "SN")
    assert pos.min() < N / 4 and pos.max() > 3 * N / 4


# --------------------------------------------------------------------------- light curves


def test_demo_looks_like_goto(demo) -> None:
    lc, _ = demo
    s = demo_summary(lc)
    assert 4 <= s["median_points"] <= 8
    assert 9.0 <= s["median_gap_days"] <= 13.0
    assert 40.0 <= s["median_span_days"] <= SurveyConfig().max_window_days
    assert s["n_objects"] == N and s["class_counts"] == lc.class_counts()
    assert sum(s["fine_label_counts"].values()) == N
    assert lc.bands == ["L"]


def test_demo_magnitudes_and_errors(demo) -> None:
    lc, _ = demo
    cfg = SurveyConfig()
    p = lc.photometry
    assert p["mag"].max() <= cfg.deepest_limit_mag
    assert p["mag"].min() >= cfg.saturation_mag
    bins = pd.cut(p["mag"], [12.5, 15, 17, 18, 19, 20, 21.5])
    med = p.groupby(bins, observed=True)["mag_err"].median().to_numpy()
    assert np.all(np.diff(med) > 0)


def test_every_object_is_detected(demo) -> None:
    lc, _ = demo
    assert set(lc.photometry["object_id"]) == set(lc.objects["object_id"])
    strict, _ = make_demo_survey(500, seed=2, min_count_per_class=20, min_points=3)
    assert len(strict) == 500
    assert (strict.photometry.groupby("object_id").size() >= 3).all()


def test_objects_are_redrawn_or_reported() -> None:
    shallow = replace(SurveyConfig(), limit_mag=18.5)  # many faint objects go undetected at first
    lc, _ = make_demo_survey(400, seed=3, config=shallow, min_count_per_class=20)
    assert len(lc) == 400 and not lc.dropped  # redrawn until detected
    assert lc.class_counts() == {"AGN": 20, "SN": 20, "VS": 360}
    lc, _ = make_demo_survey(400, seed=3, config=shallow, min_count_per_class=20, max_tries=1)
    assert 0 < lc.dropped.total == 400 - len(lc)
    assert "draws" in str(lc.dropped)


def test_demo_is_a_valid_set(demo) -> None:
    lc, _ = demo
    checked = from_frames(lc.photometry, lc.objects)
    pd.testing.assert_frame_equal(checked.photometry, lc.photometry)
    pd.testing.assert_frame_equal(checked.objects, lc.objects)


def test_reproducible(demo) -> None:
    lc, gal = demo
    again, gal2 = make_demo_survey(N, seed=1)
    pd.testing.assert_frame_equal(again.photometry, lc.photometry)
    pd.testing.assert_frame_equal(again.objects, lc.objects)
    pd.testing.assert_frame_equal(gal2, gal)
    other, _ = make_demo_survey(N, seed=2)
    assert not np.allclose(other.objects["ra"], lc.objects["ra"])


# --------------------------------------------------------------------------- sky and galaxies


def test_positions(matches) -> None:
    b = matches.groupby("label")["abs_b"].median()
    assert b["VS"] < 12.0
    assert b["SN"] > 25.0 and b["AGN"] > 25.0
    for label in ("SN", "AGN"):
        assert (matches.loc[matches["label"] == label, "abs_b"] < 10).mean() < 0.15


def test_galaxy_hosts(matches, demo) -> None:
    within = matches.assign(hit=matches["sep"] < 60).groupby("label")["hit"].mean()
    assert within["SN"] >= 0.8
    assert within["AGN"] >= 0.8
    assert within["VS"] <= 0.05
    sn = matches.loc[(matches["label"] == "SN") & (matches["sep"] < 60), "sep"]
    assert sn.median() < 15.0 and (sn >= 0.5).mean() > 0.9
    agn = matches.loc[(matches["label"] == "AGN") & (matches["sep"] < 60), "sep"]
    assert agn.median() < 1.0
    _, galaxies = demo
    assert list(galaxies.columns) == ["ra", "dec"]
    assert galaxies["ra"].between(0, 360, inclusive="left").all() and galaxies["dec"].between(-90, 90).all()


def test_zone_of_avoidance() -> None:
    vis = galaxy_visibility(np.array([0.0, 2.0, 5.0, 10.0, 30.0, 90.0]))
    assert vis[0] == 0.0 and vis[-1] == pytest.approx(1.0)
    assert np.all(np.diff(vis) > 0)
    assert vis[1] < 0.01


def test_full_sky_catalogue_density() -> None:
    """The full-sky catalogue has the requested density at high latitude and avoids the plane."""
    _, gal = make_demo_survey(200, seed=4, min_count_per_class=20, galaxy_density_deg2=2.0,
                              galaxy_field_radius_arcsec=None)
    b = SkyCoord(gal["ra"].to_numpy() * u.deg, gal["dec"].to_numpy() * u.deg).galactic.b.deg
    cap = np.abs(b) > 60  # area: 2 caps of 2 pi (1 - sin 60 deg) sr
    area = 2 * 2 * np.pi * (1 - np.sin(np.radians(60))) * (180 / np.pi) ** 2
    expected = 2.0 * np.mean(galaxy_visibility(np.linspace(60, 90, 1000)))
    assert cap.sum() / area == pytest.approx(expected, rel=0.1)
    assert np.mean(np.abs(b) < 3) < 0.01


def test_large_survey() -> None:
    """A survey of 20,000 objects in one call (its time: benchmarks/bench_data.py)."""
    lc, _ = make_demo_survey(20000, seed=0)
    assert len(lc) == 20000
