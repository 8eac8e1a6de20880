"""Survey loaders (skysift.io.surveys) and the class mappings (skysift.io.classes).

The real-data tests assert the counts found in ../shared/data (see each folder's README.txt);
they skip when the data is absent. Loading all 8.4M CRTS rows takes ~10 s, done once per module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError
from skysift.io import surveys
from skysift.io.classes import (
    CRTS_PERIODIC_TYPES,
    PLASTICC_CLASSES,
    PLASTICC_SUPERCLASS,
    SUPERCLASSES,
    describe_mapping,
    superclass_series,
    to_superclass,
)
from skysift.io.surveys import flux_to_mag, resolve_same_epoch
from skysift.io.tables import DropReport, LightCurveSet

# --------------------------------------------------------------------------- class mappings


def test_crts_types_are_all_variable_stars():
    assert CRTS_PERIODIC_TYPES[1] == "RRab" and CRTS_PERIODIC_TYPES[5] == "EW" and CRTS_PERIODIC_TYPES[12] == "Cep-II"
    assert sorted(CRTS_PERIODIC_TYPES) == list(range(1, 14))
    for code, name in CRTS_PERIODIC_TYPES.items():
        assert to_superclass(code, "crts_periodic") == "VS"
        assert to_superclass(name, "crts_periodic") == "VS"
    assert to_superclass(99, "crts_periodic") is None


def test_plasticc_codes_names_and_grouping():
    assert set(PLASTICC_CLASSES) == set(PLASTICC_SUPERCLASS)
    assert len(PLASTICC_CLASSES) == 14
    assert {c for c, s in PLASTICC_SUPERCLASS.items() if s == "VS"} == {16, 53, 65, 92}
    assert {c for c, s in PLASTICC_SUPERCLASS.items() if s == "SN"} == {15, 42, 52, 62, 64, 67, 90, 95}
    assert {c for c, s in PLASTICC_SUPERCLASS.items() if s == "AGN"} == {88}
    assert PLASTICC_SUPERCLASS[6] is None  # microlensing: neither
    assert to_superclass(90, "plasticc") == "SN" and to_superclass("SNIa", "plasticc") == "SN"
    assert to_superclass("90", "plasticc") == "SN" and to_superclass("RRL", "plasticc") == "VS"
    assert to_superclass(991, "plasticc") is None
    assert describe_mapping("plasticc")["muLens-Single"] is None


@pytest.mark.parametrize(
    "label,expected",
    [
        ("SN", "SN"), ("AGN", "AGN"), ("Blazar", "AGN"), ("QSO", "AGN"), ("CV", "VS"), ("Flare", "VS"),
        ("Var", "VS"), ("Mira", "VS"), ("YSO", "VS"), ("RRL", "VS"), ("HPM", None), ("Nova", None),
        ("Ast", None), ("Comet", None), ("Unknown", None), ("SN?", None), ("AGN?", None),
        ("AGN/Blazar", "AGN"), ("Blazar/AGN", "AGN"), ("CV/Flare", "VS"), ("SN/AGN", None), ("SN/CV", None),
        ("SN/TDE", "SN"), ("Var/Nova", None), ("HPM_GJ3329", None), ("", None), (None, None),
    ],
)
def test_mantra_labels(label, expected):
    assert to_superclass(label, "mantra") == expected


def test_tentative_labels_map_only_on_request():
    assert to_superclass("SN?", "mantra") is None
    assert to_superclass("SN?", "mantra", tentative=True) == "SN"
    assert to_superclass("Blazar?", "mantra", tentative=True) == "AGN"
    assert to_superclass("SN/AGN?", "mantra", tentative=True) is None


@pytest.mark.parametrize(
    "label,expected",
    [
        ("SN Ia", "SN"), ("SN Ia-91bg", "SN"), ("SN Ib/c", "SN"), ("SN IIn", "SN"), ("SLSN-I", "SN"),
        ("SLSN-II", "SN"), ("Ca-rich", "SN"), ("TDE", "SN"), ("nova", None), ("LBV", None), ("ILRT", None),
        ("LRN", None), ("other", None),
    ],
)
def test_bts_types(label, expected):
    assert to_superclass(label, "ztf_bts") == expected


def test_alerce_classes():
    for lab in ("SNIa", "SNIbc", "SNII", "SLSN"):
        assert to_superclass(lab, "alerce") == "SN"
    assert to_superclass("CV/Nova", "alerce") == "VS"
    assert to_superclass("QSO", "alerce") == "AGN"


def test_unknown_catalogue_is_refused():
    with pytest.raises(InputError, match="unknown catalogue"):
        to_superclass("SN", "sdss")


def test_superclass_series_is_vectorised_and_keeps_none():
    s = superclass_series(pd.Series(["SN", "HPM", "Blazar", "SN"]), "mantra")
    assert s.tolist() == ["SN", None, "AGN", "SN"]


# --------------------------------------------------------------------------- helpers


def test_flux_to_mag():
    mag, err = flux_to_mag(np.array([1.0, 10.0, 0.0, -5.0]), np.array([0.1, 1.0, 1.0, 1.0]))
    assert mag[0] == pytest.approx(27.5) and mag[1] == pytest.approx(25.0)
    assert err[0] == pytest.approx(2.5 / np.log(10) * 0.1)
    assert np.isnan(mag[2:]).all() and np.isnan(err[2:]).all()


def test_resolve_same_epoch_merges_agreeing_and_removes_conflicting_copies():
    phot = pd.DataFrame({
        "object_id": ["a", "a", "a", "a", "b", "b", "a"],
        "mjd": [1.0, 1.0, 2.0, 2.0, 1.0, 2.0, 3.0],
        "mag": [18.0, 18.0004, 18.0, 18.5, 19.0, 19.0, 17.0],
        "mag_err": [0.1, 0.11, 0.1, 0.1, 0.1, 0.1, 0.1],
        "band": ["g", "g", "g", "g", "g", "g", "g"],
    })
    report = DropReport()
    out = resolve_same_epoch(phot, report)
    assert out[["object_id", "mjd", "mag"]].values.tolist() == [["a", 1.0, 18.0], ["b", 1.0, 19.0],
                                                                ["b", 2.0, 19.0], ["a", 3.0, 17.0]]
    assert [n for _, _, n in report.entries] == [1, 2]
    # different bands at the same time are not repeats
    phot["band"] = ["g", "R", "g", "R", "g", "g", "g"]
    report = DropReport()
    assert len(resolve_same_epoch(phot, report)) == 7 and not report


def test_missing_files_name_the_path(tmp_path):
    for name, sub in (("crts_periodic", "crts_sss_periodic_vars"), ("mantra", "mantra_crts"),
                      ("ztf_bts", "ztf_bts_antares"), ("plasticc", "plasticc_train")):
        with pytest.raises(InputError, match="expected data file is missing") as exc:
            surveys.load(name, data_dir=tmp_path)
        assert str(tmp_path / sub) in str(exc.value)


def test_missing_data_dir_is_clear(tmp_path):
    with pytest.raises(InputError, match="data directory not found"):
        surveys.load_mantra(data_dir=tmp_path / "nowhere")


def test_registry_and_bad_arguments():
    assert set(surveys.LOADERS) == {"crts_periodic", "mantra", "ztf_bts", "plasticc", "css_north",
                                    "sdss_s82_quasars", "macho_quasars"}
    with pytest.raises(InputError, match="unknown survey loader 'nope'"):
        surveys.load("nope")
    with pytest.raises(InputError, match="classes must be"):
        surveys.load_mantra(classes="five")


# --------------------------------------------------------------------------- real data: small sets


@pytest.fixture(scope="module")
def mantra(shared_data: Path) -> LightCurveSet:
    return surveys.load_mantra(data_dir=shared_data)


@pytest.fixture(scope="module")
def mantra_all(shared_data: Path) -> LightCurveSet:
    return surveys.load_mantra(data_dir=shared_data, include_unmapped=True, classes="fine")


def _check_set(lcs: LightCurveSet) -> None:
    """Invariants every loader's set satisfies."""
    ph, ob = lcs.photometry, lcs.objects
    assert {"object_id", "ra", "dec", "label", "fine_label"} <= set(ob.columns)
    assert ob["object_id"].is_unique and ob["label"].notna().all() and ob["fine_label"].notna().all()
    assert set(ph["object_id"].unique()) == set(ob["object_id"])
    assert np.isfinite(ph[["mjd", "mag", "mag_err"]].to_numpy()).all() and (ph["mag_err"] >= 0).all()
    assert (ph["mjd"] > surveys.MJD_MIN).all()
    key = ["object_id", "band", "mjd"] if "band" in ph else ["object_id", "mjd"]
    assert not ph.duplicated(subset=key).any()


