"""The storage suite, run against SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import pytest

from skysift.errors import InputError
from skysift.stream.storage import Detection, ProbabilityRow, SQLiteStorage, open_storage


def D(oid, mjd, mag=18.0, err=0.1, band="g", ra=10.0, dec=20.0):
    return Detection(oid, mjd, mag, err, band, ra, dec)


def P(oid, n, mjd, sn, vs, agn=None):
    agn = 1.0 - sn - vs if agn is None else agn
    return ProbabilityRow(oid, n, mjd, {"AGN": agn, "SN": sn, "VS": vs})


def test_add_detections_reports_new_rows_and_skips_duplicates(storage):
    dets = [D("a", 1.0), D("a", 2.0), D("b", 1.5, band=None, ra=11, dec=-5), D("a", 1.0)]
    assert storage.add_detections(dets) == [True, True, True, False]
    # the same detections again (as repeated ZTF prv_candidates) are not new; another band is
    assert storage.add_detections([D("a", 2.0), D("a", 1.0, band="r")]) == [False, True]
    assert storage.counts()["detections"] == 4
    obj = storage.get_object("a")
    assert obj["n_det"] == 3 and obj["first_mjd"] == 1.0 and obj["last_mjd"] == 2.0
    assert (obj["ra"], obj["dec"]) == (10.0, 20.0)
    assert obj["probabilities"] is None and obj["top_class"] is None
    assert storage.get_object("missing") is None
    assert storage.add_detections([]) == []


def test_detections_sorted_by_time_and_band_round_trips(storage):
    storage.add_detections([D("a", 3.0, band=None), D("a", 1.0, band="r"), D("a", 2.0, mag=17.5)])
    dets = storage.get_detections("a")
    assert [d["mjd"] for d in dets] == [1.0, 2.0, 3.0]
    assert [d["band"] for d in dets] == ["r", "g", None]
    assert dets[1]["mag"] == 17.5 and dets[1]["mag_err"] == 0.1
    assert storage.get_detections("nobody") == []


def test_object_position_is_that_of_the_first_detection(storage):
    storage.add_detections([D("a", 1.0, ra=10.0, dec=20.0)])
    storage.add_detections([D("a", 0.5, ra=10.001, dec=20.001)])
    obj = storage.get_object("a")
    assert (obj["ra"], obj["dec"]) == (10.0, 20.0)
    assert obj["first_mjd"] == 0.5 and obj["n_det"] == 2


def test_probabilities_history_and_current(storage):
    storage.add_detections([D("a", 1.0), D("a", 2.0), D("b", 1.0)])
    storage.add_probabilities([P("a", 1, 1.0, 0.6, 0.3), P("b", 1, 1.0, 0.2, 0.7), P("a", 2, 2.0, 0.8, 0.1)], model="m1")
    a = storage.get_object("a")
    assert a["top_class"] == "SN" and a["top_prob"] == pytest.approx(0.8)
    assert a["probabilities"] == pytest.approx({"AGN": 0.1, "SN": 0.8, "VS": 0.1})
    assert a["n_obs_classified"] == 2 and a["model"] == "m1"
    hist = storage.get_history("a")
    assert [h["n_obs"] for h in hist] == [1, 2]
    assert [h["mjd"] for h in hist] == [1.0, 2.0]
    assert hist[0]["probabilities"]["SN"] == pytest.approx(0.6)
    assert storage.get_history("nobody") == []
    assert storage.classified_counts() == {"a": (2, 2), "b": (1, 1)}
    assert storage.counts()["classified"] == 2


def test_list_objects_filters(storage):
    storage.add_detections([D(o, 1.0) for o in "abcd"])
    storage.add_probabilities([
        P("a", 1, 1.0, 0.9, 0.05), P("b", 1, 1.0, 0.6, 0.3), P("c", 1, 1.0, 0.1, 0.8), P("d", 1, 1.0, 0.45, 0.2),
    ])
    ids = lambda **kw: [o["object_id"] for o in storage.list_objects(**kw)]  # noqa: E731
    assert ids(cls="SN", min_prob=0.7) == ["a"]
    assert sorted(ids(cls="SN", min_prob=0.4)) == ["a", "b", "d"]
    assert ids(cls="VS") == ["c"]  # class alone: top class
    assert sorted(ids(cls="AGN")) == []
    assert sorted(ids(min_prob=0.7)) == ["a", "c"]
    assert ids(cls="SN", min_prob=0.7, limit=1) == ["a"]
    assert len(ids(limit=2)) == 2


def test_list_objects_sorting(storage):
    storage.add_detections([D("a", 1.0), D("b", 1.0), D("b", 2.0), D("c", 3.0), D("u", 4.0)])
    storage.add_probabilities([P("a", 1, 1.0, 0.9, 0.05), P("b", 2, 2.0, 0.6, 0.3), P("c", 1, 3.0, 0.1, 0.8)])
    ids = lambda **kw: [o["object_id"] for o in storage.list_objects(**kw)]  # noqa: E731
    assert ids(sort="object_id") == ["a", "b", "c", "u"]
    assert ids(sort="object_id", order="desc") == ["u", "c", "b", "a"]
    assert ids(sort="prob_SN") == ["a", "b", "c", "u"]  # unclassified last
    assert ids(sort="prob_VS") == ["c", "b", "a", "u"]
    assert ids(sort="prob_VS", order="asc") == ["a", "b", "c", "u"]
    assert ids(sort="prob", cls="SN", min_prob=0.5) == ["a", "b"]
    assert ids(sort="top_prob") == ["a", "c", "b", "u"]
    assert ids(sort="n_det")[0] == "b"
    assert ids(sort="last_mjd") == ["u", "c", "b", "a"]
    assert ids(sort="object_id", offset=2) == ["c", "u"]
    with pytest.raises(InputError, match="unknown sort key"):
        storage.list_objects(sort="nonsense")
    with pytest.raises(InputError, match="order"):
        storage.list_objects(order="sideways")
    with pytest.raises(InputError, match="min_prob"):
        storage.list_objects(min_prob=1.5)


def test_recently_updated_first(storage):
    storage.add_detections([D("a", 1.0)])
    storage.add_detections([D("b", 1.0)])
    storage.add_detections([D("a", 2.0)])
    assert [o["object_id"] for o in storage.list_objects()] == ["a", "b"]


def test_rejected_inputs(storage):
    r1 = storage.record_rejected("not JSON", "{bad", source="POST /detections")
    r2 = storage.record_rejected("not Avro", b"\x00\x01\x02")
    rows = storage.list_rejected()
    assert [r["id"] for r in rows] == [r2, r1]
    assert rows[1]["reason"] == "not JSON" and rows[1]["payload"] == "{bad"
    assert rows[1]["source"] == "POST /detections"
    assert rows[0]["payload"].startswith("base64:")
    assert storage.list_rejected(limit=1)[0]["id"] == r2
    big = storage.record_rejected("huge", "x" * 200_000)
    assert "truncated" in [r for r in storage.list_rejected() if r["id"] == big][0]["payload"]
    assert storage.counts()["rejected"] == 3


def test_all_detections_in_arrival_order_with_object_position(storage):
    storage.add_detections([D("a", 2.0), D("b", 1.0, band=None, ra=1.0, dec=2.0)])
    storage.add_detections([D("a", 1.0, ra=99.0, dec=9.0)])
    rows = storage.all_detections()
    assert [(r.object_id, r.mjd) for r in rows] == [("a", 2.0), ("b", 1.0), ("a", 1.0)]
    assert rows[2].ra == 10.0 and rows[2].dec == 20.0  # the object's position
    assert rows[1].band is None


def test_reset_classifications_and_meta(storage):
    storage.add_detections([D("a", 1.0)])
    storage.add_probabilities([P("a", 1, 1.0, 0.9, 0.05)], model="m1")
    storage.reset_classifications()
    a = storage.get_object("a")
    assert a["probabilities"] is None and a["top_class"] is None and a["n_det"] == 1
    assert storage.get_history("a") == []
    assert storage.list_objects(cls="SN", min_prob=0.1) == []
    assert storage.get_meta("model_tag") is None
    storage.set_meta("model_tag", "x")
    storage.set_meta("model_tag", "y")
    assert storage.get_meta("model_tag") == "y"


def test_data_survives_reopening(db_url):
    st = open_storage(db_url)
    st.add_detections([D("a", 1.0), D("a", 2.0)])
    st.add_probabilities([P("a", 2, 2.0, 0.7, 0.2)], model="m")
    st.record_rejected("bad", "x")
    st.close()
    st2 = open_storage(db_url)
    try:
        assert st2.counts() == {"objects": 1, "classified": 1, "detections": 2, "rejected": 1}
        assert st2.get_object("a")["top_class"] == "SN"
        assert st2.add_detections([D("a", 2.0)]) == [False]
    finally:
        st2.close()


def test_open_storage_urls(tmp_path):
    assert isinstance(open_storage(":memory:"), SQLiteStorage)
    st = open_storage(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert st.backend == "sqlite" and (tmp_path / "x.sqlite").exists()
    st.close()
    with pytest.raises(InputError, match="scheme"):
        open_storage("mysql://nobody")


def test_detection_coerce():
    d = Detection.coerce({"object_id": 5, "mjd": "1.5", "mag": 18, "mag_err": 0.1, "band": "", "ra": 1, "dec": 2})
    assert d == Detection("5", 1.5, 18.0, 0.1, None, 1.0, 2.0)
    assert Detection.coerce(("a", 1.0, 2.0, 0.1)) == Detection("a", 1.0, 2.0, 0.1)


def test_upper_limits_labels_and_counts(storage):
    from skysift.stream.storage import Detection, ProbabilityRow

    storage.add_detections([Detection("a", 59000.0, 18.0, 0.1, "g", 1.0, 2.0),
                            Detection("b", 59001.0, 19.0, 0.1, "g", 3.0, 4.0)])
    assert storage.add_upper_limits([("a", 58990.0, "g", 20.5), ("a", 58991.0, None, 20.1)]) == 2
    assert storage.add_upper_limits([("a", 58990.0, "g", 20.5)]) == 0  # stored once
    assert storage.get_upper_limits("a") == [{"mjd": 58990.0, "band": "g", "limit_mag": 20.5},
                                             {"mjd": 58991.0, "band": None, "limit_mag": 20.1}]
    storage.add_probabilities([ProbabilityRow("a", 1, 59000.0, {"SN": 0.8, "VS": 0.2}),
                               ProbabilityRow("b", 1, 59001.0, {"SN": 0.3, "VS": 0.7})], model="m1")
    storage.add_label("a", "SN II", author="ana")
    storage.add_label("a", "SN Ia", author="bo", note="spectrum")
    assert [x["label"] for x in storage.get_labels("a")] == ["SN Ia", "SN II"]
    assert storage.current_labels(["a", "b"]) == {"a": "SN Ia"}
    storage.reset_classifications()  # a model swap forgets the machine's classes, not the people's
    assert storage.current_labels(["a"]) == {"a": "SN Ia"} and storage.get_object("a")["top_class"] is None
    storage.add_probabilities([ProbabilityRow("a", 1, 59000.0, {"SN": 0.8, "VS": 0.2}),
                               ProbabilityRow("b", 1, 59001.0, {"SN": 0.3, "VS": 0.7})], model="m2")
    assert storage.count_objects() == 2
    assert storage.count_objects(cls="SN") == 1 and storage.count_objects(cls="SN", min_prob=0.2) == 2
    assert storage.count_objects(min_prob=0.75) == 1


def test_two_writers_of_one_sqlite_file_queue_and_lose_nothing(tmp_path):
    """Two storages on one file (as two consumers of a group): every detection of both lands,
    and the writers' lock beside the database is released after each transaction."""
    import threading

    path = tmp_path / "shared.sqlite"
    stores = [SQLiteStorage(path), SQLiteStorage(path)]
    errors = []

    def write(k: int) -> None:
        try:
            for i in range(60):
                stores[k].add_detections([Detection(f"W{k}_{i}_{j}", 60000.0 + j, 18.0, 0.1, "g", 10.0, 20.0)
                                          for j in range(5)])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert stores[0].counts()["detections"] == 2 * 60 * 5
    assert (tmp_path / "shared.sqlite-writers").exists()
    with pytest.raises(RuntimeError):  # a failed transaction gives the lock back too
        with stores[0]._transaction():
            raise RuntimeError("boom")
    stores[1].add_detections([Detection("after", 60000.0, 18.0, 0.1, "g", 10.0, 20.0)])
    for st in stores:
        st.close()


