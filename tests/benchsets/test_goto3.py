"""goto3: sky placement (no data needed) and the real build (needs ../shared/data)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from skysift.context import galactic_coordinates
from skysift.goto3 import build_goto3, load_goto3_sources, place_extragalactic


def _objects(rng, n_vs=2000, n_sn=200, n_agn=200):
    vs = SkyCoord(l=rng.uniform(0, 360, n_vs) * u.deg, b=rng.normal(0, 25, n_vs).clip(-89, 89) * u.deg,
                  frame="galactic").icrs
    sn = SkyCoord(ra=rng.uniform(0, 360, n_sn) * u.deg, dec=rng.uniform(-20, 70, n_sn) * u.deg)
    agn = SkyCoord(ra=rng.uniform(-60, 60, n_agn) % 360 * u.deg, dec=rng.uniform(-1.2, 1.2, n_agn) * u.deg)
    ra = np.r_[vs.ra.deg, sn.ra.deg, agn.ra.deg]
    dec = np.r_[vs.dec.deg, sn.dec.deg, agn.dec.deg]
    labels = ["VS"] * n_vs + ["SN"] * n_sn + ["AGN"] * n_agn
    return pd.DataFrame({"object_id": [f"o{i}" for i in range(len(ra))], "ra": ra, "dec": dec, "label": labels})


def test_placement_keeps_stars_and_sn_latitudes_and_moves_hosts_along():
    rng = np.random.default_rng(0)
    obj = _objects(rng)
    sn = obj["label"] == "SN"
    # a host 20" from every supernova
    c = SkyCoord(ra=obj.loc[sn, "ra"].to_numpy() * u.deg, dec=obj.loc[sn, "dec"].to_numpy() * u.deg)
    hosts = c.directional_offset_by(rng.uniform(0, 360, sn.sum()) * u.deg, 20 * u.arcsec)
    new, moved = place_extragalactic(obj, hosts, np.random.default_rng(1))
    vs = obj["label"] == "VS"
    np.testing.assert_array_equal(new.loc[vs, ["ra", "dec"]].to_numpy(), obj.loc[vs, ["ra", "dec"]].to_numpy())
    _, b_old = galactic_coordinates(obj.loc[sn, "ra"], obj.loc[sn, "dec"])
    _, b_new = galactic_coordinates(new.loc[sn, "ra"], new.loc[sn, "dec"])
    assert np.max(np.abs(np.abs(b_new) - np.abs(b_old))) < 2.0  # |b| kept (up to the small jitter)
    # every supernova's host moved with it, at the same separation
    assert len(moved) == sn.sum()
    m = moved.set_index("object_id").loc[new.loc[sn, "object_id"]]
    sep = SkyCoord(ra=new.loc[sn, "ra"].to_numpy() * u.deg, dec=new.loc[sn, "dec"].to_numpy() * u.deg).separation(
        SkyCoord(ra=m["ra"].to_numpy() * u.deg, dec=m["dec"].to_numpy() * u.deg)).arcsec
    np.testing.assert_allclose(sep, 20.0, atol=1e-3)


def test_placement_removes_the_stripe_footprint():
    """Quasars all on one stripe (|Dec| < 1.3 deg) no longer sit there after placement."""
    rng = np.random.default_rng(3)
    obj = _objects(rng)
    new, _ = place_extragalactic(obj, None, np.random.default_rng(4))
    agn = new["label"] == "AGN"
    assert np.mean(np.abs(new.loc[agn, "dec"]) < 1.3) < 0.1
    assert new.loc[agn, "dec"].min() < -30 and new.loc[agn, "dec"].max() > 30


@pytest.fixture(scope="module")
def goto3_small(shared_data):
    sources = load_goto3_sources(shared_data, max_vs=1500, seed=0)
    return build_goto3(shared_data, n_vs=1500, sources=sources), sources


@pytest.mark.data
@pytest.mark.slow
def test_goto3_small_real(goto3_small):
    ls, _ = goto3_small
    counts = ls.class_counts()
    assert set(counts) == {"VS", "SN", "AGN"}
    assert counts["VS"] / len(ls) >= 0.97
    assert min(counts["SN"], counts["AGN"]) >= 10
    ids = ls.objects["object_id"]
    # every class from several surveys
    assert {"crts", "css"} <= {i.split(":")[0] for i in ids[ls.objects.label == "VS"]}
    assert len({i.split(":")[0] for i in ids[ls.objects.label == "AGN"]}) >= 2
    assert {"bts", "mantra"} & {i.split(":")[0] for i in ids[ls.objects.label == "SN"]}
    # one GOTO-like band, dates inside the survey, positions valid, its own galaxy catalogue
    assert ls.bands == ["L"]
    assert ls.objects["dec"].between(-90, 90).all()
    assert ls.galaxies is not None and len(ls.galaxies) > 290_000
    assert not any(c for c in ls.context_columns)  # no extra column becomes context by accident


@pytest.mark.data
@pytest.mark.slow
def test_goto3_is_deterministic(goto3_small, shared_data):
    ls, sources = goto3_small
    again = build_goto3(shared_data, n_vs=1500, sources=sources)
    pd.testing.assert_frame_equal(ls.objects, again.objects)
    pd.testing.assert_frame_equal(ls.photometry, again.photometry)


@pytest.mark.data
def test_new_loaders_counts(shared_data):
    from skysift.io import surveys

    css = surveys.load_css_north(shared_data, max_objects=300, seed=0)
    assert len(css) == 300 and set(css.labels) == {"VS"} and css.bands == ["V_CSS"]
    assert css.object_ids[0].startswith("css:")
    macho = surveys.load_macho_quasars(shared_data)
    assert len(macho) == 59 and set(macho.labels) == {"AGN"} and macho.bands == ["MACHO_R"]
    s82 = surveys.load_sdss_s82_quasars(shared_data, max_objects=200, seed=1)
    assert len(s82) == 200 and s82.bands == ["r"]
    assert (s82.objects["dec"].abs() < 1.3).all()


@pytest.mark.data
@pytest.mark.slow
def test_goto3_saved_and_loaded_brings_its_galaxies(goto3_small, tmp_path):
    """What `skysift datasets build goto3 --out DIR` writes loads back with its own catalogue."""
    from skysift.datasets import load_dataset

    ls, _ = goto3_small
    ls.save(tmp_path / "g3")
    ds = load_dataset(tmp_path / "g3")
    assert len(ds.lcset) == len(ls)
    assert ds.galaxy_catalog is not None and len(ds.galaxy_catalog) == len(ls.galaxies)
