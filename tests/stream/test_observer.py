"""The observer routes: links out, context, upper limits, probabilities per detection, human labels."""

from __future__ import annotations

import io
import shutil
import warnings

import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from skysift.stream.observer import links_out, probabilities_per_detection  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from tests.stream.conftest import AUTH, lcset_records  # noqa: E402

MJD_OFFSET = 2400000.5


def as_json(records):
    return [{k: v for k, v in r._asdict().items() if v is not None} for r in records]


def ztf_alert_bytes(object_id: str = "ZTF21abcdefg", ra: float = 150.1, dec: float = 2.2,
                    detections=((59000.1, 1, 18.5, 0.05), (59002.2, 2, 18.2, 0.04), (59004.3, 1, 18.0, 0.05)),
                    limits=((58995.0, 1, 20.3), (58997.0, 2, 20.1))) -> bytes:
    """A ZTF-like Avro alert: the last detection is the candidate, the others and the
    non-detections (magpsf null, diffmaglim set) are prv_candidates."""
    import fastavro

    prv_fields = [{"name": n, "type": t} for n, t in (("jd", "double"), ("fid", "int"),
                  ("magpsf", ["null", "float"]), ("sigmapsf", ["null", "float"]), ("diffmaglim", ["null", "float"]))]
    schema = {"type": "record", "name": "alert", "fields": [
        {"name": "objectId", "type": "string"},
        {"name": "candidate", "type": {"type": "record", "name": "candidate", "fields": prv_fields + [
            {"name": "ra", "type": "double"}, {"name": "dec", "type": "double"}]}},
        {"name": "prv_candidates", "type": ["null", {"type": "array", "items": {
            "type": "record", "name": "prv", "fields": prv_fields}}]},
    ]}
    *prev, last = detections
    prv = [{"jd": m + MJD_OFFSET, "fid": f, "magpsf": mag, "sigmapsf": e, "diffmaglim": 20.5} for m, f, mag, e in prev]
    prv += [{"jd": m + MJD_OFFSET, "fid": f, "magpsf": None, "sigmapsf": None, "diffmaglim": lim} for m, f, lim in limits]
    cand = {"jd": last[0] + MJD_OFFSET, "fid": last[1], "magpsf": last[2], "sigmapsf": last[3], "diffmaglim": 20.5,
            "ra": ra, "dec": dec}
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), [{"objectId": object_id, "candidate": cand,
                                                          "prv_candidates": prv}])
    return buf.getvalue()


@pytest.fixture
def client(tiny_model_path, db_url):
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:
        yield c


def test_links_out_from_position_and_ztf_id():
    links = {x["name"]: x["url"] for x in links_out("ZTF21abcdefg", 150.1, -2.25)}
    assert set(links) == {"TNS", "SIMBAD", "NED", "Legacy Survey viewer", "ALeRCE", "Fink", "Lasair"}
    assert "ra=150.100000" in links["TNS"] and "decl=-2.250000" in links["TNS"]
    assert "150.100000%20-2.250000" in links["SIMBAD"] and "Radius=5" in links["SIMBAD"]
    assert links["ALeRCE"].endswith("/object/ZTF21abcdefg") and links["Fink"].endswith("/ZTF21abcdefg")
    assert "/objects/ZTF21abcdefg/" in links["Lasair"]
    # not a ZTF id: no broker pages; no position: no cone searches
    assert {x["name"] for x in links_out("demo000001", 1.0, 2.0)} == {"TNS", "SIMBAD", "NED", "Legacy Survey viewer"}
    assert links_out("demo000001", None, None) == []


def test_probabilities_per_detection_follow_arrival():
    dets = [{"mjd": 1.0}, {"mjd": 2.0}, {"mjd": 3.0}]
    hist = [{"mjd": 1.0, "probabilities": {"A": 0.1}}, {"mjd": 2.0, "probabilities": {"A": 0.2}}]
    assert probabilities_per_detection(dets, hist) == [{"A": 0.1}, {"A": 0.2}, None]


def test_overview_has_context_upper_limits_probabilities_and_model(client, tiny_clf):
    r = client.post("/alerts", content=ztf_alert_bytes(), headers={"content-type": "application/avro"})
    assert r.status_code == 200, r.text
    ov = client.get("/objects/ZTF21abcdefg/overview").json()
    assert {x["name"] for x in ov["links"]} >= {"TNS", "ALeRCE", "Fink", "Lasair"}
    ctx = {c["name"]: c for c in ov["context"]}
    assert list(ctx) == list(tiny_clf.context_columns_)
    import pandas as pd

    expected = tiny_clf.context_table(pd.DataFrame({"object_id": ["x"], "ra": [150.1], "dec": [2.2]}))
    for col in ctx:
        assert ctx[col]["value"] == pytest.approx(float(expected[col].iloc[0]))
    assert ctx["gal_l"]["unit"] == "deg"
    assert [(u["mjd"], u["band"], round(u["limit_mag"], 3)) for u in ov["upper_limits"]] == \
        [(pytest.approx(58995.0), "g", 20.3), (pytest.approx(58997.0), "R", 20.1)]
    probs = ov["probabilities_per_detection"]
    assert len(probs) == 3 and all(set(p) == set(tiny_clf.classes_) for p in probs)
    hist = client.get("/objects/ZTF21abcdefg/history").json()["history"]
    assert probs[-1] == pytest.approx(hist[-1]["probabilities"])
    assert ov["model"]["tag"].startswith("tiny.skysift.pt:") and ov["model"]["classes"] == list(tiny_clf.classes_)
    assert ov["model"]["skysift_version"] and ov["model"]["bands"] == ["R", "g"]
    assert client.get("/model").json()["tag"] == ov["model"]["tag"]
    # a repeated alert stores its limits once
    client.post("/alerts", content=ztf_alert_bytes(), headers={"content-type": "application/avro"})
    assert len(client.get("/objects/ZTF21abcdefg/overview").json()["upper_limits"]) == 2


