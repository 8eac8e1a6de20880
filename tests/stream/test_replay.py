"""Replaying a labelled set into the service, night by night."""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from skysift.errors import InputError  # noqa: E402
from skysift.stream.replay import add_arguments, night_groups, replay, run  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from tests.stream.conftest import AUTH  # noqa: E402
from tests.stream.test_incremental import ATOL, proba  # noqa: E402


def test_night_groups_are_in_time_order(tiny_lcset):
    groups = night_groups(tiny_lcset)
    nights = [n for n, _ in groups]
    assert nights == sorted(nights) and len(set(nights)) == len(nights)
    assert sum(len(g) for _, g in groups) == len(tiny_lcset.photometry)
    for n, g in groups:
        assert (np.floor(g["mjd"]) == n).all() and g["mjd"].is_monotonic_increasing
        assert {"ra", "dec"} <= set(g.columns)


def test_replay_streams_everything_and_matches_a_rerun(tiny_model_path, tiny_clf, tiny_lcset, tmp_path):
    lines: list[str] = []
    with TestClient(create_app(tiny_model_path, str(tmp_path / "r.sqlite")), headers=AUTH) as c:
        summary = replay(tiny_lcset, c, speed=0, progress=lines.append, every=10, batch_size=50)
        assert summary["detections"] == summary["stored"] == len(tiny_lcset.photometry)
        assert summary["objects"] == len(tiny_lcset) and summary["duplicates"] == 0
        assert summary["nights"] == len(night_groups(tiny_lcset))
        assert summary["evaluated"] == len(tiny_lcset) and 0 <= summary["accuracy"] <= 1
        assert any(line.startswith("night ") for line in lines) and "replayed" in lines[-1]
        objs = {o["object_id"]: o for o in c.get("/objects", params={"limit": 1000}).json()["objects"]}
        classes = [str(x) for x in tiny_clf.classes_]
        got = np.array([[objs[o]["probabilities"][k] for k in classes] for o in tiny_lcset.object_ids])
        np.testing.assert_allclose(got, proba(tiny_clf, tiny_lcset), atol=ATOL)
        again = replay(tiny_lcset, c, nights=3, progress=None, evaluate=False)
        assert again["stored"] == 0 and again["duplicates"] == again["detections"] and again["nights"] == 3


def test_replay_paces_nights_by_speed(tiny_model_path, tiny_lcset, tmp_path):
    groups = night_groups(tiny_lcset)[:3]
    span = groups[-1][0] - groups[0][0]
    with TestClient(create_app(tiny_model_path, str(tmp_path / "r.sqlite")), headers=AUTH) as c:
        s = replay(tiny_lcset, c, speed=span / 0.3, nights=3, progress=None, evaluate=False)
    assert s["seconds"] >= 0.29


def test_replay_argument_errors(tiny_lcset):
    with pytest.raises(InputError, match="speed"):
        replay(tiny_lcset, "http://127.0.0.1:9", speed=-1)
    with pytest.raises(InputError, match="target"):
        replay(tiny_lcset, object())
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(InputError, match="dataset"):
        run(parser.parse_args([]))


def test_replay_from_a_saved_directory(tiny_model_path, tiny_lcset, tmp_path):
    d = tiny_lcset.subset(tiny_lcset.object_ids[:6]).save(tmp_path / "set")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", str(d), "--nights", "2"])
    with TestClient(create_app(tiny_model_path, str(tmp_path / "r.sqlite")), headers=AUTH) as c:
        import skysift.stream.replay as rp

        orig = rp._client
        rp._client = lambda target, timeout, *rest: (c, False)
        try:
            s = run(args)
        finally:
            rp._client = orig
    assert s["nights"] == 2 and s["detections"] > 0
