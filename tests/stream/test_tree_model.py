"""A tree model (class paths) through the service and the Kafka consumer: every output carries the
tree's nodes, children summing to their parent (docs/output_schema.md)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi")
pytest.importorskip("httpx", reason="fastapi's TestClient needs httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from skysift.model import hierarchy  # noqa: E402
from skysift.model.estimator import Classifier  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from tests.stream.conftest import AUTH, lcset_records, tiny_params  # noqa: E402
from tests.stream.synth import synthetic_lcset  # noqa: E402

pytestmark = pytest.mark.slow  # a tree of tiny models is trained (~20 s), then a mock Kafka cluster runs


@pytest.fixture(scope="module")
def tree_data():
    """The synthetic set with SN split into two subtypes by the object's first magnitude."""
    s = synthetic_lcset(20, seed=1, bands=("g", "R"))
    first = s.photometry.groupby("object_id")["mag"].first()
    lab = s.objects["label"].to_numpy().astype(object)
    sn = lab == "SN"
    bright = first.loc[s.objects["object_id"]].to_numpy() < np.median(first.loc[s.objects["object_id"][sn]])
    lab[sn & bright], lab[sn & ~bright] = "SN/bright", "SN/faint"
    s.objects["label"] = lab
    return s


@pytest.fixture(scope="module")
def tree_model(tree_data, tmp_path_factory):
    saved = hierarchy.MIN_SUBTYPE_OBJECTS, hierarchy.MIN_SUBTYPE_VALIDATION
    hierarchy.MIN_SUBTYPE_OBJECTS, hierarchy.MIN_SUBTYPE_VALIDATION = 3, 1
    try:
        clf = Classifier(**tiny_params()).fit(tree_data)
    finally:
        hierarchy.MIN_SUBTYPE_OBJECTS, hierarchy.MIN_SUBTYPE_VALIDATION = saved
    assert clf.tree_classes_ == ["AGN", "SN", "SN/bright", "SN/faint", "VS"]
    path = clf.save(tmp_path_factory.mktemp("tree") / "tree.skysift.pt")
    return path, Classifier.load(path)


def test_service_serves_the_tree(tree_model, tree_data, tmp_path):
    path, clf = tree_model
    ids = list(tree_data.object_ids[::4])
    recs = [r for r in lcset_records(tree_data) if r.object_id in set(ids)]
    body = [{k: v for k, v in r._asdict().items() if v is not None} for r in recs]
    with TestClient(create_app(str(path), str(tmp_path / "s.sqlite")), headers=AUTH) as c:
        assert c.post("/detections", json=body).status_code == 200
        want = clf.predict_tree(tree_data.subset(ids))
        for oid in ids:
            obj = c.get(f"/objects/{oid}").json()
            assert obj["classes"] == clf.tree_classes_
            got = obj["probabilities"]
            np.testing.assert_allclose([got[n] for n in clf.tree_classes_], want.loc[oid].to_numpy(), atol=1e-5)
            assert got["SN/bright"] + got["SN/faint"] == pytest.approx(got["SN"], abs=1e-6)
            assert obj["top_class"] in ("AGN", "SN", "VS")
        # filter by a subtype: objects whose P(node) >= 0.5
        listed = c.get("/objects", params={"cls": "SN/faint", "limit": 1000}).json()
        expect = sorted(want.index[want["SN/faint"] >= 0.5])
        assert sorted(o["object_id"] for o in listed["objects"]) == expect
        assert c.get("/objects", params={"cls": "SN/nosuch"}).status_code == 422
        # the novelty score is stored with each classification, sortable and filterable
        nov = clf.novelty_score(tree_data.subset(ids))
        objs = c.get("/objects", params={"sort": "novelty", "limit": 1000}).json()["objects"]
        got_nov = {o["object_id"]: o["novelty"] for o in objs}
        np.testing.assert_allclose([got_nov[o] for o in ids], nov, atol=1e-4)
        assert [o["novelty"] for o in objs] == sorted((o["novelty"] for o in objs), reverse=True)
        # the filter reads the stored (stream) scores, equal to the batch's to 1e-4: the cut is one of them
        stored = np.array([got_nov[o] for o in ids])
        cut = float(np.median(stored))
        high = c.get("/objects", params={"novelty_min": cut, "limit": 1000}).json()["objects"]
        assert sorted(o["object_id"] for o in high) == sorted(np.asarray(ids)[stored >= cut].tolist())
        assert c.get("/objects", params={"novelty_min": 2}).status_code == 422


def test_consumer_publishes_the_tree(tree_model, tmp_path):
    pytest.importorskip("confluent_kafka", reason="the Kafka tests need confluent-kafka")
    fastavro = pytest.importorskip("fastavro")
    import confluent_kafka as ck

    from skysift.errors import SkysiftError
    from skysift.stream.kafka import AlertConsumer, KafkaConfig
    from skysift.stream.service import StreamService
    from skysift.stream.storage import open_storage
    from tests.stream.test_kafka import _alerts, _produce, _read_topic, _topic
    from tests.stream.ztf_packets import ztf_schema

    path, clf = tree_model
    producer = ck.Producer({"test.mock.num.brokers": 1, "linger.ms": 2, "log_level": 3})
    servers = ",".join(f"{b.host}:{b.port}" for b in producer.list_topics(timeout=10).brokers.values())
    topic, out_topic = _topic(), _topic()
    msgs = _alerts(ztf_schema(), 8, 4)
    _produce(producer, topic, msgs)
    st = open_storage(tmp_path / "k.sqlite")
    svc = StreamService(st, path)
    novel_topic = _topic()
    cfg = KafkaConfig(servers, [topic], group_id="g1", output_topic=out_topic, batch_size=4, poll_timeout_s=0.2,
                      novelty_topic=novel_topic, novelty_min=0.0)
    tot = AlertConsumer(svc, cfg).run(max_messages=len(msgs), idle_timeout_s=20)
    assert tot.published == len(msgs)
    recs = [next(iter(fastavro.reader(io.BytesIO(m.value())))) for m in _read_topic(servers, out_topic, len(msgs))]
    assert len(recs) == len(msgs)
    # with novelty_min 0 every classified record also goes to the novelty topic
    novel = [next(iter(fastavro.reader(io.BytesIO(m.value())))) for m in _read_topic(servers, novel_topic, len(msgs))]
    assert sorted(r["objectId"] for r in novel) == sorted(r["objectId"] for r in recs if r["novelty"] is not None)
    with pytest.raises(SkysiftError, match="novelty-min"):
        KafkaConfig(servers, [topic], novelty_topic="x", novelty_min=1.5)
    for r in recs:
        p = r["probabilities"]
        assert set(p) == set(clf.tree_classes_)
        assert p["SN/bright"] + p["SN/faint"] == pytest.approx(p["SN"], abs=1e-6)
        assert r["class_path"] == hierarchy.best_path(list(p), list(p.values()))
        assert r["class_path"].split("/")[0] == r["top_class"]
        if clf.novelty_ is not None:  # the model's novelty score rides along
            assert 0.0 < r["novelty"] < 1.0
    st.close()
    producer.flush(5)
