"""ZTF Avro alert packets and ALeRCE CSV detections (skysift.io.alerts)."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import fastavro
import numpy as np
import pytest

from skysift.errors import InputError, InputWarning
from skysift.io.alerts import (
    MJD_OFFSET,
    alert_to_tables,
    alerts_to_lightcurves,
    read_alerce_csv,
    read_avro_alerts,
)
from skysift.io.tables import from_frames

# --------------------------------------------------------------------------- synthetic packets


def _packet(n_prv: int = 3) -> dict:
    prv = []
    for i in range(n_prv):
        det = i % 2 == 0
        prv.append({"jd": 2458000.5 + i, "fid": 1 + i % 2, "magpsf": 18.0 + 0.1 * i if det else None,
                    "sigmapsf": 0.1 if det else None, "candid": 100 + i if det else None,
                    "isdiffpos": "t" if det else None, "diffmaglim": 20.5})
    return {
        "objectId": "ZTF00test",
        "candid": 999,
        "candidate": {"jd": 2458010.5, "fid": 2, "magpsf": 17.5, "sigmapsf": 0.05, "ra": 10.5, "dec": -3.25,
                      "candid": 999, "isdiffpos": "t"},
        "prv_candidates": prv,
    }


def test_packet_to_tables():
    phot, objs = alert_to_tables(_packet(4))
    # prv 0 and 2 are detections, 1 and 3 upper limits; plus the candidate
    assert len(phot) == 3
    assert phot["mjd"].tolist() == [2458000.5 - MJD_OFFSET, 2458002.5 - MJD_OFFSET, 2458010.5 - MJD_OFFSET]
    assert phot["mjd"].iloc[0] == 58000.0
    assert phot["band"].tolist() == ["g", "g", "R"]
    assert phot["mag"].tolist() == [18.0, 18.2, 17.5] and phot["mag_err"].tolist() == [0.1, 0.1, 0.05]
    assert phot["candid"].tolist() == [100, 102, 999] and phot["isdiffpos"].all()
    assert objs.to_dict("records") == [{"object_id": "ZTF00test", "ra": 10.5, "dec": -3.25}]
    lcs = from_frames(phot, objs)
    assert len(lcs) == 1 and lcs.bands == ["R", "g"]


def test_packet_without_history_and_negative_differences():
    p = _packet(0)
    p["prv_candidates"] = None
    phot, _ = alert_to_tables(p)
    assert len(phot) == 1
    p = _packet(3)
    p["prv_candidates"][0]["isdiffpos"] = "f"
    phot, _ = alert_to_tables(p)
    assert phot["isdiffpos"].tolist() == [False, True, True]
    phot, _ = alert_to_tables(p, positive_only=True)
    assert len(phot) == 2


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda a: a.pop("objectId"), "no field 'objectId'"),
        (lambda a: a.pop("candidate"), "no field 'candidate'"),
        (lambda a: a["candidate"].pop("jd"), "candidate has no field 'jd'"),
        (lambda a: a["candidate"].pop("ra"), "candidate has no field 'ra'"),
        (lambda a: a["prv_candidates"][1].pop("fid"), r"prv_candidates\[1\] has no field 'fid'"),
        (lambda a: a["candidate"].update(fid=7), "unknown fid 7"),
        (lambda a: a["candidate"].update(magpsf=None), "candidate has no magnitude"),
        (lambda a: a["candidate"].update(sigmapsf=float("nan")), "'sigmapsf' is nan"),
        (lambda a: a.update(prv_candidates="x"), "prv_candidates is a str"),
        (lambda a: a["prv_candidates"].__setitem__(0, 5), r"prv_candidates\[0\] is a int"),
    ],
)
def test_malformed_packets_name_the_field(mutate, message):
    a = copy.deepcopy(_packet(3))
    mutate(a)
    with pytest.raises(InputError, match=message):
        alert_to_tables(a)


def test_one_parser_refuses_a_nondetection_with_an_unknown_band():
    from skysift.errors import AlertError, Rejected
    from skysift.io.alerts import alert_upper_limits

    a = _packet(4)
    assert alert_upper_limits(a) == [("ZTF00test", 58001.0, "R", 20.5), ("ZTF00test", 58003.0, "R", 20.5)]
    a["prv_candidates"][1]["fid"] = 7  # a non-detection
    for reader in (alert_to_tables, alert_upper_limits):
        with pytest.raises(AlertError, match=r"prv_candidates\[1\] has unknown fid 7") as exc:
            reader(a)
        assert isinstance(exc.value, InputError) and isinstance(exc.value, Rejected) and exc.value.status == 422
        assert exc.value.column == "prv_candidates[1].fid"
    a["prv_candidates"][1]["fid"] = [1]  # not even a number
    with pytest.raises(AlertError, match="unknown fid"):
        alert_to_tables(a)


def test_not_a_record():
    with pytest.raises(InputError, match="not a record"):
        alert_to_tables(["not", "a", "packet"])


def test_read_avro_round_trip_from_bytes_path_and_file(tmp_path):
    schema = fastavro.parse_schema({
        "type": "record", "name": "alert", "fields": [
            {"name": "objectId", "type": "string"},
            {"name": "candidate", "type": {"type": "record", "name": "cand", "fields": [
                {"name": f, "type": "double"} for f in ("jd", "magpsf", "sigmapsf", "ra", "dec")] + [
                {"name": "fid", "type": "int"}]}},
            {"name": "prv_candidates", "type": ["null", {"type": "array", "items": {
                "type": "record", "name": "prv", "fields": [
                    {"name": "jd", "type": "double"}, {"name": "fid", "type": "int"},
                    {"name": "magpsf", "type": ["null", "double"]},
                    {"name": "sigmapsf", "type": ["null", "double"]}]}}]},
        ]})
    rec = {"objectId": "ZTF00avro", "candidate": {"jd": 2458001.5, "magpsf": 19.0, "sigmapsf": 0.1, "ra": 1.0,
                                                  "dec": 2.0, "fid": 1},
           "prv_candidates": [{"jd": 2458000.5, "fid": 2, "magpsf": None, "sigmapsf": None}]}
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [rec, rec])
    data = buf.getvalue()
    path = tmp_path / "a.avro"
    path.write_bytes(data)
    for src in (data, path, str(path), io.BytesIO(data)):
        alerts = read_avro_alerts(src)
        assert len(alerts) == 2 and alerts[0]["objectId"] == "ZTF00avro"
    lcs = alerts_to_lightcurves(alerts)
    assert len(lcs) == 1 and len(lcs.photometry) == 1  # same detection twice (no candid): exact duplicate
    assert lcs.dropped.total == 1


def test_read_avro_errors(tmp_path):
    with pytest.raises(InputError, match="Avro"):
        read_avro_alerts(b"definitely not avro")
    with pytest.raises(InputError, match="alert file not found"):
        read_avro_alerts(tmp_path / "missing.avro")
    with pytest.raises(InputError, match="cannot read Avro alerts from a int"):
        read_avro_alerts(42)


# --------------------------------------------------------------------------- real packets


@pytest.fixture(scope="module")
def avro_dir(shared_data: Path) -> Path:
    return shared_data / "ztf_alert_samples" / "avro"


@pytest.mark.data
def test_real_packet_ZTF17aaacxxf(avro_dir):
    alerts = read_avro_alerts(avro_dir / "2019_01_10_739260766315010006.avro")
    assert len(alerts) == 1
    a = alerts[0]
    assert a["objectId"] == "ZTF17aaacxxf" and len(a["prv_candidates"]) == 28
    phot, objs = alert_to_tables(a)
    # README: 28 prv_candidates, 22 with magpsf; plus the candidate
    assert len(phot) == 22 + 1
    assert phot["band"].value_counts().to_dict() == {"R": 13, "g": 10}
    assert phot["mjd"].is_monotonic_increasing
    assert phot["mjd"].iloc[-1] == pytest.approx(2458493.7607639 - 2400000.5)
    assert phot["mag"].iloc[-1] == pytest.approx(15.371133804321289)
    assert objs["ra"].iloc[0] == pytest.approx(75.2007803) and objs["dec"].iloc[0] == pytest.approx(35.3613954)
    assert int(phot["isdiffpos"].sum()) == 3  # mostly fainter than the reference image
    assert len(alert_to_tables(a, positive_only=True)[0]) == 3
    lcs = from_frames(phot, objs)
    assert len(lcs.photometry) == 23 and not lcs.dropped


@pytest.mark.data
def test_real_packet_with_only_upper_limits(avro_dir):
    (a,) = read_avro_alerts((avro_dir / "472263571115115000.avro").read_bytes())
    assert a["objectId"] == "ZTF17aaajnnn" and len(a["prv_candidates"]) == 11
    phot, _ = alert_to_tables(a)
    assert len(phot) == 1 and phot["band"].tolist() == ["R"]


@pytest.mark.data
def test_real_packets_as_one_set(avro_dir):
    alerts = [a for p in sorted(avro_dir.glob("*.avro")) for a in read_avro_alerts(p)]
    lcs = alerts_to_lightcurves(alerts + alerts)
    assert len(lcs) == 2 and len(lcs.photometry) == 24
    assert lcs.dropped.entries == [("photometry", "detection repeated in a later alert packet (same candid)", 24)]


# --------------------------------------------------------------------------- ALeRCE CSV


@pytest.fixture(scope="module")
def alerce_dir(shared_data: Path) -> Path:
    return shared_data / "ztf_alert_samples" / "alerce_30sne"


@pytest.mark.data
def test_alerce_30_sne(alerce_dir):
    lcs = read_alerce_csv(alerce_dir / "30_sne_detections_corr.csv", alerce_dir / "30_sne_labels.csv")
    assert len(lcs) == 30 and lcs.class_counts() == {"SN": 30}
    # README: SNIa 19, SNIbc 8, SLSN 2, SNII 1
    assert lcs.objects["fine_label"].value_counts().to_dict() == {"SNIa": 19, "SNIbc": 8, "SLSN": 2, "SNII": 1}
    assert lcs.bands == ["R", "g"]
    d = {r: n for _, r, n in lcs.dropped.entries}
    # 784 rows; 22 exposures appear twice (reprocessed alerts)
    repeated = sum(n for r, n in d.items() if r.startswith("repeated"))
    conflicting = sum(n for r, n in d.items() if r.startswith("conflicting"))
    assert repeated + conflicting / 2 == 22 and len(lcs.photometry) == 784 - repeated - conflicting
    fine = read_alerce_csv(alerce_dir / "30_sne_detections_corr.csv", alerce_dir / "30_sne_labels.csv",
                           classes="fine")
    assert fine.class_counts() == {"SLSN": 2, "SNII": 1, "SNIa": 19, "SNIbc": 8}


@pytest.mark.data
def test_alerce_unlabelled_and_corrected(alerce_dir):
    plain = read_alerce_csv(alerce_dir / "30_sne_detections_corr.csv")
    assert plain.labels is None and len(plain) == 30
    with pytest.warns(InputWarning, match="placeholder for an unknown error: 114 rows"):
        corr = read_alerce_csv(alerce_dir / "30_sne_detections_corr.csv", corrected=True)
    d = {r: n for _, r, n in corr.dropped.entries}
    assert d["no corrected magnitude (magpsf_corr is empty)"] == 362
    assert d["no corrected magnitude at all"] == 11
    # ALeRCE writes sigmapsf_corr = 100 where the corrected error is undefined: a placeholder, left out
    assert d["error >= 9 mag is a placeholder for an unknown error, treated as missing"] == 114
    assert d["no detections in the photometry table"] == 2 and len(corr) == 30 - 11 - 2
    assert (corr.photometry["mag_err"] < 9).all()
    assert np.isfinite(corr.photometry["mag"]).all()


def test_alerce_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_alerce_csv(tmp_path / "none.csv")
    p = tmp_path / "d.csv"
    p.write_text("objectId,fid,mjd,magpsf,sigmapsf,ra\nZ1,1,58000.0,18.0,0.1,10.0\n")
    with pytest.raises(InputError, match="missing required column") as exc:
        read_alerce_csv(p)
    assert exc.value.column == "dec"
    p.write_text("objectId,fid,mjd,magpsf,sigmapsf,ra,dec\n"
                 "Z1,1,58000.0,18.0,0.1,10.0,1.0\nZ1,4,58001.0,18.0,0.1,10.0,1.0\n")
    with pytest.raises(InputError, match="unknown fid") as exc:
        read_alerce_csv(p)
    assert "line 3" in str(exc.value)
