"""What the observer's list and object page read: the latest magnitude, the filters by date,
magnitude, sky cone and human label, the CSV export, the label counts, and the stored cutouts
and cross-matches of alert packets (each on SQLite and, when reachable, PostgreSQL)."""

from __future__ import annotations

import csv
import io
import math
import sqlite3
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from skysift.stream.object_filter import ObjectFilter  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from skysift.stream.storage import Detection, open_storage  # noqa: E402
from tests.stream.conftest import AUTH, lcset_records  # noqa: E402
from tests.stream.test_cutouts import fits_stamp  # noqa: E402
from tests.stream.ztf_packets import encode, packet, ztf_schema  # noqa: E402


def as_json(records):
    return [{k: v for k, v in r._asdict().items() if v is not None} for r in records]


def sep_arcsec(ra1, dec1, ra2, dec2) -> float:
    """Angular separation (arcsec) by the Vincenty formula (degrees in)."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    dra = r2 - r1
    num = math.hypot(math.cos(d2) * math.sin(dra), math.cos(d1) * math.sin(d2) - math.sin(d1) * math.cos(d2) * math.cos(dra))
    den = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(dra)
    return math.degrees(math.atan2(num, den)) * 3600.0


@pytest.fixture
def client(tiny_model_path, db_url):
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:
        yield c


# ---------------------------------------------------------------------------- storage


def test_latest_magnitude_follows_the_latest_detection_not_the_latest_arrival(storage):
    storage.add_detections([Detection("a", 100.0, 18.0, 0.1, "g", 10.0, 20.0),
                            Detection("a", 102.0, 17.5, 0.1, "R", 10.0, 20.0)])
    assert (storage.get_object("a")["last_mag"], storage.get_object("a")["last_band"]) == (17.5, "R")
    storage.add_detections([Detection("a", 101.0, 19.0, 0.1, "g")])  # older, arriving late
    assert (storage.get_object("a")["last_mag"], storage.get_object("a")["last_band"]) == (17.5, "R")
    storage.add_detections([Detection("a", 103.0, 16.9, 0.1, None)])
    obj = storage.get_object("a")
    assert (obj["last_mag"], obj["last_band"], obj["last_mjd"]) == (16.9, None, 103.0)


def test_cone_is_exact_on_the_sphere_across_ra_zero_and_near_the_pole(storage):
    rng = np.random.default_rng(3)
    centres = [(0.002, 1.0), (359.999, -0.5), (120.0, 89.99), (200.0, -45.0)]
    dets = []
    for k, (ra0, dec0) in enumerate(centres):
        for j in range(40):
            ra = (ra0 + rng.normal(0, 0.02 / max(math.cos(math.radians(dec0)), 0.02))) % 360.0
            dec = float(np.clip(dec0 + rng.normal(0, 0.02), -90, 90))
            dets.append(Detection(f"o{k}_{j}", 100.0 + j, 18.0, 0.1, "g", ra, dec))
    storage.add_detections(dets)
    pos = {d.object_id: (d.ra, d.dec) for d in dets}
    for ra0, dec0 in centres:
        for radius in (5.0, 36.0, 90.0):
            f = ObjectFilter(ra=ra0, dec=dec0, radius_arcsec=radius)
            got = {o["object_id"] for o in storage.list_objects(limit=1000, where=f)}
            want = {o for o, (ra, dec) in pos.items() if sep_arcsec(ra0, dec0, ra, dec) <= radius}
            assert got == want, (ra0, dec0, radius)
            assert storage.count_objects(where=f) == len(want)
    # the ones around RA 0 are found from either side of it
    assert {o["object_id"][:2] for o in storage.list_objects(limit=1000, where=ObjectFilter(
        ra=0.0, dec=0.25, radius_arcsec=3600.0))} == {"o0", "o1"}


def test_time_magnitude_and_label_filters(storage):
    storage.add_detections([Detection(f"x{i}", 100.0 + i, 15.0 + 0.5 * i, 0.1, "g", 1.0, 2.0) for i in range(10)])

    def pick(f: ObjectFilter) -> list[str]:
        return sorted(o["object_id"] for o in storage.list_objects(limit=100, sort="object_id", where=f))

    assert pick(ObjectFilter(mjd_min=103.0, mjd_max=105.0)) == ["x3", "x4", "x5"]
    assert pick(ObjectFilter(mag_min=16.0, mag_max=17.0)) == ["x2", "x3", "x4"]
    assert pick(ObjectFilter(mag_max=16.0, mjd_min=101.0)) == ["x1", "x2"]
    storage.add_label("x1", "SN Ia")
    storage.add_label("x2", "SN Ia")
    storage.add_label("x2", "bogus")  # the newest label is the current one
    storage.add_label("x3", "SN Ia")
    assert pick(ObjectFilter(label="SN Ia")) == ["x1", "x3"]
    assert pick(ObjectFilter(label="bogus")) == ["x2"]
    assert pick(ObjectFilter(labelled=True)) == ["x1", "x2", "x3"]
    assert len(pick(ObjectFilter(labelled=False))) == 7
    assert storage.label_counts() == [{"label": "SN Ia", "n": 2}, {"label": "bogus", "n": 1}]
    assert storage.count_objects(where=ObjectFilter(label="SN Ia", mag_min=16.0)) == 1
    assert [o["object_id"] for o in storage.list_objects(limit=3, sort="last_mag")] == ["x0", "x1", "x2"]


def test_filters_refuse_what_cannot_match_with_one_line():
    from skysift.errors import InputError

    with pytest.raises(InputError, match="ra, dec and radius.*radius missing"):
        ObjectFilter(ra=1.0, dec=2.0)
    with pytest.raises(InputError, match="'mag_min' .* is larger than 'mag_max'"):
        ObjectFilter(mag_min=20.0, mag_max=15.0)
    with pytest.raises(InputError, match="'dec' must be between"):
        ObjectFilter(ra=1.0, dec=95.0, radius_arcsec=3.0)
    with pytest.raises(InputError, match="'radius' must be above 0"):
        ObjectFilter(ra=1.0, dec=5.0, radius_arcsec=0.0)
    with pytest.raises(InputError, match="finite"):
        ObjectFilter(mjd_min=float("nan"))
    assert not ObjectFilter().active and ObjectFilter(labelled=False).active


def test_a_database_made_before_the_latest_magnitude_gets_it_when_opened(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # the objects and detections tables as they were
        conn.execute("""CREATE TABLE objects (object_id TEXT PRIMARY KEY, ra DOUBLE PRECISION, dec DOUBLE PRECISION,
            n_det INTEGER NOT NULL DEFAULT 0, first_mjd DOUBLE PRECISION, last_mjd DOUBLE PRECISION,
            created_at DOUBLE PRECISION, updated_at DOUBLE PRECISION, n_obs_classified INTEGER, top_class TEXT,
            top_prob DOUBLE PRECISION, probs TEXT, model TEXT, classified_at DOUBLE PRECISION)""")
        conn.execute("""CREATE TABLE detections (id INTEGER PRIMARY KEY AUTOINCREMENT, object_id TEXT NOT NULL,
            mjd DOUBLE PRECISION NOT NULL, mag DOUBLE PRECISION NOT NULL, mag_err DOUBLE PRECISION NOT NULL,
            band TEXT NOT NULL DEFAULT '', ra DOUBLE PRECISION, dec DOUBLE PRECISION, source TEXT,
            received_at DOUBLE PRECISION, UNIQUE (object_id, band, mjd))""")
        conn.execute("INSERT INTO objects (object_id, ra, dec, n_det, first_mjd, last_mjd) VALUES ('a', 1, 2, 2, 10, 12)")
        conn.executemany("INSERT INTO detections (object_id, mjd, mag, mag_err, band) VALUES ('a', ?, ?, 0.1, ?)",
                         [(12.0, 17.25, "R"), (10.0, 18.0, "g")])
    st = open_storage(str(path))
    try:
        obj = st.get_object("a")
        assert (obj["last_mag"], obj["last_band"]) == (17.25, "R")
        assert st.count_objects(where=ObjectFilter(mag_max=17.5)) == 1
    finally:
        st.close()


# ---------------------------------------------------------------------------- HTTP


def test_list_and_csv_export_honour_the_same_filters(client, tiny_lcset):
    ids = list(tiny_lcset.object_ids[:20])
    client.post("/detections", json=as_json([r for r in lcset_records(tiny_lcset) if r.object_id in ids]))
    every = client.get("/objects", params={"limit": 100}).json()["objects"]
    assert all(o["last_mag"] is not None and o["last_band"] in ("g", "R") for o in every)
    mags = sorted(o["last_mag"] for o in every)
    params = {"mag_min": mags[3], "mag_max": mags[15], "sort": "last_mag", "order": "desc"}
    listed = client.get("/objects", params={**params, "limit": 100}).json()
    want = [o["object_id"] for o in sorted(every, key=lambda o: -o["last_mag"]) if mags[3] <= o["last_mag"] <= mags[15]]
    assert [o["object_id"] for o in listed["objects"]] == want and listed["total"] == len(want) == 13

    r = client.get("/objects.csv", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.headers["x-total-count"] == "13" and r.headers["x-rows"] == "13"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["object_id"] for x in rows] == want
    first = next(o for o in every if o["object_id"] == want[0])
    assert float(rows[0]["ra_deg"]) == pytest.approx(first["ra"]) and rows[0]["last_band"] == first["last_band"]
    assert set(rows[0]) >= {"last_mag", "last_mjd", "top_class", "human_label", "updated_utc"}
    assert float(rows[0][f"p_{first['top_class']}"]) == pytest.approx(first["top_prob"])
    # bounded: max_rows cuts, and the headers say how many matched
    r = client.get("/objects.csv", params={**params, "max_rows": 5})
    assert r.headers["x-rows"] == "5" and r.headers["x-total-count"] == "13" and r.text.count("\n") == 6
    assert client.get("/objects.csv", params={"max_rows": 10**6}).status_code == 422


def test_bad_filters_get_one_line_422(client):
    r = client.get("/objects", params={"ra": 10, "dec": 5})
    assert r.status_code == 422 and "radius" in r.json()["detail"]
    r = client.get("/objects.csv", params={"mjd_min": 60000, "mjd_max": 59000})
    assert r.status_code == 422 and "'mjd_min'" in r.json()["detail"]
    assert client.get("/objects.csv", params={"cls": "FOO"}).status_code == 422


def test_labels_filter_counts_and_csv_cells_that_look_like_formulas(client, tiny_lcset):
    ids = sorted(tiny_lcset.object_ids[:6])
    client.post("/detections", json=as_json([r for r in lcset_records(tiny_lcset) if r.object_id in ids]))
    for oid in ids[:2]:
        assert client.post(f"/objects/{oid}/labels", json={"label": "SN Ia"}).status_code == 201
    client.post(f"/objects/{ids[2]}/labels", json={"label": "=HYPERLINK(\"http://x\")"})
    assert client.get("/labels").json()["labels"][0] == {"label": "SN Ia", "n": 2}
    got = client.get("/objects", params={"label": "SN Ia", "sort": "object_id"}).json()
    assert [o["object_id"] for o in got["objects"]] == ids[:2] and got["total"] == 2
    assert client.get("/objects", params={"labelled": "false"}).json()["total"] == 3
    assert client.get("/objects", params={"labelled": "true"}).json()["total"] == 3
    rows = list(csv.DictReader(io.StringIO(client.get("/objects.csv", params={"labelled": "true",
                                                                              "sort": "object_id"}).text)))
    assert rows[2]["human_label"] == "'=HYPERLINK(\"http://x\")"  # never a live formula in a spreadsheet
    assert rows[0]["human_label"] == "SN Ia"


def _alert_with_stamps(oid: str, mjd: float, stamp: bytes, candid: int) -> bytes:
    schema = ztf_schema()
    p = packet(schema, oid, 150.0, 2.0, [(mjd - 2, 18.4, 0.05, "g"), (mjd, 18.1, 0.05, "R")], candid)
    for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        p[name] = {"fileName": f"{name}.fits.gz", "stampData": stamp}
    return encode([p], schema)


def test_cutouts_of_the_newest_alert_are_stored_and_served_as_png(client):
    from tests.stream.test_cutouts import png_pixels

    ctype = {"content-type": "application/avro"}
    new = fits_stamp(np.arange(30 * 30, dtype=float).reshape(30, 30))
    old = fits_stamp(np.ones((40, 40)))
    assert client.post("/alerts", content=_alert_with_stamps("ZTF20aaaaaaa", 59010.0, new, 11),
                       headers=ctype).status_code == 200
    # an older alert arriving later does not replace the stamps
    assert client.post("/alerts", content=_alert_with_stamps("ZTF20aaaaaaa", 59001.0, old, 10),
                       headers=ctype).status_code == 200
    ov = client.get("/objects/ZTF20aaaaaaa/overview").json()
    assert [(c["kind"], c["candid"], c["survey"]) for c in ov["cutouts"]] == [
        ("science", "11", "ztf"), ("template", "11", "ztf"), ("difference", "11", "ztf")]
    r = client.get(ov["cutouts"][0]["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert png_pixels(r.content).shape == (30, 30, 3)
    assert client.get("/objects/ZTF20aaaaaaa/cutouts/other.png").status_code == 404
    assert client.get("/objects/nobody/cutouts/science.png").status_code == 404
    assert ov["crossmatch"] is None or ov["crossmatch"]["candid"] == "11"


def test_a_stamp_that_is_not_fits_is_kept_out_of_the_way(client):
    ctype = {"content-type": "application/avro"}
    r = client.post("/alerts", content=_alert_with_stamps("ZTF20aaaaaab", 59010.0, b"\x00garbage" * 50, 12),
                    headers=ctype)
    assert r.status_code == 200  # the detections are what matters
    ov = client.get("/objects/ZTF20aaaaaab/overview").json()
    r = client.get(ov["cutouts"][0]["url"])
    assert r.status_code == 422 and "cannot be drawn" in r.json()["detail"]
    # detections sent as JSON carry no packets: no cutouts, no cross-match
    client.post("/detections", json=[{"object_id": "plain", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1,
                                      "band": "g", "ra": 1.0, "dec": 2.0}])
    ov = client.get("/objects/plain/overview").json()
    assert ov["cutouts"] == [] and ov["crossmatch"] is None