# ---------------------------------------------------------------------------- faults (skysift.stream.storage.faults)


def test_query_text_no_database_holds_is_an_input_error(storage):
    storage.add_detections([D("a", 1.0)])
    for bad in ("a\x00b", "\ud800"):
        with pytest.raises(InputError):
            storage.get_object(bad)
        with pytest.raises(InputError):
            storage.list_objects(sort=f"prob_{bad}")
    assert storage.get_object("a") is not None and storage.status() == {"ok": True, "problems": []}


def test_labels_per_object_are_bounded(storage, monkeypatch):
    import skysift.stream.storage.common as common

    monkeypatch.setattr(common, "MAX_LABELS_PER_OBJECT", 3)
    for i in range(3):
        storage.add_label("a", f"L{i}")
    with pytest.raises(InputError, match="at most 3"):
        storage.add_label("a", "one more")
    assert len(storage.get_labels("a")) == 3 and storage.add_label("b", "ok")["label"] == "ok"


def test_rebuild_queries_for_some_objects(storage):
    storage.add_detections([D("a", 1.0), D("b", 2.0), D("a", 3.0), D("c", 0.5)])
    assert [(d.object_id, d.mjd) for d in storage.detections_of(["a", "c"])] == [("a", 1.0), ("a", 3.0), ("c", 0.5)]
    assert storage.classified_counts(["a", "b", "zz"]) == {"a": (2, None), "b": (1, None)}
    assert storage.classified_counts([]) == {} and len(storage.classified_counts()) == 3


