"""The shipped ``goto3`` model by name in the service (``serve --model goto3``, ``consume --model
goto3``): a real ZTF alert with g and R detections is classified through the band rule, with the same
probabilities as ``Classifier.load("goto3").predict_proba`` on the alert's photometry."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi")
pytest.importorskip("httpx", reason="fastapi's TestClient needs httpx")

from fastapi.testclient import TestClient  # noqa: E402

from skysift.cli import _check_model_file  # noqa: E402
from skysift.errors import InputError  # noqa: E402
from skysift.model.shipped import model_file, pretrained_path  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from tests.stream.conftest import AUTH  # noqa: E402

ALERT = ("ztf_alert_samples", "avro", "2019_01_10_739260766315010006.avro")  # ZTF17aaacxxf: 10 g + 13 R


def test_a_shipped_name_resolves_to_its_file_and_a_missing_one_is_one_line(tmp_path):
    assert model_file("goto3") == pretrained_path("goto3")
    assert _check_model_file("goto3") == pretrained_path("goto3")
    with pytest.raises(InputError, match="model file not found"):
        model_file("goto4")
    with pytest.raises(InputError, match="model file not found"):
        model_file(tmp_path / "goto3")  # a path (with a folder) is never a shipped name
    real = tmp_path / "mine.pt"
    real.write_bytes(b"x")
    assert model_file(real) == real


@pytest.mark.data
def test_serve_goto3_classifies_a_ztf_alert_with_g_and_r(shared_data, tmp_path):
    from skysift.io import alerts
    from skysift.io.tables import LightCurveSet
    from skysift.model.estimator import Classifier

    path = shared_data.joinpath(*ALERT)
    if not path.exists():
        pytest.skip(f"ZTF alert sample missing: {path}")
    body = path.read_bytes()
    phot, objs = alerts.alert_to_tables(alerts.read_avro_alerts(body)[0])
    assert set(phot["band"].astype(str)) == {"g", "R"}
    oid = str(objs["object_id"].iloc[0])
    with TestClient(create_app("goto3", str(tmp_path / "a.sqlite")), headers=AUTH) as c:
        health = c.get("/health").json()
        assert health["model"]["path"] == str(pretrained_path("goto3"))
        r = c.post("/alerts", content=body, headers={"content-type": "application/avro"})
        assert r.status_code == 200, r.text
        assert r.json()["stored"] == len(phot)
        obj = c.get(f"/objects/{oid}").json()
    assert obj["n_det"] == len(phot)
    clf = Classifier.load("goto3")
    expected = clf.predict_proba(LightCurveSet(phot, objs, "alert"))[0]
    got = np.array([obj["probabilities"][k] for k in clf.classes_])
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.data
def test_serve_ztf_gives_the_tree_for_a_ztf_alert(shared_data, tmp_path):
    """``--model ztf``: the class tree (level 1 from goto3, SN types) for a real ZTF alert, the same
    as ``Classifier.load("ztf").predict_tree`` on the alert's photometry; every parent's types sum to it."""
    from skysift.io import alerts
    from skysift.io.tables import LightCurveSet
    from skysift.model.estimator import Classifier

    path = shared_data.joinpath(*ALERT)
    if not path.exists():
        pytest.skip(f"ZTF alert sample missing: {path}")
    body = path.read_bytes()
    phot, objs = alerts.alert_to_tables(alerts.read_avro_alerts(body)[0])
    oid = str(objs["object_id"].iloc[0])
    clf = Classifier.load("ztf")
    assert clf.classes_ == ["AGN", "SN", "VS"] and set(clf.children_) == {"SN"}
    assert clf.children_["SN"].classes_ == ["II", "IIn", "Ia", "Ibc", "SLSN"]
    want = clf.predict_tree(LightCurveSet(phot, objs, "alert")).iloc[0]
    # level 1 is the goto3 model's
    np.testing.assert_allclose(want[clf.classes_].to_numpy(float),
                               Classifier.load("goto3").predict_proba(LightCurveSet(phot, objs, "alert"))[0], atol=1e-6)
    with TestClient(create_app("ztf", str(tmp_path / "z.sqlite")), headers=AUTH) as c:
        assert c.post("/alerts", content=body, headers={"content-type": "application/avro"}).status_code == 200
        obj = c.get(f"/objects/{oid}").json()
    assert obj["classes"] == clf.tree_classes_
    got = obj["probabilities"]
    np.testing.assert_allclose([got[k] for k in clf.tree_classes_], want.to_numpy(float), atol=1e-5)
    for top in ("SN",):
        kids = [k for k in clf.tree_classes_ if k.startswith(top + "/")]
        assert sum(got[k] for k in kids) == pytest.approx(got[top], abs=1e-5)
