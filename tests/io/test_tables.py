"""Validation of the photometry and object tables (skysift.io.tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError
from skysift.io.duplicates import SAME_EPOCH_TOL
from skysift.io.tables import (
    DropReport,
    LightCurveSet,
    from_files,
    from_frames,
    read_table,
    validate_objects,
    validate_photometry,
)

CONFLICT_KEPT = ("conflicting repeats (same object, band and time, magnitudes more than 0.001 mag apart; "
                 "the copy with the smallest error kept)")


def _phot(**cols) -> pd.DataFrame:
    base = {
        "object_id": ["a", "a", "a", "b", "b"],
        "mjd": [1.0, 2.0, 3.0, 1.5, 2.5],
        "mag": [18.0, 18.2, 18.1, 19.0, 19.5],
        "mag_err": [0.1, 0.1, 0.1, 0.2, 0.2],
    }
    base.update(cols)
    return pd.DataFrame(base)


def _objs(**cols) -> pd.DataFrame:
    base = {"object_id": ["a", "b"], "ra": [10.0, 200.0], "dec": [-5.0, 45.0], "label": ["VS", "SN"]}
    base.update(cols)
    return pd.DataFrame(base)


def _write_csv(path, df: pd.DataFrame):
    df.to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- happy path


def test_valid_tables_make_a_consistent_sorted_set():
    phot = _phot().iloc[::-1].reset_index(drop=True)  # reversed on purpose
    lcs = from_frames(phot, _objs(), name="t")
    assert len(lcs) == 2 and len(lcs.photometry) == 5
    assert lcs.photometry["object_id"].tolist() == ["a", "a", "a", "b", "b"]
    assert lcs.photometry.groupby("object_id")["mjd"].apply(lambda s: s.is_monotonic_increasing).all()
    assert lcs.class_counts() == {"SN": 1, "VS": 1}
    assert lcs.bands == ["L"] and not lcs.dropped and str(lcs.dropped) == "nothing dropped"
    assert lcs.context_columns == []
    assert "2 objects" in repr(lcs)


def test_integer_ids_become_strings_and_match():
    phot = _phot(object_id=[1, 1, 1, 2, 2])
    objs = _objs(object_id=[1, 2])
    lcs = from_frames(phot, objs)
    assert set(lcs.photometry["object_id"]) == {"1", "2"}
    assert lcs.object_ids.tolist() == ["1", "2"]


def test_extra_numeric_object_columns_are_context():
    lcs = from_frames(_phot(), _objs(hostgal_photoz=[0.1, 0.0]))
    assert lcs.context_columns == ["hostgal_photoz"]


def test_band_column_is_kept_and_listed():
    lcs = from_frames(_phot(band=["g", "R", "g", "R", "R"]), _objs())
    assert lcs.bands == ["R", "g"]


# --------------------------------------------------------------------------- photometry errors


@pytest.mark.parametrize("missing", ["object_id", "mjd", "mag", "mag_err"])
def test_missing_photometry_column_is_named(missing):
    with pytest.raises(InputError) as exc:
        from_frames(_phot().drop(columns=missing), _objs())
    assert exc.value.column == missing
    assert f"column '{missing}'" in str(exc.value) and "missing required column" in str(exc.value)


@pytest.mark.parametrize("col", ["mjd", "mag", "mag_err"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_with_the_row(col, bad):
    phot = _phot()
    phot.loc[3, col] = bad
    with pytest.raises(InputError) as exc:
        validate_photometry(phot)
    assert exc.value.column == col and exc.value.rows == [3]
    assert "NaN or infinite" in str(exc.value)


def test_non_numeric_values_are_refused():
    phot = _phot(mag=["18", "x", "18.1", "19", "19.5"])
    with pytest.raises(InputError, match="not numbers") as exc:
        validate_photometry(phot)
    assert exc.value.column == "mag" and exc.value.rows == [1]


@pytest.mark.parametrize("table, col, values, words", [
    ("photometry", "mag", [True, False, True, True, False], "booleans"),
    ("photometry", "mjd", pd.to_datetime(["2021-01-01"] * 5), "dates"),
    ("photometry", "mag_err", pd.to_timedelta([1, 2, 3, 4, 5], unit="s"), "durations"),
    ("objects", "ra", [True, False], "booleans"),
    ("objects", "host_z", [True, False], "booleans"),
])
def test_parquet_boolean_and_date_columns_are_not_numbers(tmp_path, table, col, values, words):
    phot, objs = (_phot(**{col: values}), _objs()) if table == "photometry" else (_phot(), _objs(**{col: values}))
    phot.to_parquet(tmp_path / "p.parquet")
    objs.to_parquet(tmp_path / "o.parquet")
    with pytest.raises(InputError, match=words) as exc:
        from_files(tmp_path / "p.parquet", tmp_path / "o.parquet")
    assert exc.value.column == col and "parquet" in str(exc.value)


def test_booleans_mixed_into_a_column_are_refused_with_their_rows():
    with pytest.raises(InputError, match="booleans") as exc:
        validate_photometry(_phot(mag=[18.0, True, 18.1, 19.0, 19.5]))
    assert exc.value.column == "mag" and exc.value.rows == [1]


def test_negative_errors_are_refused_zero_allowed():
    with pytest.raises(InputError, match="negative magnitude errors") as exc:
        validate_photometry(_phot(mag_err=[0.1, -0.1, 0.0, 0.2, 0.2]))
    assert exc.value.rows == [1]
    out = validate_photometry(_phot(mag_err=[0.1, 0.0, 0.0, 0.2, 0.2]))
    assert len(out) == 5


def test_missing_object_id_and_band():
    with pytest.raises(InputError, match="missing object_id"):
        validate_photometry(_phot(object_id=["a", None, "a", "b", "b"]))
    with pytest.raises(InputError, match="missing band"):
        validate_photometry(_phot(band=["g", "g", None, "R", "R"]))


def test_conflicting_duplicates_are_refused():
    phot = _phot(mjd=[1.0, 1.0, 3.0, 1.5, 2.5])  # 'a' twice at t=1 with different mags
    with pytest.raises(InputError, match="same object, band and time") as exc:
        validate_photometry(phot)
    assert exc.value.rows == [0, 1]


def test_same_time_in_different_bands_is_not_a_conflict():
    phot = _phot(mjd=[1.0, 1.0, 3.0, 1.5, 2.5], band=["g", "R", "g", "g", "g"])
    assert len(validate_photometry(phot)) == 5


def test_exact_duplicates_are_removed_and_reported():
    phot = pd.concat([_phot(), _phot().iloc[[0, 3]]], ignore_index=True)
    report = DropReport()
    out = validate_photometry(phot, report=report)
    assert len(out) == 5
    assert report.entries == [("photometry", "exact duplicate rows", 2)]
    lcs = from_frames(phot, _objs())
    assert lcs.dropped.total == 2 and "exact duplicate" in str(lcs.dropped)


def test_duplicate_detection_matches_plain_pandas_on_random_tables():
    """The fast repeat search keeps the same rows as plain pandas groupby on the whole table: exact
    copies and twins (magnitudes within the tolerance) merged to their first row, conflicting groups
    to their row with the smallest error."""
    rng = np.random.default_rng(3)
    n = 4000
    df = pd.DataFrame({
        "object_id": rng.choice(list("abcdefgh"), n),
        "mjd": rng.integers(0, 300, n).astype(float),
        "mag": rng.choice([18.0, 18.5, 19.0], n),
        "mag_err": rng.choice([0.1, 0.2], n),
        "band": rng.choice(["g", "R"], n),
    })
    key = ["object_id", "band", "mjd"]
    exact_ref = df.duplicated(keep="first").to_numpy()
    dedup = df.loc[~exact_ref]
    g = dedup.groupby(key, sort=False)
    spread = g["mag"].transform("max") - g["mag"].transform("min")
    conflict = (spread > SAME_EPOCH_TOL).to_numpy()
    first = ~dedup.duplicated(subset=key, keep="first").to_numpy()
    best_err = (dedup["mag_err"] == g["mag_err"].transform("min")).to_numpy()
    best_first = ~dedup.loc[conflict & best_err].duplicated(subset=key, keep="first").reindex(dedup.index,
                                                                                              fill_value=False)
    keep = np.where(conflict, best_first.to_numpy() & best_err & conflict, first)
    n_twins = int((~conflict & ~first).sum())
    n_lost = int((conflict & ~keep).sum())
    assert exact_ref.any() and n_twins and n_lost
    report = DropReport()
    out = validate_photometry(df, on_invalid="drop", report=report)
    assert {(t, r): k for t, r, k in report.entries} == {
        ("photometry", "exact duplicate rows"): int(exact_ref.sum()),
        ("photometry", "twins merged (same object, band and time, magnitudes within 0.001 mag; first kept)"): n_twins,
        ("photometry", CONFLICT_KEPT): n_lost,
    }
    expected = dedup.loc[keep].sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(out.reset_index(drop=True), expected, check_dtype=False)


def test_conflict_rows_point_at_the_input_rows_after_exact_duplicates():
    # row 1 is an exact copy of row 0; rows 3 and 4 conflict (same 'b' time, different mags)
    phot = pd.DataFrame({
        "object_id": ["a", "a", "a", "b", "b"],
        "mjd": [1.0, 1.0, 2.0, 5.0, 5.0],
        "mag": [18.0, 18.0, 18.5, 19.0, 19.4],
        "mag_err": [0.1, 0.1, 0.1, 0.2, 0.2],
    })
    with pytest.raises(InputError) as exc:
        validate_photometry(phot)
    assert exc.value.rows == [3, 4]


# --------------------------------------------------------------------------- object errors


@pytest.mark.parametrize("missing", ["object_id", "ra", "dec"])
def test_missing_object_column_is_named(missing):
    with pytest.raises(InputError) as exc:
        from_frames(_phot(), _objs().drop(columns=missing))
    assert exc.value.column == missing


@pytest.mark.parametrize(
    "col,values,message",
    [
        ("ra", [10.0, 360.0], "RA outside"),
        ("ra", [-0.1, 20.0], "RA outside"),
        ("dec", [10.0, 90.5], "Dec outside"),
        ("dec", [np.nan, 1.0], "NaN or infinite"),
    ],
)
def test_bad_positions_are_refused(col, values, message):
    with pytest.raises(InputError, match=message) as exc:
        validate_objects(_objs(**{col: values}))
    assert exc.value.column == col


def test_duplicate_object_ids_are_refused_even_when_dropping():
    objs = _objs(object_id=["a", "a"])
    for mode in ("raise", "drop"):
        with pytest.raises(InputError, match="duplicate object_id") as exc:
            validate_objects(objs, on_invalid=mode)
        assert exc.value.rows == [0, 1]


def test_missing_label_raises_or_is_dropped_with_a_report():
    objs = _objs(label=["VS", None])
    with pytest.raises(InputError, match="missing label"):
        from_frames(_phot(), objs)
    lcs = from_frames(_phot(), objs, on_invalid="drop")
    assert lcs.object_ids.tolist() == ["a"]
    assert ("objects", "missing label in 'label'", 1) in lcs.dropped.entries
    # its detections now have no object: reported too
    assert ("photometry", "object_id not in the object table", 2) in lcs.dropped.entries


def test_non_numeric_context_column_is_refused():
    with pytest.raises(InputError, match="not numbers") as exc:
        validate_objects(_objs(survey=["crts", "ztf"]))
    assert exc.value.column == "survey"


def test_missing_fine_label_is_allowed():
    out = validate_objects(_objs(fine_label=["RRab", None]))
    assert out["fine_label"].iloc[0] == "RRab" and pd.isna(out["fine_label"].iloc[1])


# --------------------------------------------------------------------------- consistency


def test_unknown_object_ids_raise_with_their_ids():
    phot = _phot(object_id=["a", "a", "a", "zz", "zz"])
    with pytest.raises(InputError, match="not in the object table: zz") as exc:
        from_frames(phot, _objs())
    assert exc.value.column == "object_id"


def test_unknown_object_ids_are_dropped_and_objects_without_detections_reported():
    phot = _phot(object_id=["a", "a", "a", "zz", "zz"])
    lcs = from_frames(phot, _objs(), on_invalid="drop")
    assert lcs.object_ids.tolist() == ["a"]
    assert ("photometry", "object_id not in the object table", 2) in lcs.dropped.entries
    assert ("objects", "no detections in the photometry table", 1) in lcs.dropped.entries


def test_objects_without_detections_are_reported_not_fatal():
    objs = pd.concat([_objs(), pd.DataFrame({"object_id": ["c"], "ra": [1.0], "dec": [1.0], "label": ["AGN"]})])
    lcs = from_frames(_phot(), objs)
    assert len(lcs) == 2 and lcs.dropped.entries == [("objects", "no detections in the photometry table", 1)]


def test_drop_mode_records_every_removal():
    phot = pd.DataFrame({
        "object_id": ["a", "a", None, "a", "b", "b", "b", "b", "zz"],
        "mjd": [1.0, np.nan, 3.0, 4.0, 1.0, 2.0, 2.0, 3.0, 1.0],
        "mag": [18.0, 18.0, 18.0, np.inf, 19.0, 19.0, 19.3, 19.0, 20.0],
        "mag_err": [0.1, 0.1, 0.1, 0.1, -0.2, 0.2, 0.2, 0.2, 0.1],
    })
    lcs = from_frames(phot, _objs(), on_invalid="drop")
    report = lcs.dropped
    reasons = {(t, r): n for t, r, n in report.entries}
    assert reasons == {
        ("photometry", "missing object_id in 'object_id'"): 1,
        ("photometry", "NaN or infinite values in 'mjd'"): 1,
        ("photometry", "NaN or infinite values in 'mag'"): 1,
        ("photometry", "negative magnitude errors in 'mag_err'"): 1,
        ("photometry", CONFLICT_KEPT): 1,
        ("photometry", "object_id not in the object table"): 1,
    }
    assert report.total == 6
    assert len(lcs.photometry) == len(phot) - report.total
    assert str(report).count("rows dropped") == len(report.entries)


# --------------------------------------------------------------------------- files and line numbers


def test_csv_errors_name_the_file_and_line(tmp_path):
    phot = _phot()
    phot.loc[2, "mag"] = np.nan  # data row 2 -> file line 4 (header is line 1)
    p = _write_csv(tmp_path / "phot.csv", phot)
    o = _write_csv(tmp_path / "objs.csv", _objs())
    with pytest.raises(InputError) as exc:
        from_files(p, o)
    msg = str(exc.value)
    assert str(p) in msg and "line 4" in msg and "column 'mag'" in msg


def test_csv_conflict_lines_survive_exact_duplicates(tmp_path):
    phot = pd.DataFrame({
        "object_id": ["a", "a", "a", "b", "b"],
        "mjd": [1.0, 1.0, 2.0, 5.0, 5.0],
        "mag": [18.0, 18.0, 18.5, 19.0, 19.4],
        "mag_err": [0.1, 0.1, 0.1, 0.2, 0.2],
    })
    p = _write_csv(tmp_path / "phot.csv", phot)
    o = _write_csv(tmp_path / "objs.csv", _objs())
    with pytest.raises(InputError) as exc:
        from_files(p, o)
    assert "lines 5, 6" in str(exc.value)


def test_csv_unknown_ids_report_their_file_lines(tmp_path):
    # unsorted on purpose: validation sorts, the message must still give the file's lines
    phot = pd.DataFrame({
        "object_id": ["zz", "b", "a", "zz"],
        "mjd": [1.0, 2.0, 3.0, 0.5],
        "mag": [18.0, 18.0, 18.0, 18.0],
        "mag_err": [0.1, 0.1, 0.1, 0.1],
    })
    p = _write_csv(tmp_path / "phot.csv", phot)
    o = _write_csv(tmp_path / "objs.csv", _objs())
    with pytest.raises(InputError) as exc:
        from_files(p, o)
    assert "lines 2, 5" in str(exc.value) and "zz" in str(exc.value)


def test_parquet_errors_give_row_positions(tmp_path):
    phot = _phot(mag_err=[0.1, 0.1, 0.1, -1.0, 0.2])
    p = tmp_path / "phot.parquet"
    phot.to_parquet(p)
    with pytest.raises(InputError) as exc:
        validate_photometry(read_table(p))
    assert "row 3" in str(exc.value) and "line" not in str(exc.value)


def test_read_table_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(InputError, match="unknown file type"):
        read_table(bad)


# --------------------------------------------------------------------------- subset, save, load


def test_subset_keeps_order_and_photometry():
    lcs = from_frames(_phot(), _objs(fine_label=["RRab", "SN Ia"]), name="t")
    sub = lcs.subset(["b"])
    assert sub.object_ids.tolist() == ["b"] and set(sub.photometry["object_id"]) == {"b"}
    assert len(sub.photometry) == 2 and sub.name == "t"
    rev = lcs.subset(["b", "a"], name="r")
    assert rev.object_ids.tolist() == ["b", "a"] and rev.name == "r"


def test_save_load_round_trip(tmp_path):
    lcs = from_frames(_phot(band=["g", "R", "g", "R", "R"]), _objs(fine_label=["RRab", "SN Ia"], mwebv=[0.02, 0.1]),
                      name="t")
    out = lcs.save(tmp_path / "set")
    assert (out / "photometry.parquet").exists() and (out / "objects.parquet").exists()
    back = LightCurveSet.load(out)
    assert back.name == "set"
    pd.testing.assert_frame_equal(back.photometry, lcs.photometry, check_dtype=False)
    pd.testing.assert_frame_equal(back.objects, lcs.objects, check_dtype=False)
    assert back.context_columns == ["mwebv"] and back.bands == ["R", "g"]


def test_load_from_csv_directory_and_missing_tables(tmp_path):
    d = tmp_path / "csvset"
    d.mkdir()
    _write_csv(d / "photometry.csv", _phot())
    with pytest.raises(InputError, match="no objects.parquet or objects.csv"):
        LightCurveSet.load(d)
    _write_csv(d / "objects.csv", _objs())
    assert len(LightCurveSet.load(d)) == 2
