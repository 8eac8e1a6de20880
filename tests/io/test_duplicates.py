"""Repeated detections and placeholder values in real photometry (skysift.io.duplicates, skysift.io.tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError, InputWarning
from skysift.io import surveys
from skysift.io.duplicates import SAME_EPOCH_TOL, find_repeats, resolve_same_epoch
from skysift.io.tables import DropReport, from_files, from_frames, validate_photometry

OBJS = pd.DataFrame({"object_id": ["a", "b"], "ra": [10.0, 200.0], "dec": [-5.0, 45.0], "label": ["VS", "SN"]})


def _phot(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["object_id", "mjd", "mag", "mag_err", "band"])


def test_one_tolerance_for_user_tables_and_survey_loaders():
    assert SAME_EPOCH_TOL == 1e-3
    assert surveys.SAME_EPOCH_TOL is SAME_EPOCH_TOL and surveys.resolve_same_epoch is resolve_same_epoch


def test_near_identical_twins_are_merged_and_counted():
    # ZTF alert photometry re-sends points 2e-5 mag apart (and with a slightly different error)
    phot = _phot([("a", 1.0, 19.620800, 0.140226, "g"), ("a", 1.0, 19.620846, 0.140230, "g"),
                  ("a", 2.0, 19.7, 0.1, "g"), ("b", 1.0, 18.0, 0.1, "R"), ("b", 1.0, 18.0, 0.1, "R")])
    report = DropReport()
    out = validate_photometry(phot, report=report)  # on_invalid="raise": twins are no error
    assert len(out) == 3 and out["mag"].tolist()[0] == 19.6208  # the first copy kept
    assert {(t, r): n for t, r, n in report.entries} == {
        ("photometry", "exact duplicate rows"): 1,
        ("photometry", "twins merged (same object, band and time, magnitudes within 0.001 mag; first kept)"): 1,
    }
    lcs = from_frames(phot, OBJS)
    assert "twins merged" in str(lcs.dropped) and lcs.dropped.total == 2


def test_conflicting_repeats_are_refused_naming_the_lines(tmp_path):
    phot = _phot([("a", 1.0, 18.0, 0.10, "g"), ("a", 2.0, 18.1, 0.1, "g"), ("a", 1.0, 18.2, 0.05, "g"),
                  ("b", 1.0, 18.0, 0.1, "R")])
    p = tmp_path / "photometry.csv"
    phot.to_csv(p, index=False)
    OBJS.to_csv(tmp_path / "objects.csv", index=False)
    with pytest.raises(InputError) as exc:
        from_files(p, tmp_path / "objects.csv")
    msg = str(exc.value)
    assert "lines 2, 4" in msg and "more than 0.001 mag apart" in msg and "--on-invalid drop" in msg


def test_drop_keeps_the_copy_with_the_smallest_error():
    phot = _phot([("a", 1.0, 18.0, 0.10, "g"), ("a", 1.0, 18.2, 0.05, "g"), ("a", 1.0, 18.3, 0.05, "g"),
                  ("a", 2.0, 18.1, 0.1, "g"), ("b", 1.0, 18.0, 0.1, "R")])
    lcs = from_frames(phot, OBJS, on_invalid="drop")
    a1 = lcs.photometry[(lcs.photometry["object_id"] == "a") & (lcs.photometry["mjd"] == 1.0)]
    assert a1[["mag", "mag_err"]].values.tolist() == [[18.2, 0.05]]  # smallest error, the first of a tie
    reason = ("conflicting repeats (same object, band and time, magnitudes more than 0.001 mag apart; "
              "the copy with the smallest error kept)")
    assert ("photometry", reason, 2) in lcs.dropped.entries


def test_find_repeats_on_groups_of_every_kind():
    phot = _phot([("a", 1.0, 18.0, 0.2, "g"), ("a", 1.0, 18.0005, 0.1, "g"), ("a", 1.0, 18.0, 0.3, "R"),
                  ("b", 5.0, 17.0, 0.2, "g"), ("b", 5.0, 17.5, 0.1, "g"), ("b", 5.0, 17.2, 0.1, "g")])
    rep = find_repeats(phot)
    assert rep.twins.tolist() == [False, True, False, False, False, False]
    assert rep.conflict.tolist() == [False, False, False, True, True, True]
    assert rep.kept.tolist() == [False, False, False, False, True, False]
    report = DropReport()
    assert len(resolve_same_epoch(phot, report)) == 2 and report.total == 4  # the loaders drop whole conflicts


def test_placeholder_values_are_left_out_with_a_warning_naming_file_and_lines(tmp_path):
    phot = _phot([("a", 1.0, 18.0, 0.1, "g"), ("a", 2.0, 99.0, 0.1, "g"), ("a", 3.0, 18.2, 9.999, "g"),
                  ("a", 4.0, -99.0, 0.2, "g"), ("b", 1.0, 18.0, 0.1, "R"), ("b", 2.0, 18.1, 12.0, "R")])
    p = tmp_path / "photometry.csv"
    phot.to_csv(p, index=False)
    OBJS.to_csv(tmp_path / "objects.csv", index=False)
    with pytest.warns(InputWarning) as record:
        lcs = from_files(p, tmp_path / "objects.csv")
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert str(p) in messages[0] and "column 'mag'" in messages[0] and "lines 3, 5" in messages[0]
    assert "column 'mag_err'" in messages[1] and "lines 4, 7" in messages[1] and "2 rows treated as missing" in messages[1]
    assert len(lcs.photometry) == 2 and lcs.photometry["mag_err"].max() < 9
    reasons = {r: n for _, r, n in lcs.dropped.entries}
    assert reasons["magnitude is a placeholder for no measurement (99, -99, ...), treated as missing"] == 2
    assert reasons["error >= 9 mag is a placeholder for an unknown error, treated as missing"] == 2


def test_lines_after_placeholders_still_point_at_the_file(tmp_path):
    phot = _phot([("a", 1.0, 99.0, 0.1, "g"), ("a", 2.0, 18.0, 0.1, "g"), ("a", 3.0, np.nan, 0.1, "g")])
    p = tmp_path / "photometry.csv"
    phot.to_csv(p, index=False)
    OBJS.to_csv(tmp_path / "objects.csv", index=False)
    with pytest.raises(InputError, match="NaN") as exc:  # NaN is checked first: line 4 as in the file
        from_files(p, tmp_path / "objects.csv")
    assert "line 4" in str(exc.value)
    phot = _phot([("a", 1.0, 99.0, 0.1, "g"), ("a", 2.0, 18.0, -0.1, "g")])
    phot.to_csv(p, index=False)
    with pytest.warns(InputWarning), pytest.raises(InputError, match="negative") as exc:
        from_files(p, tmp_path / "objects.csv")
    assert "line 3" in str(exc.value)  # not line 2: the 99 row before it was left out


def test_computed_errors_are_not_placeholders():
    phot = _phot([("a", 1.0, 23.0, 9.5, "g"), ("a", 2.0, 22.0, 3.0, "g")])
    assert len(from_frames(phot, OBJS.iloc[:1], placeholders=False).photometry) == 2


@pytest.mark.data
def test_macho_error_placeholders_are_left_out(shared_data):
    with pytest.warns(InputWarning, match="9 mag is a placeholder"):
        macho = surveys.load_macho_quasars(shared_data)
    assert len(macho) == 59 and macho.photometry["mag_err"].max() < 9
    reasons = {r: n for _, r, n in macho.dropped.entries}
    assert reasons["error >= 9 mag is a placeholder for an unknown error, treated as missing"] == 938