@pytest.mark.data
def test_mantra_counts(mantra, mantra_all):
    _check_set(mantra)
    _check_set(mantra_all)
    # README: 1,097 objects: HPM 330, Blazar 239, Flare 215, CV 130, AGN 53, Var 49, SN 49, others small
    fine = mantra_all.class_counts()
    assert len(mantra_all) == 1097
    assert {k: fine[k] for k in ("HPM", "Blazar", "Flare", "CV", "AGN", "Var", "SN")} == {
        "HPM": 330, "Blazar": 239, "Flare": 215, "CV": 130, "AGN": 53, "Var": 49, "SN": 49}
    assert ("objects", "MANTRA catalogue row without a light curve", 4442) in mantra_all.dropped.entries
    # three classes: HPM and uncertain/ambiguous/unknown labels left out, each reported
    assert mantra.class_counts() == {"AGN": 294, "SN": 49, "VS": 409}
    assert len(mantra) == 752 and mantra.bands == ["L"]
    assert mantra.objects.groupby("label")["fine_label"].apply(set).to_dict() == {
        "AGN": {"AGN", "Blazar", "AGN/Blazar"},
        "SN": {"SN"},
        "VS": {"Flare", "CV", "Var", "LPV", "Mira", "YSO", "Carbon", "Carb", "RRL", "OH-IR"},
    }
    left_out = {r: n for t, r, n in mantra.dropped.entries if t == "objects" and r.startswith("class ")}
    assert sum(left_out.values()) == 1097 - 752
    assert left_out["class 'HPM' maps to none of VS/SN/AGN (include_unmapped=True keeps it)"] == 330
    # positions come from the label file
    assert mantra.objects["dec"].between(-90, 90).all()