def test_labels_are_kept_apart_from_the_model_and_survive_a_model_swap(client, tiny_lcset, tiny_model_path,
                                                                      tmp_path):
    oid = tiny_lcset.object_ids[0]
    client.post("/detections", json=as_json([r for r in lcset_records(tiny_lcset) if r.object_id == oid]))
    machine = client.get(f"/objects/{oid}").json()["top_class"]
    r = client.post(f"/objects/{oid}/labels", json={"label": "SN Ia", "author": "ana", "note": "spectrum"})
    assert r.status_code == 201, r.text
    assert client.post(f"/objects/{oid}/labels", json={"label": ""}).status_code == 422
    assert client.post("/objects/nobody/labels", json={"label": "SN"}).status_code == 404
    ov = client.get(f"/objects/{oid}/overview").json()
    assert ov["human_label"]["label"] == "SN Ia" and ov["human_label"]["author"] == "ana"
    assert ov["machine"]["top_class"] == machine  # the model's classification is untouched
    listed = client.get("/objects").json()["objects"][0]
    assert listed["human_label"] == "SN Ia" and listed["top_class"] == machine

    other = tiny_model_path.parent / "other.skysift.pt"  # inside the service's model directory
    shutil.copy(tiny_model_path, other)
    client.app.state.security.model_dir = tiny_model_path.parent
    assert client.post("/model", json={"path": other.name}).json()["mode"] == "reclassified"
    labels = client.get(f"/objects/{oid}/labels").json()["labels"]
    assert [x["label"] for x in labels] == ["SN Ia"]


def test_label_post_needs_the_bearer_token(client, tiny_lcset):
    oid = tiny_lcset.object_ids[0]
    client.post("/detections", json=as_json([r for r in lcset_records(tiny_lcset) if r.object_id == oid][:2]))
    anonymous = TestClient(client.app)
    assert anonymous.post(f"/objects/{oid}/labels", json={"label": "SN"}).status_code == 401
    assert anonymous.post(f"/objects/{oid}/labels", json={"label": "SN"},
                          headers={"Authorization": "Bearer wrong"}).status_code in (401, 403)
    assert client.post(f"/objects/{oid}/labels", json={"label": "SN"}).status_code == 201


def test_list_refuses_an_unknown_class_and_counts_for_pages(client, tiny_lcset):
    ids = list(tiny_lcset.object_ids[:7])
    client.post("/detections", json=as_json([r for r in lcset_records(tiny_lcset) if r.object_id in ids]))
    r = client.get("/objects", params={"cls": "FOO"})
    assert r.status_code == 422 and "FOO" in r.json()["detail"]
    page = client.get("/objects", params={"limit": 3, "offset": 3, "sort": "object_id"}).json()
    assert page["total"] == 7 and page["count"] == 3
    assert [o["object_id"] for o in page["objects"]] == sorted(ids)[3:6]


def test_mag_99_is_refused_by_the_service_and_left_out_of_files_with_a_warning(client, tmp_path):
    from skysift.io.tables import from_files

    r = client.post("/detections", json=[{"object_id": "x", "mjd": 59000, "mag": 99, "mag_err": 0.1, "ra": 1,
                                          "dec": 2, "band": "g"}])
    assert r.status_code == 422 and "non-detection placeholder" in r.json()["detail"]
    # a file's placeholder is treated as missing, with a warning naming the file and line (issue 22)
    (tmp_path / "p.csv").write_text("object_id,mjd,mag,mag_err\nx,59000,99,0.1\nx,59001,18.5,0.1\n")
    (tmp_path / "o.csv").write_text("object_id,ra,dec\nx,1,2\n")
    with pytest.warns(UserWarning, match=r"p\.csv.*line 2.*placeholder"):
        lc = from_files(tmp_path / "p.csv", tmp_path / "o.csv")
    assert lc.photometry["mag"].tolist() == [18.5]


def test_single_band_service_maps_known_bands_and_refuses_others(tiny_lcset, tmp_path):
    from tests.stream.conftest import train_tiny_classifier

    g_only = tiny_lcset.photometry[tiny_lcset.photometry["band"] == "g"]
    from skysift.io.tables import from_frames

    lc = from_frames(g_only, tiny_lcset.objects[tiny_lcset.objects["object_id"].isin(g_only["object_id"])])
    path = tmp_path / "g.skysift.pt"
    train_tiny_classifier(lc, path, epochs=1)
    with TestClient(create_app(path, str(tmp_path / "g.sqlite")), headers=AUTH) as c:
        ok = {"object_id": "x", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1, "band": "g", "ra": 1.0, "dec": 2.0}
        assert c.post("/detections", json=[ok]).status_code == 200
        # another optical band is mapped onto the model's g band (skysift.features.bands) ...
        assert c.post("/detections", json=[{**ok, "mjd": 59001.0, "band": "R"}]).status_code == 200
        # ... a band with no transformation is refused with one line naming the bands
        r = c.post("/detections", json=[{**ok, "mjd": 59002.0, "band": "W1"}])
        detail = r.json()["detail"]
        assert r.status_code == 422 and "band 'W1' cannot be read by this model (trained on band g)" in detail
        assert "bands mapped onto g:" in detail
