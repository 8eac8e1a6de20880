"""The HTTP service through FastAPI's TestClient, on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi")
pytest.importorskip("httpx", reason="fastapi's TestClient needs httpx")
with warnings.catch_warnings():  # starlette's note about httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from skysift.stream.security import SecurityConfig  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from skysift.stream.storage import open_storage  # noqa: E402
from tests.stream.conftest import AUTH, lcset_records  # noqa: E402
from tests.stream.test_incremental import ATOL, proba  # noqa: E402


def as_json(records):
    return [{k: v for k, v in r._asdict().items() if v is not None} for r in records]


@pytest.fixture
def client(tiny_model_path, db_url):
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:
        yield c


@pytest.fixture(scope="module")
def some_records(tiny_lcset):
    ids = set(tiny_lcset.object_ids[::5])
    return [r for r in lcset_records(tiny_lcset) if r.object_id in ids]


def test_post_detections_stores_and_classifies(client, tiny_clf, tiny_lcset, some_records):
    r = client.post("/detections", json=as_json(some_records))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["received"] == body["stored"] == len(some_records) and body["duplicates"] == 0
    ids = list(dict.fromkeys(x.object_id for x in some_records))
    assert [o["object_id"] for o in body["objects"]] == ids
    expected = proba(tiny_clf, tiny_lcset.subset(ids))
    classes = [str(c) for c in tiny_clf.classes_]
    for oid, exp in zip(ids, expected):
        obj = client.get(f"/objects/{oid}").json()
        assert obj["classes"] == classes
        np.testing.assert_allclose([obj["probabilities"][c] for c in classes], exp, atol=ATOL)
        assert obj["top_class"] == classes[int(np.argmax(exp))]
        n = sum(1 for x in some_records if x.object_id == oid)
        assert obj["n_det"] == n == len(obj["detections"]) == obj["n_obs_classified"]
        assert [d["mjd"] for d in obj["detections"]] == sorted(d["mjd"] for d in obj["detections"])
        hist = client.get(f"/objects/{oid}/history").json()["history"]
        assert [h["n_obs"] for h in hist] == list(range(1, n + 1))
        assert hist[-1]["probabilities"] == pytest.approx(obj["probabilities"], abs=1e-6)


def test_duplicates_are_not_classified_again(client, some_records):
    payload = as_json(some_records[:10])
    client.post("/detections", json=payload)
    oid = some_records[0].object_id
    n_hist = len(client.get(f"/objects/{oid}/history").json()["history"])
    body = client.post("/detections", json={"detections": payload}).json()
    assert body["stored"] == 0 and body["duplicates"] == 10
    assert len(client.get(f"/objects/{oid}/history").json()["history"]) == n_hist


@pytest.mark.parametrize(
    "payload, status, reason",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty request body"),
        (b'"a string"', 400, "must be a JSON list"),
        (b"[]", 422, "no detections"),
        (b'[{"object_id": "x", "mjd": 59000, "mag": 18, "mag_err": 0.1, "ra": 1, "dec": 2, "colour": 1}]', 422,
         "colour"),
        (b'[{"object_id": "x", "mjd": 59000, "mag": 18, "ra": 1, "dec": 2}]', 422, "mag_err"),
        (b'[{"object_id": "x", "mjd": NaN, "mag": 18, "mag_err": 0.1, "ra": 1, "dec": 2}]', 422, "finite"),
        (b'[{"object_id": "x", "mjd": 59000, "mag": 18, "mag_err": -0.1, "ra": 1, "dec": 2}]', 422, "mag_err"),
        (b'[{"object_id": "x", "mjd": 59000, "mag": 18, "mag_err": 0.1, "ra": 400, "dec": 2}]', 422, "ra"),
        (b'[{"object_id": "", "mjd": 59000, "mag": 18, "mag_err": 0.1, "ra": 1, "dec": 2}]', 422, "object_id"),
        (b'[{"object_id": "x", "mjd": "soon", "mag": 18, "mag_err": 0.1, "ra": 1, "dec": 2}]', 422, "mjd"),
    ],
)
def test_malformed_detections_are_refused_with_a_reason_and_recorded(client, payload, status, reason):
    r = client.post("/detections", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    body = r.json()
    assert reason in body["detail"]
    rejected = client.get("/rejected").json()["rejected"]
    assert rejected[0]["id"] == body["rejected_id"]
    assert reason in rejected[0]["reason"]
    assert rejected[0]["payload"] == payload.decode()
    assert client.get("/health").json()["counts"]["detections"] == 0


def test_one_bad_row_rejects_the_whole_request(client, some_records):
    payload = as_json(some_records[:3])
    payload[2]["mag"] = "bright"
    r = client.post("/detections", json=payload)
    assert r.status_code == 422 and "detection 2" in r.json()["detail"] and "mag" in r.json()["detail"]
    assert client.get("/health").json()["counts"]["detections"] == 0


def test_band_unknown_to_the_model_is_refused(client, tiny_clf, some_records):
    bands = client.get("/health").json()["model"]["bands"]
    if not (bands and len(bands) > 1):
        pytest.skip("the tiny model is single-band")
    payload = as_json(some_records[:1])
    payload[0]["band"] = "zz"
    r = client.post("/detections", json=payload)
    assert r.status_code == 422 and "zz" in r.json()["detail"]
    assert "zz" in client.get("/rejected").json()["rejected"][0]["reason"]


def test_list_objects_filters_and_sorts(client, some_records):
    client.post("/detections", json=as_json(some_records))
    allobj = client.get("/objects", params={"limit": 1000}).json()
    classes = allobj["classes"]
    objs = allobj["objects"]
    assert allobj["count"] == len(objs) == len({r.object_id for r in some_records})
    c = classes[0]
    probs = {o["object_id"]: o["probabilities"][c] for o in objs}
    got = client.get("/objects", params={"cls": c, "min_prob": 0.3, "sort": f"prob_{c}"}).json()["objects"]
    assert [o["object_id"] for o in got] == [k for k, v in sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))
                                             if v >= 0.3]
    top = client.get("/objects", params={"cls": c}).json()["objects"]
    assert all(o["top_class"] == c for o in top)
    assert len(client.get("/objects", params={"limit": 2}).json()["objects"]) == 2
    asc = client.get("/objects", params={"sort": "object_id", "order": "asc"}).json()["objects"]
    assert [o["object_id"] for o in asc] == sorted(probs)
    assert client.get("/objects", params={"sort": "bogus"}).status_code == 422
    assert client.get("/objects", params={"min_prob": 2}).status_code == 422
    assert client.get("/objects", params={"limit": 0}).status_code == 422


def test_unknown_object_is_404(client):
    assert client.get("/objects/nobody").status_code == 404
    assert client.get("/objects/nobody/history").status_code == 404


def test_health_and_page(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["model"]["classes"] and h["storage"] in ("sqlite", "postgresql")
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "skysift" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


# ------------------------------------------------------------------ restart, crash, model swap


def test_restart_recovers_the_state(tiny_model_path, db_url, some_records, tmp_path):
    half = len(some_records) // 2
    first, second = as_json(some_records[:half]), as_json(some_records[half:])
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c1:
        c1.post("/detections", json=first)
        before = {o["object_id"]: o for o in c1.get("/objects", params={"limit": 1000}).json()["objects"]}
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c2:  # restart on the same database
        after = {o["object_id"]: o for o in c2.get("/objects", params={"limit": 1000}).json()["objects"]}
        assert after.keys() == before.keys()
        for oid in before:
            assert after[oid]["probabilities"] == before[oid]["probabilities"]
        inc = c2.app.state.service.classifier
        for oid in before:
            np.testing.assert_allclose(list(inc.predict_proba_one(oid).values()),
                                       list(before[oid]["probabilities"].values()), atol=1e-6)
        c2.post("/detections", json=second)
        resumed = {o["object_id"]: o for o in c2.get("/objects", params={"limit": 1000}).json()["objects"]}
        hist_resumed = c2.get(f"/objects/{some_records[0].object_id}/history").json()["history"]
    # the same detections without a restart
    with TestClient(create_app(tiny_model_path, str(tmp_path / "ref.sqlite")), headers=AUTH) as ref:
        ref.post("/detections", json=first)
        ref.post("/detections", json=second)
        straight = {o["object_id"]: o for o in ref.get("/objects", params={"limit": 1000}).json()["objects"]}
        hist_straight = ref.get(f"/objects/{some_records[0].object_id}/history").json()["history"]
    assert resumed.keys() == straight.keys()
    for oid in straight:
        assert resumed[oid]["probabilities"] == pytest.approx(straight[oid]["probabilities"], abs=1e-6)
        assert resumed[oid]["n_det"] == straight[oid]["n_det"]
    assert [h["n_obs"] for h in hist_resumed] == [h["n_obs"] for h in hist_straight]


def test_detections_stored_before_a_crash_are_classified_on_restart(tiny_model_path, db_url, some_records):
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:
        c.post("/detections", json=as_json(some_records[:5]))
    # a crash after storing, before classifying: the detections are in the database only
    st = open_storage(db_url)
    st.add_detections(some_records[5:12])
    st.close()
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:
        objs = c.get("/objects", params={"limit": 1000}).json()["objects"]
        assert all(o["n_obs_classified"] == o["n_det"] for o in objs)
        assert all(o["probabilities"] is not None for o in objs)
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:  # and once more: nothing left to do
        assert c.get("/health").json()["counts"]["classified"] == len(objs)


def test_model_swap_rebuilds_the_state(tiny_model_path, db_url, some_records, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    other = models / "other.skysift.pt"
    shutil.copy(tiny_model_path, other)
    sec = SecurityConfig(model_dir=models)
    with TestClient(create_app(tiny_model_path, db_url, security=sec), headers=AUTH) as c:
        c.post("/detections", json=as_json(some_records))
        before = {o["object_id"]: o["probabilities"] for o in c.get("/objects", params={"limit": 1000}).json()["objects"]}
        r = c.post("/model", json={"path": "other.skysift.pt"})
        assert r.status_code == 200, r.text
        assert r.json()["mode"] == "reclassified" and r.json()["detections"] == len(some_records)
        h = c.get("/health").json()["model"]
        assert h["path"] == str(other.resolve()) and h["tag"].startswith("other.skysift.pt:")
        after = {o["object_id"]: o for o in c.get("/objects", params={"limit": 1000}).json()["objects"]}
        for oid, p in before.items():  # same weights: same probabilities, now tagged with the new model
            assert after[oid]["probabilities"] == pytest.approx(p, abs=1e-6)
            assert after[oid]["model"] == h["tag"]
        oid = some_records[0].object_id
        hist = c.get(f"/objects/{oid}/history").json()["history"]
        assert len(hist) == after[oid]["n_det"] and {x["model"] for x in hist} == {h["tag"]}
        r = c.post("/model", json={"path": "missing.pt"})
        assert r.status_code == 404 and "no model file 'missing.pt'" in r.json()["detail"]
        assert c.post("/model", json={"file": "x"}).status_code == 422
        assert c.get("/health").json()["model"]["path"] == str(other.resolve())  # unchanged after a failed swap


def test_service_without_a_model_stores_then_classifies_when_one_is_loaded(tiny_model_path, db_url, some_records):
    sec = SecurityConfig(model_dir=tiny_model_path.parent)
    with TestClient(create_app(None, db_url, security=sec), headers=AUTH) as c:
        assert c.get("/health").json()["model"] is None
        body = c.post("/detections", json=as_json(some_records[:8])).json()
        assert body["stored"] == 8 and not any(o["classified"] for o in body["objects"])
        r = c.post("/model", json={"path": tiny_model_path.name})
        assert r.status_code == 200, r.text
        objs = c.get("/objects").json()["objects"]
        assert objs and all(o["probabilities"] is not None for o in objs)


# ------------------------------------------------------------------ ZTF Avro alerts


AVRO_DIR = ("ztf_alert_samples", "avro")


@pytest.fixture
def avro_files(shared_data):
    d = shared_data.joinpath(*AVRO_DIR)
    files = sorted(d.glob("*.avro"))
    if not files:
        pytest.skip(f"no ZTF Avro samples in {d}")
    return files


@pytest.mark.data
def test_real_ztf_alert_is_stored_and_classified(tiny_model_path, tmp_path, avro_files):
    alerts = pytest.importorskip("skysift.io.alerts", reason="skysift.io.alerts is not available")
    path = next(p for p in avro_files if "2019_01_10" in p.name)  # ZTF17aaacxxf, 22 detections
    body = path.read_bytes()
    packets = alerts.read_avro_alerts(body)
    phot, objs = alerts.alert_to_tables(packets[0])
    oid = str(objs["object_id"].iloc[0])
    with TestClient(create_app(tiny_model_path, str(tmp_path / "a.sqlite")), headers=AUTH) as c:
        bands = c.get("/health").json()["model"]["bands"]
        if "band" in phot.columns and bands and len(bands) > 1 and not set(phot["band"].astype(str)) <= set(bands):
            pytest.skip(f"alert bands {sorted(set(phot['band']))} are not the tiny model's {bands}")
        r = c.post("/alerts", content=body, headers={"content-type": "application/avro"})
        assert r.status_code == 200, r.text
        assert r.json()["stored"] == len(phot)
        obj = c.get(f"/objects/{oid}").json()
        assert obj["n_det"] == len(phot) and obj["probabilities"] is not None
        assert obj["ra"] == pytest.approx(float(objs["ra"].iloc[0]))
        hist = c.get(f"/objects/{oid}/history").json()["history"]
        assert len(hist) == len(phot)
        # the same alert again: everything is a duplicate
        again = c.post("/alerts", content=body, headers={"content-type": "application/octet-stream"}).json()
        assert again["stored"] == 0 and again["duplicates"] == len(phot)


@pytest.mark.data
def test_every_sample_alert_is_accepted(tiny_model_path, tmp_path, avro_files):
    pytest.importorskip("skysift.io.alerts", reason="skysift.io.alerts is not available")
    with TestClient(create_app(tiny_model_path, str(tmp_path / "a.sqlite")), headers=AUTH) as c:
        for p in avro_files:
            r = c.post("/alerts", content=p.read_bytes(), headers={"content-type": "application/avro"})
            assert r.status_code in (200, 422), r.text
            if r.status_code == 422:  # only for a reason the model gives (e.g. its bands)
                assert "band" in r.json()["detail"]


def test_malformed_alerts_are_refused_and_recorded(client):
    pytest.importorskip("skysift.io.alerts", reason="skysift.io.alerts is not available")
    r = client.post("/alerts", content=b"definitely not avro", headers={"content-type": "application/avro"})
    assert r.status_code == 422 and "Avro" in r.json()["detail"]
    r2 = client.post("/alerts", content=b"{}", headers={"content-type": "application/json"})
    assert r2.status_code == 415 and "content type" in r2.json()["detail"]
    rej = client.get("/rejected").json()["rejected"]
    assert [x["id"] for x in rej[:2]] == [r2.json()["rejected_id"], r.json()["rejected_id"]]
    assert rej[1]["payload"].startswith("base64:")


def test_openapi_documents_the_detection_schema(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/detections"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["items"]["required"]) >= {"object_id", "mjd", "mag", "mag_err", "ra", "dec"}
    json.dumps(spec)


def test_web_assets_have_no_external_urls():
    web = Path(__file__).resolve().parents[2] / "skysift" / "stream" / "web"
    for f in web.iterdir():
        text = f.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, f


def test_concurrent_requests_are_all_stored_and_classified(client, tiny_lcset):
    from concurrent.futures import ThreadPoolExecutor

    recs = lcset_records(tiny_lcset)[:240]
    chunks = [as_json(recs[i : i + 20]) for i in range(0, len(recs), 20)]
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda p: client.post("/detections", json=p).status_code, chunks))
    assert codes == [200] * len(chunks)
    objs = client.get("/objects", params={"limit": 1000}).json()["objects"]
    assert sum(o["n_det"] for o in objs) == len(recs)
    assert all(o["n_obs_classified"] == o["n_det"] for o in objs)
    for o in objs[:5]:
        assert len(client.get(f"/objects/{o['object_id']}/history").json()["history"]) == o["n_det"]


def test_restart_without_a_model_argument_uses_the_stored_model(tiny_model_path, db_url, some_records):
    with TestClient(create_app(tiny_model_path, db_url), headers=AUTH) as c:
        c.post("/detections", json=as_json(some_records[:6]))
        before = c.get("/objects").json()["objects"]
    with TestClient(create_app(None, db_url), headers=AUTH) as c:
        assert c.get("/health").json()["model"]["path"] == str(tiny_model_path)
        assert c.get("/objects").json()["objects"] == before
    with TestClient(create_app(None, db_url, use_stored_model=False), headers=AUTH) as c:
        assert c.get("/health").json()["model"] is None


def test_the_service_freezes_its_loaded_heap_and_a_swapped_model_is_still_freed(tiny_model_path, db_url):
    import gc
    import weakref

    from skysift.stream.service import StreamService

    plain = StreamService(open_storage(db_url), tiny_model_path)  # a library user's process is left alone
    plain.storage.close()
    assert gc.get_freeze_count() == 0
    service = StreamService(open_storage(db_url), tiny_model_path, freeze_heap=True)  # serve, consume
    try:
        assert gc.get_freeze_count() > 10_000  # modules, the model, the compiled kernels
        old = weakref.ref(service.classifier)
        frozen = gc.get_freeze_count()
        service.load_model(tiny_model_path)  # a swap: the old model leaves the frozen set and is freed
        assert old() is None
        assert abs(gc.get_freeze_count() - frozen) < frozen // 10
    finally:
        service.storage.close()
        gc.unfreeze()


def test_a_failed_write_leaves_the_classifier_as_the_database_says(tiny_model_path, tiny_lcset, tmp_path):
    """A database fault after the detections were committed (or before): 503-worthy StorageUnavailable,
    then the next ingestion rebuilds those objects from what was stored, and every probability is what
    a run without the fault gives (within 1e-6)."""
    from skysift.stream.service import StreamService
    from skysift.stream.storage import StorageUnavailable
    from tests.stream.conftest import lcset_records

    recs = lcset_records(tiny_lcset)[:300]
    batches = [recs[i : i + 30] for i in range(0, len(recs), 30)]
    clean = StreamService(open_storage(tmp_path / "clean.sqlite"), tiny_model_path)
    for b in batches:
        clean.ingest(b)
    faulty = StreamService(open_storage(tmp_path / "faulty.sqlite"), tiny_model_path)
    st = faulty.storage
    real = {"add_probabilities": st.add_probabilities, "add_detections": st.add_detections}

    def failing(name):
        def f(*args, **kwargs):
            if name == "add_detections":
                real[name](*args, **kwargs)  # committed, but the answer is lost (as in a restart)
            raise StorageUnavailable("simulated fault")
        return f

    for i, b in enumerate(batches):
        name = {2: "add_probabilities", 5: "add_detections"}.get(i)
        if name:
            setattr(st, name, failing(name))
            with pytest.raises(StorageUnavailable):
                faulty.ingest(b)
            setattr(st, name, real[name])
            assert faulty._unsure
            faulty.ingest(b)  # the client retries: duplicates, objects rebuilt
        else:
            faulty.ingest(b)
    assert not faulty._unsure
    for oid in {r.object_id for r in recs}:
        a, b = clean.storage.get_object(oid), faulty.storage.get_object(oid)
        assert a["n_det"] == b["n_det"] and a["n_obs_classified"] == b["n_obs_classified"]
        for c, p in a["probabilities"].items():
            assert abs(b["probabilities"][c] - p) < 1e-6, (oid, c)
    clean.storage.close()
    faulty.storage.close()