@pytest.mark.data
def test_mantra_tentative_and_unmapped_labels(shared_data):
    t = surveys.load_mantra(data_dir=shared_data, tentative=True)
    assert t.class_counts() == {"AGN": 300, "SN": 50, "VS": 412}
    u = surveys.load_mantra(data_dir=shared_data, include_unmapped=True)
    counts = u.class_counts()
    assert counts["HPM"] == 330 and counts["VS"] == 409 and len(u) == 1097


@pytest.fixture(scope="module")
def bts(shared_data: Path) -> LightCurveSet:
    return surveys.load_ztf_bts(data_dir=shared_data)


@pytest.mark.data
def test_bts_counts(bts, shared_data):
    _check_set(bts)
    assert bts.bands == ["R", "g"]
    fine = bts.objects["fine_label"].value_counts()
    assert fine["SN Ia"] == 1910 and fine["SN II"] == 345 and fine["SLSN-I"] == 25 and fine["TDE"] == 9
    assert bts.class_counts() == {"SN": 2686}
    dropped = {r: n for t, r, n in bts.dropped.entries}
    assert dropped["BTS catalogue row without a light curve"] == 664
    for cls, n in (("nova", 17), ("LBV", 2), ("ILRT", 2), ("other", 2), ("LRN", 1)):
        assert dropped[f"class '{cls}' maps to none of VS/SN/AGN (include_unmapped=True keeps it)"] == n
    every = surveys.load_ztf_bts(data_dir=shared_data, include_unmapped=True)
    assert len(every) == 2710  # README: 2,710 objects, all matched in both catalogues
    assert every.class_counts() == {"ILRT": 2, "LBV": 2, "LRN": 1, "SN": 2686, "nova": 17, "other": 2}
    # raw file: 96,034 rows; 481 repeated copies merged, 40 conflicting rows removed, 945 of left-out classes
    assert len(every.photometry) == 96034 - 481 - 40
    # newest catalogue wins for the 4 reclassified objects
    assert every.objects.set_index("object_id").loc["ZTF18abvkmgw", "fine_label"] == "SN Ib"


@pytest.mark.data
def test_bts_positions_from_sexagesimal(bts):
    o = bts.objects.set_index("object_id")
    # ZTF18aaqedfj: 13:45:25.21 +26:25:27.2
    assert o.loc["ZTF18aaqedfj", "ra"] == pytest.approx((13 + 45 / 60 + 25.21 / 3600) * 15, abs=1e-6)
    assert o.loc["ZTF18aaqedfj", "dec"] == pytest.approx(26 + 25 / 60 + 27.2 / 3600, abs=1e-6)


@pytest.mark.data
def test_bts_band_selection_and_context(shared_data):
    r = surveys.load_ztf_bts(data_dir=shared_data, bands=("R",), context=("A_V",))
    _check_set(r)
    assert r.bands == ["R"] and r.context_columns == ["A_V"]
    assert len(r) == 2669 and (r.objects["A_V"] >= 0).all()
    assert ("photometry", "band not selected (bands=('R',))", 43857) in r.dropped.entries
    with pytest.raises(InputError, match="selects nothing"):
        surveys.load_ztf_bts(data_dir=shared_data, bands=("i",))
    with pytest.raises(InputError, match="unknown BTS context"):
        surveys.load_ztf_bts(data_dir=shared_data, context=("redshift",))


