"""Benchmark sets: the GOTO-like resampling, the crts3 builder and the PLAsTiCC sets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skysift import benchsets as B
from skysift.errors import InputError
from skysift.io.tables import LightCurveSet, from_frames
from skysift.simulate.survey import SurveyConfig

CFG = SurveyConfig()


# --------------------------------------------------------------------------- synthetic sources


def _set(rows: list[pd.DataFrame], objects: list[dict], name: str) -> LightCurveSet:
    return from_frames(pd.concat(rows, ignore_index=True), pd.DataFrame(objects), name=name)


def _fake_sources(n_vs: int = 400, n_agn: int = 30, n_sn_crts: int = 10, n_sn_ztf: int = 60, seed: int = 0):
    """Loader-like sets: dense CRTS-like variable stars and AGN (8 years), ZTF-like SNe (60 days, R)."""
    rng = np.random.default_rng(seed)
    t_crts = np.arange(53500.0, 56500.0, 3.0)
    rows, objs = [], []
    for i in range(n_vs):
        p, m0 = rng.uniform(0.3, 0.8), rng.uniform(14.0, 18.5)
        m = m0 + 0.4 * np.sin(2 * np.pi * t_crts / p) + rng.normal(0, 0.05, t_crts.size)
        rows.append(pd.DataFrame({"object_id": str(1000 + i), "mjd": t_crts, "mag": m, "mag_err": 0.08}))
        objs.append({"object_id": str(1000 + i), "ra": rng.uniform(0, 360), "dec": rng.uniform(-70, -20),
                     "label": "VS", "fine_label": "RRab"})
    crts = _set(rows, objs, "crts_periodic")

    rows, objs = [], []
    for i in range(n_agn + n_sn_crts + 1):
        oid = str(5000 + i)
        if i < n_agn:
            m = 18.0 + np.cumsum(rng.normal(0, 0.03, t_crts.size))
            fine, lab = ("AGN", "AGN") if i % 2 else ("Blazar", "AGN")
        elif i < n_agn + n_sn_crts:
            t_pk = rng.uniform(54000, 56000)
            dt = t_crts - t_pk
            m = np.where(np.abs(dt) < 60, 17.0 + 0.03 * np.abs(dt), 19.5)
            fine, lab = "SN", "SN"
        else:
            m = np.full(t_crts.size, 17.0)
            fine, lab = "CV", "VS"  # not used by crts3
        rows.append(pd.DataFrame({"object_id": oid, "mjd": t_crts, "mag": m, "mag_err": 0.1}))
        objs.append({"object_id": oid, "ra": rng.uniform(0, 360), "dec": rng.uniform(-20, 60), "label": lab,
                     "fine_label": fine})
    mantra = _set(rows, objs, "mantra")

    rows, objs = [], []
    for i in range(n_sn_ztf + 1):
        oid = f"ZTF{i:05d}"
        t0 = rng.uniform(58300, 59300)
        t = t0 + np.sort(rng.uniform(0, 60, 20))
        m = 18.2 + 0.002 * (t - t0 - 15) ** 2
        rows.append(pd.DataFrame({"object_id": oid, "mjd": t, "mag": m, "mag_err": 0.05, "band": "R"}))
        fine = "SN Ia" if i < n_sn_ztf else "TDE"  # a TDE is SN-class in the loaders but not a supernova
        objs.append({"object_id": oid, "ra": rng.uniform(0, 360), "dec": rng.uniform(-25, 80), "label": "SN",
                     "fine_label": fine})
    bts = _set(rows, objs, "ztf_bts")
    return {"crts_periodic": crts, "mantra": mantra, "ztf_bts": bts}


@pytest.fixture(scope="module")
def fake():
    return _fake_sources()


# --------------------------------------------------------------------------- helpers


def test_minority_budget_and_cap() -> None:
    assert B.minority_budget(9800, 0.98) == 200
    assert B.minority_budget(27914, 0.98) == 569
    for n in (1, 49, 50, 1234, 37437):
        b = B.minority_budget(n, 0.98)
        assert n / (n + b) >= 0.98 and n / (n + b + 1) < 0.98
    assert B._cap(10, 20, 100) == (10, 20)
    assert B._cap(100, 2000, 300) == (100, 200)  # all AGN fit in half: the rest to SN
    assert B._cap(500, 20, 300) == (280, 20)
    assert B._cap(500, 500, 301) == (150, 151)
    with pytest.raises(InputError):
        B.minority_budget(100, 1.0)


def test_homogenised_errors_are_one_function_of_magnitude() -> None:
    rng = np.random.default_rng(0)
    m = rng.uniform(12, 20, 20000)
    for real in (0.01, 0.05):
        mag, err = B.homogenise_errors(m, np.full(m.size, real), rng)
        np.testing.assert_allclose(err, B.homogenised_error(m))
        # the added noise brings the scatter up to the common error
        sel = (m > 17.8) & (m < 18.2)
        resid = (mag - m)[sel]
        expect = np.sqrt(B.homogenised_error(18.0) ** 2 - real**2)
        assert abs(resid.std() / expect - 1) < 0.1
    assert 0.2 < B.homogenised_error(18.0) < 0.25
    assert B.homogenised_error(13.0) < 0.06


def _one(t: np.ndarray, m: np.ndarray, name: str = "x") -> LightCurveSet:
    phot = pd.DataFrame({"object_id": "a", "mjd": t, "mag": m, "mag_err": 0.05})
    objs = pd.DataFrame({"object_id": ["a"], "ra": [10.0], "dec": [10.0], "label": ["SN"]})
    return from_frames(phot, objs, name=name)


def test_peak_windows_contain_the_peak_and_nothing_outside_the_real_span() -> None:
    t = np.arange(60000.0, 60060.0, 2.0)
    m = 17.0 + 0.003 * (t - 60020.0) ** 2  # peak at 60020
    lc = _one(t, m)
    for s in range(20):
        rng = np.random.default_rng(s)
        out = B.resample_to_survey(lc, rng, CFG, window="peak", method="linear", errors="none",
                                   shift_to_survey=False)
        if len(out.photometry):
            mj = out.photometry["mjd"].to_numpy()
            assert mj.min() >= t[0] and mj.max() <= t[-1]
    # windows anywhere stay inside the span too
    out = B.resample_to_survey(lc, np.random.default_rng(1), CFG, window="anywhere", shift_to_survey=False)
    assert out.photometry["mjd"].between(t[0], t[-1]).all()


def test_reported_errors_follow_the_observed_magnitude_not_the_true_one() -> None:
    # a star whose true brightness swings by 2 mag: error bars evaluated at the true magnitude
    # would trace the noise-free light curve; they must be a function of what was measured
    from dataclasses import replace

    from skysift.simulate.survey import magnitude_error

    t = np.arange(58000.0, 58400.0, 0.25)
    m = 18.0 + 1.0 * np.sin(2 * np.pi * t / 3.7)
    cfg = replace(CFG, limit_scatter_mag=0.0)  # one depth for every visit: the error is a function of mag
    phot = pd.concat([B.resample_to_survey(_one(t, m), np.random.default_rng(s), cfg, window="anywhere",
                                           method="linear", errors="homogenised", shift_to_survey=False).photometry
                      for s in range(10)])
    obs, err = phot["mag"].to_numpy(), phot["mag_err"].to_numpy()
    assert obs.size > 30 and np.ptp(obs) > 1.0
    expect = np.sqrt(magnitude_error(obs, cfg.limit_mag, cfg) ** 2 + B.homogenised_error(obs) ** 2)
    np.testing.assert_allclose(err, expect, rtol=1e-10)


def test_nearest_takes_real_values_and_respects_the_gap_limit() -> None:
    # two seasons of data with a 300-day hole: visits in the hole are lost
    t = np.concatenate([np.arange(0.0, 100.0, 1.0), np.arange(400.0, 500.0, 1.0)]) + 58000.0
    m = np.where(t < 58200, 15.0, 16.0)
    lc = _one(t, m)
    big = SurveyConfig(window_median_days=400.0, window_sigma=0.0, max_window_days=600.0,
                       night_gap_median_days=3.0, gap_sigma=0.3, error_floor_mag=0.0, limit_mag=22.0)
    out = B.resample_to_survey(lc, np.random.default_rng(3), big, method="nearest", max_nearest_days=5.0,
                               errors="none", shift_to_survey=False)
    mj = out.photometry["mjd"].to_numpy()
    assert not ((mj > 58105) & (mj < 58395)).any()
    # GOTO noise only (floor 0, bright): values stay close to the real ones
    mag = out.photometry["mag"].to_numpy()
    assert np.all(np.abs(mag - np.where(mj < 58200, 15.0, 16.0)) < 0.1)


def test_shift_moves_windows_into_the_survey_era() -> None:
    t = np.arange(53500.0, 56500.0, 2.0)
    lc = _one(t, np.full(t.size, 15.0))
    out = B.resample_to_survey(lc, np.random.default_rng(0), CFG)
    mj = out.photometry["mjd"].to_numpy()
    assert mj.min() >= CFG.start_mjd - 1 and mj.max() <= CFG.start_mjd + CFG.survey_days + 1


def test_resample_checks_its_arguments() -> None:
    lc = _one(np.arange(5.0) + 58000, np.full(5, 15.0))
    rng = np.random.default_rng(0)
    with pytest.raises(InputError):
        B.resample_to_survey(lc, rng, window="middle")
    with pytest.raises(InputError):
        B.resample_to_survey(lc, rng, method="cubic")
    with pytest.raises(InputError):
        B.resample_to_survey(lc, rng, errors="some")


# --------------------------------------------------------------------------- crts3 on synthetic sources


def test_crts3_from_synthetic_sources(fake) -> None:
    s = B.build_crts3(sources=fake, seed=0, vs_fraction_min=0.9)
    counts = s.class_counts()
    assert set(counts) == {"VS", "SN", "AGN"}
    assert counts["VS"] / len(s) >= 0.9
    assert s.bands == ["L"]
    assert s.name == "crts3"
    ids = s.objects["object_id"]
    assert ids.str.match(r"^(crts|mantra|bts):").all()
    assert not ids.str.contains("ZTF00060").any()  # the TDE is not a supernova
    assert not (s.objects["fine_label"] == "CV").any()
    # minority budget respected, MANTRA SNe first
    sn = s.objects[s.objects["label"] == "SN"]
    assert sn["object_id"].str.startswith("mantra:").sum() == min(
        10, int((sn["object_id"].str.startswith("mantra:")).sum()))
    reasons = " ".join(r for _, r, _ in s.dropped.entries)
    assert "not supernovae" in reasons and "other or uncertain classes" in reasons
    # every object's photometry is there and sorted
    ph = s.photometry
    assert set(ph["object_id"]) == set(ids)
    assert (ph.groupby("object_id")["mjd"].diff().dropna() > 0).all()
    assert ph.groupby("object_id").size().min() >= 2


def test_crts3_is_deterministic_for_a_seed(fake) -> None:
    a = B.build_crts3(sources=fake, seed=3, vs_fraction_min=0.9)
    b = B.build_crts3(sources=fake, seed=3, vs_fraction_min=0.9)
    c = B.build_crts3(sources=fake, seed=4, vs_fraction_min=0.9)
    pd.testing.assert_frame_equal(a.photometry, b.photometry)
    pd.testing.assert_frame_equal(a.objects, b.objects)
    assert not a.photometry["mag"].equals(c.photometry["mag"]) or len(a.photometry) != len(c.photometry)


def test_crts3_naive_emulate_variant_and_errors(fake) -> None:
    naive = B.build_crts3(sources=fake, seed=0, vs_fraction_min=0.9, resampler="emulate")
    assert set(naive.class_counts()) == {"VS", "SN", "AGN"}
    # naive keeps real dates: CRTS objects in 2005-2013, BTS after 2018
    first = naive.photometry.groupby("object_id")["mjd"].min()
    assert (first[first.index.str.startswith("crts:")] < 57000).all()
    with pytest.raises(InputError):
        B.build_crts3(sources=fake, resampler="other")
    with pytest.raises(InputError, match="too few"):
        B.build_crts3(sources=fake, vs_fraction_min=0.999)


def test_summary_reports_counts_and_stats(fake) -> None:
    s = B.build_crts3(sources=fake, seed=0, vs_fraction_min=0.9)
    summ = B.summary(s)
    assert summ["all"]["objects"] == len(s)
    assert set(summ["per_class"]) == {"VS", "SN", "AGN"}
    assert abs(sum(summ["class_fractions"].values()) - 1) < 1e-9


def test_registry() -> None:
    assert {"goto3", "crts3", "plasticc3", "plasticc14"} <= set(B.BUILDERS)
    with pytest.raises(InputError, match="unknown benchmark set"):
        B.build("nope")


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def crts3_small(shared_data):
    return B.build_crts3(seed=0, n_vs=2000)


@pytest.mark.data
@pytest.mark.slow
def test_crts3_small_real(crts3_small) -> None:
    s = crts3_small
    counts = s.class_counts()
    assert set(counts) == {"VS", "SN", "AGN"}
    assert counts["VS"] / len(s) >= 0.98
    assert min(counts["SN"], counts["AGN"]) >= 3
    st = B.lightcurve_stats(s)
    assert 4 <= st["n_points"].median() <= 10
    assert 7 <= st["median_gap_days"].median() <= 15
    assert st["span_days"].max() <= CFG.max_window_days + 1
    assert s.photometry["mag"].between(CFG.saturation_mag, CFG.deepest_limit_mag).all()


@pytest.mark.data
@pytest.mark.slow
def test_crts3_small_real_is_deterministic(crts3_small) -> None:
    again = B.build_crts3(seed=0, n_vs=2000)
    pd.testing.assert_frame_equal(crts3_small.objects, again.objects)
    pd.testing.assert_frame_equal(crts3_small.photometry, again.photometry)


#: The default build's counts, as documented in docs/datasets.md.
CRTS3_DOCUMENTED = {"VS": 28057, "SN": 373, "AGN": 199}


@pytest.mark.data
@pytest.mark.slow
def test_crts3_full_counts_as_documented(shared_data) -> None:
    s = B.build_crts3()
    assert s.class_counts() == CRTS3_DOCUMENTED
    assert s.class_counts()["VS"] / len(s) >= 0.98
    summ = B.summary(s)
    assert 4 <= summ["all"]["median_points"] <= 10
    assert 7 <= summ["all"]["median_gap_days"] <= 15
    assert s.objects["object_id"].is_unique


@pytest.mark.data
def test_plasticc_sets(shared_data) -> None:
    p14 = B.build_plasticc("fine")
    assert p14.name == "plasticc14"
    c14 = p14.class_counts()
    assert len(c14) == 14
    assert c14 == {"AGN": 280, "EBE": 559, "KN": 102, "M-dwarf": 944, "Mira": 29, "RRL": 238, "SLSN-I": 175,
                   "SNII": 1193, "SNIa": 2313, "SNIa-91bg": 208, "SNIax": 183, "SNIbc": 484, "TDE": 495,
                   "muLens-Single": 131}
    assert p14.bands == ["g", "i", "r", "u", "y", "z"]
    assert {"hostgal_photoz", "hostgal_photoz_err", "mwebv"} <= set(p14.context_columns)
    p3 = B.build_plasticc("three")
    assert p3.name == "plasticc3"
    assert p3.class_counts() == {"AGN": 280, "SN": 5153, "VS": 1770}
    assert sum(c14.values()) - c14["muLens-Single"] == len(p3)


# --------------------------------------------------------------------------- peer helpers


def _peerlib():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "peerlib.py"
    spec = importlib.util.spec_from_file_location("peerlib", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["peerlib"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_recall_at_one_percent_fpr() -> None:
    pl = _peerlib()
    y = np.array([1] * 10 + [0] * 200)
    score = np.concatenate([np.linspace(0.9, 0.5, 10), np.linspace(0.8, 0.0, 200)])
    # 1 % of 200 negatives = 2 false positives allowed
    r = pl.recall_at_fpr(y, score, 0.01)
    thr = np.sort(score[y == 0])[-3]  # the third-highest negative must stay below the threshold
    assert r == pytest.approx(np.mean(score[y == 1] > thr))
    assert pl.recall_at_fpr(np.ones(5, bool), np.ones(5)) != pl.recall_at_fpr(np.ones(5, bool), np.ones(5))  # NaN
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]])
    m = pl.classification_metrics(np.array(["A", "B", "C", "A"]), proba, ["A", "B", "C"])
    assert m["auc"] == pytest.approx(1.0) and m["macro_f1"] == pytest.approx(1.0)
    rec = pl.result_record("x", "d", 0, m, 1.0, 10.0)
    pl.validate_record(rec)