def test_sqlite_refuses_a_missing_directory_and_a_deleted_file(tmp_path):
    import os

    from skysift.stream.storage import StorageUnavailable

    with pytest.raises(InputError, match="does not exist"):
        open_storage(tmp_path / "nope" / "x.sqlite")
    assert not (tmp_path / "nope").exists()
    made = SQLiteStorage(tmp_path / "made" / "x.sqlite", create_dirs=True)
    made.close()
    st = open_storage(tmp_path / "gone.sqlite")
    st.add_detections([D("a", 1.0)])
    os.remove(st.path)
    with pytest.raises(StorageUnavailable, match="deleted or replaced"):
        st.add_detections([D("a", 2.0)])
    status = st.status()
    assert not status["ok"] and "deleted" in status["problems"][0]["reason"]
    st.close()


def test_sqlite_lock_held_by_another_process_times_out_with_a_reason(tmp_path):
    import fcntl
    import os
    import time

    from skysift.stream.storage import StorageUnavailable

    st = open_storage(tmp_path / "l.sqlite", lock_timeout=0.3)
    fd = os.open(st.path + "-writers", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailable, match="locked by another process"):
        st.add_detections([D("a", 1.0)])
    assert 0.25 < time.monotonic() - t0 < 3
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    assert st.add_detections([D("a", 1.0)]) == [True] and st.status()["ok"]
    st.close()
