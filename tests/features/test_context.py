"""Context features: galactic coordinates and nearest-galaxy distance agree with astropy."""

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from skysift.context import ContextConfig, GalaxyCatalog, context_features, galactic_coordinates, nearest_galaxy_distance
from skysift.errors import InputError


def _random_sky(rng, n):
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


def test_galactic_matches_astropy_for_random_positions():
    rng = np.random.default_rng(1)
    ra, dec = _random_sky(rng, 500)
    l, b = galactic_coordinates(ra, dec)
    for i in range(0, 500, 50):
        g = SkyCoord(ra[i] * u.deg, dec[i] * u.deg, frame="icrs").galactic
        assert l[i] == pytest.approx(g.l.deg, abs=1e-9)
        assert b[i] == pytest.approx(g.b.deg, abs=1e-9)


def test_galactic_centre_and_pole():
    l, b = galactic_coordinates(np.array([266.405, 192.85948]), np.array([-28.936, 27.12825]))
    assert b[0] == pytest.approx(0.0, abs=0.05)
    assert b[1] == pytest.approx(90.0, abs=1e-3)


def test_nearest_distance_matches_brute_force():
    rng = np.random.default_rng(2)
    gra, gdec = _random_sky(rng, 3000)
    ra, dec = _random_sky(rng, 200)
    cat = GalaxyCatalog(gra, gdec)
    d = cat.nearest_distance(ra, dec)
    gal = SkyCoord(gra * u.deg, gdec * u.deg)
    for i in range(0, 200, 20):
        brute = SkyCoord(ra[i] * u.deg, dec[i] * u.deg).separation(gal).arcsec.min()
        assert d[i] == pytest.approx(brute, rel=1e-9)


def test_dummy_beyond_radius_and_wraparound():
    # a galaxy 30" away across RA=0 and one object with nothing within 60"
    cat = GalaxyCatalog(np.array([359.999]), np.array([0.0]))
    d = nearest_galaxy_distance(np.array([0.0 + 30 / 3600 - 0.001, 180.0]), np.array([0.0, 0.0]), cat,
                                radius_arcsec=60, dummy_arcsec=100)
    assert d[0] == pytest.approx(30.0, abs=1e-3)  # 0.001 deg west of RA=0 plus 30" - 0.001 deg east
    assert d[1] == 100


def test_context_features_columns_and_extras():
    objs = pd.DataFrame({"object_id": ["a", "b"], "ra": [10.0, 200.0], "dec": [-5.0, 40.0], "label": ["VS", "SN"],
                         "host_z": [0.1, 0.2]})
    cat = GalaxyCatalog(np.array([10.0]), np.array([-5.0 + 10 / 3600]))
    ctx = context_features(objs, cat)
    assert list(ctx.columns) == ["gal_l", "gal_b", "galaxy_dist_arcsec", "host_z"]
    assert ctx.loc[0, "galaxy_dist_arcsec"] == pytest.approx(10.0, abs=1e-6)
    assert ctx.loc[1, "galaxy_dist_arcsec"] == ContextConfig().dummy_distance_arcsec
    assert ctx["host_z"].tolist() == [0.1, 0.2]


def test_context_needs_catalogue_or_says_so():
    objs = pd.DataFrame({"object_id": ["a"], "ra": [1.0], "dec": [2.0]})
    with pytest.raises(InputError, match="galaxy catalogue"):
        context_features(objs, None)
    ctx = context_features(objs, None, ContextConfig(galaxy_distance=False))
    assert list(ctx.columns) == ["gal_l", "gal_b"]


def test_missing_context_column_named():
    objs = pd.DataFrame({"object_id": ["a"], "ra": [1.0], "dec": [2.0]})
    with pytest.raises(InputError, match="photoz"):
        context_features(objs, None, ContextConfig(galaxy_distance=False, extra_columns=["photoz"]))


@pytest.mark.data
def test_builtin_catalogues_load(shared_data):
    m = GalaxyCatalog.load("mangrove", data_dir=shared_data)
    g = GalaxyCatalog.load("gwgc", data_dir=shared_data)
    assert len(m) == 295341
    assert len(g) > 47000
    # a galaxy is at distance 0 from itself
    ra, dec = m.coords.ra.deg[:5], m.coords.dec.deg[:5]
    assert np.allclose(m.nearest_distance(ra, dec), 0.0, atol=1e-6)