@pytest.fixture(scope="module")
def plasticc_fine(shared_data: Path) -> LightCurveSet:
    return surveys.load_plasticc(data_dir=shared_data, classes="fine", include_unmapped=True)


# metadata target counts (7,848 objects) and what is left with a positive-flux detection
PLASTICC_TARGETS = {6: 151, 15: 495, 16: 924, 42: 1193, 52: 183, 53: 30, 62: 484, 64: 102, 65: 981, 67: 208,
                    88: 370, 90: 2313, 92: 239, 95: 175}
PLASTICC_DETECTED = {"AGN": 280, "EBE": 559, "KN": 102, "M-dwarf": 944, "Mira": 29, "RRL": 238, "SLSN-I": 175,
                     "SNII": 1193, "SNIa": 2313, "SNIa-91bg": 208, "SNIax": 183, "SNIbc": 484, "TDE": 495,
                     "muLens-Single": 131}


@pytest.mark.data
def test_plasticc_metadata_counts(shared_data):
    meta = pd.read_parquet(shared_data / "plasticc_train" / "plasticc_train_metadata.parquet")
    assert len(meta) == 7848
    assert meta["target"].value_counts().to_dict() == PLASTICC_TARGETS


@pytest.mark.data
def test_plasticc_fine_counts_and_magnitudes(plasticc_fine):
    _check_set(plasticc_fine)
    assert plasticc_fine.class_counts() == PLASTICC_DETECTED
    assert sum(PLASTICC_DETECTED.values()) == len(plasticc_fine) == 7334
    d = {r: n for _, r, n in plasticc_fine.dropped.entries}
    assert d["no positive-flux detection (no magnitude at all)"] == 7848 - 7334
    assert d["not detected (detected_bool == 0)"] == 1184825
    assert d["detected with flux <= 0 (no magnitude)"] == 69781
    assert len(plasticc_fine.photometry) == 1421705 - 1184825 - 69781
    assert set(plasticc_fine.bands) == set("ugrizy")
    assert plasticc_fine.context_columns == ["hostgal_photoz", "hostgal_photoz_err", "mwebv"]
    # detections are mostly high S/N (detected_bool comes from the difference image, not the flux)
    assert plasticc_fine.photometry["mag_err"].median() < 0.1


@pytest.mark.data
def test_plasticc_magnitudes_match_fluxes(shared_data, plasticc_fine):
    lc = pd.read_parquet(shared_data / "plasticc_train" / "plasticc_train_lightcurves.parquet")
    one = lc[(lc["object_id"] == 615) & (lc["detected_bool"] == 1) & (lc["flux"] > 0)].sort_values("mjd")
    ph = plasticc_fine.photometry[plasticc_fine.photometry["object_id"] == "615"].sort_values("mjd")
    assert len(ph) == len(one)
    np.testing.assert_allclose(ph["mag"], 27.5 - 2.5 * np.log10(one["flux"]))
    np.testing.assert_allclose(ph["mag_err"], 2.5 / np.log(10) * one["flux_err"] / one["flux"])
    assert ph["band"].tolist() == ["ugrizy"[p] for p in one["passband"]]


@pytest.mark.data
def test_plasticc_three_classes(shared_data, plasticc_fine):
    three = surveys.load_plasticc(data_dir=shared_data)
    _check_set(three)
    assert three.class_counts() == {"AGN": 280, "SN": 5153, "VS": 1770}
    assert ("objects", "class 'muLens-Single' maps to none of VS/SN/AGN (include_unmapped=True keeps it)",
            131) in three.dropped.entries
    pairs = three.objects.groupby("label")["fine_label"].apply(set).to_dict()
    assert pairs == {"AGN": {"AGN"}, "VS": {"EBE", "Mira", "M-dwarf", "RRL"},
                     "SN": {"SNIa", "SNII", "SNIbc", "SNIax", "SNIa-91bg", "SLSN-I", "TDE", "KN"}}
    assert set(three.labels) <= set(SUPERCLASSES)


@pytest.mark.data
def test_plasticc_options(shared_data):
    pos = surveys.load_plasticc(data_dir=shared_data, detections="positive", context=("mwebv", "ddf_bool"))
    _check_set(pos)
    assert len(pos) == 7667 and pos.context_columns == ["mwebv", "ddf_bool"]
    assert ("photometry", "flux <= 0 (no magnitude)", 613639) in pos.dropped.entries
    with pytest.raises(InputError, match="simulation truth"):
        surveys.load_plasticc(data_dir=shared_data, context=("true_z",))
    with pytest.raises(InputError, match="detections must be"):
        surveys.load_plasticc(data_dir=shared_data, detections="all")


# --------------------------------------------------------------------------- real data: CRTS


CRTS_TYPE_COUNTS = {"EW": 18803, "EA": 4509, "RRab": 4325, "RRc": 3752, "Rotational": 3636, "LPV": 1286, "RRd": 502,
                    "Blazhko": 171, "ACEP": 153, "Cep-II": 153, "HADS": 147}


@pytest.mark.data
def test_crts_catalogue(shared_data):
    cat = surveys.read_crts_catalogue(shared_data)
    assert len(cat) == 37745 and cat["File_Name"].is_unique
    counts = cat["Type"].map(CRTS_PERIODIC_TYPES).value_counts().to_dict()
    assert counts == {**CRTS_TYPE_COUNTS, "type-11": 298, "type-13": 10}
    assert cat["Dec"].between(-76.5, -20).all()
    assert (cat["Prior_ID"] == "TZ Scl").sum() == 1  # names with spaces survive


@pytest.mark.data
def test_crts_subset_is_filtered(shared_data):
    sub = surveys.load_crts_periodic(data_dir=shared_data, types=["RRab", 2], max_objects=300, seed=1)
    _check_set(sub)
    assert len(sub) == 300 and set(sub.objects["fine_label"]) <= {"RRab", "RRc"}
    assert sub.class_counts() == {"VS": 300}
    again = surveys.load_crts_periodic(data_dir=shared_data, types=["RRab", 2], max_objects=300, seed=1)
    assert again.object_ids.tolist() == sub.object_ids.tolist()
    with pytest.raises(InputError, match="unknown CRTS type"):
        surveys.load_crts_periodic(data_dir=shared_data, types=["Mira"])


@pytest.fixture(scope="module")
def crts(shared_data: Path) -> LightCurveSet:
    return surveys.load_crts_periodic(data_dir=shared_data)  # its time: benchmarks/bench_data.py


@pytest.mark.slow
@pytest.mark.data
def test_crts_full_load(crts):
    lcs = crts
    _check_set(lcs)
    assert len(lcs) == 37437 and lcs.class_counts() == {"VS": 37437}
    assert lcs.objects["fine_label"].value_counts().to_dict() == CRTS_TYPE_COUNTS
    assert "band" not in lcs.photometry and lcs.context_columns == []
    d = {r: n for _, r, n in lcs.dropped.entries}
    assert d["CRTS catalogue row without a light curve (type-11 298, type-13 10)"] == 308
    assert d["time before MJD 40000 (placeholder for a missing date)"] == 3
    repeated = sum(n for r, n in d.items() if r.startswith("repeated detection"))
    conflicting = sum(n for r, n in d.items() if r.startswith("conflicting detections"))
    assert (repeated, conflicting) == (11164, 12923)
    assert len(lcs.photometry) == 8388900 - 3 - repeated - conflicting == 8364810


@pytest.mark.slow
@pytest.mark.data
def test_crts_objects_match_the_catalogue(crts, shared_data):
    lcs = crts
    cat = surveys.read_crts_catalogue(shared_data).set_index("File_Name")
    o = lcs.objects.set_index(lcs.objects["object_id"].astype(np.int64))
    np.testing.assert_allclose(o["ra"], cat.loc[o.index, "RA"])
    assert (o["fine_label"] == cat.loc[o.index, "Type"].map(CRTS_PERIODIC_TYPES)).all()
    sizes = lcs.photometry.groupby("object_id").size()
    assert sizes.min() >= 1 and sizes.median() > 150


def test_one_module_per_survey_and_every_old_name_importable():
    import importlib

    for module, name in (("crts", "load_crts_periodic"), ("mantra", "load_mantra"), ("bts", "load_ztf_bts"),
                         ("plasticc", "load_plasticc"), ("folders", "load_macho_quasars")):
        mod = importlib.import_module(f"skysift.io.surveys.{module}")
        assert getattr(mod, name) is getattr(surveys, name)
    for name in surveys.__all__:  # the names of the old single module, all still here
        assert hasattr(surveys, name), name
    assert {"read_crts_catalogue", "read_bts_catalogue", "flux_to_mag", "MJD_MIN", "PLASTICC_SUPERCLASS"} <= set(
        surveys.__all__)
