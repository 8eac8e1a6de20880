"""Fixtures for the stream tests: storage back ends, a tiny trained classifier, detections.

The PostgreSQL back end is tested when ``$SKYSIFT_TEST_POSTGRES_URL`` points at a reachable
server (``eval "$(bash .ci/start_postgres.sh)"`` starts one); each test gets its own schema,
dropped afterwards. Otherwise those tests are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from skysift.stream.storage import Detection, open_storage
from tests.stream.synth import synthetic_lcset

PG_ENV = "SKYSIFT_TEST_POSTGRES_URL"
#: The API token every stream test's service accepts (through $SKYSIFT_TOKEN).
TEST_TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture(autouse=True)
def api_token(monkeypatch):
    """Services started by the tests accept :data:`TEST_TOKEN`; clients send it with :data:`AUTH`."""
    monkeypatch.setenv("SKYSIFT_TOKEN", TEST_TOKEN)
    return TEST_TOKEN


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Tiny per-step tensors: extra torch threads only contend (badly so on a busy 2-core machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------- PostgreSQL


def _pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need ${PG_ENV} (start a server with: eval \"$(bash .ci/start_postgres.sh)\")")
    try:
        import psycopg
    except ImportError:
        pytest.skip('PostgreSQL tests need psycopg 3: pip install "psycopg[binary]"')
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # noqa: BLE001 - any connection failure means: skip
        pytest.skip(f"no PostgreSQL server reachable at ${PG_ENV}: {type(exc).__name__}: {exc}")
    return url


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema (dropped after the test)."""
    import psycopg

    base = _pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A database URL for each back end: an SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "stream.sqlite")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def storage(db_url):
    st = open_storage(db_url)
    yield st
    st.close()


# ---------------------------------------------------------------------------- model and data


@pytest.fixture(scope="session")
def tiny_lcset():
    """60 synthetic objects (VS/SN/AGN), bands g and R (the ZTF alert names), 4-45 detections each."""
    return synthetic_lcset(20, seed=1, bands=("g", "R"))


def tiny_params() -> dict:
    """A small, quick network: 2 epochs, 16 units, galactic l/b context only (no galaxy catalogue);
    the skysift preset's light-curve statistics, without its boosted trees and forest (whose cost per
    update would dominate the service tests; tests/stream/test_incremental.py covers them separately)."""
    from skysift.context import ContextConfig

    return {"rnn_units": 16, "dense_units": 16, "epochs": 2, "batch_size": 32, "lr": 1e-3, "seed": 0,
            "context": ContextConfig(galaxy_distance=False), "device": "cpu", "progress": False, "boost": False,
            "forest": False}


def train_tiny_classifier(lcset, path: Path, **kwargs):
    """Train a tiny Classifier (see :func:`tiny_params`) and save it to ``path``."""
    clf_mod = pytest.importorskip("skysift.classifier", reason="skysift.classifier is not available")
    clf = clf_mod.Classifier(**{**tiny_params(), **kwargs})
    clf.fit(lcset)
    clf.save(path)
    return clf


@pytest.fixture(scope="session")
def tiny_model(tiny_lcset, tmp_path_factory):
    """(path, classifier) of a tiny classifier trained on ``tiny_lcset``."""
    path = tmp_path_factory.mktemp("model") / "tiny.skysift.pt"
    clf = train_tiny_classifier(tiny_lcset, path)
    return path, clf


@pytest.fixture(scope="session")
def tiny_model_path(tiny_model):
    return tiny_model[0]


@pytest.fixture(scope="session")
def tiny_clf(tiny_model):
    """The tiny classifier as loaded from disk (what the service uses)."""
    from skysift.classifier import Classifier

    return Classifier.load(tiny_model[0])


def lcset_records(lcset, order: str = "time") -> list[Detection]:
    """The set's detections as records with positions, in time order (or 'object' order)."""
    pos = lcset.objects.set_index("object_id")
    phot = lcset.photometry
    if order == "time":
        phot = phot.sort_values("mjd", kind="stable")
    has_band = "band" in phot.columns
    return [
        Detection(str(r.object_id), float(r.mjd), float(r.mag), float(r.mag_err),
                  str(r.band) if has_band else None,
                  float(pos.at[r.object_id, "ra"]), float(pos.at[r.object_id, "dec"]))
        for r in phot.itertuples(index=False)
    ]


def records_to_lcset(records, objects=None):
    """A LightCurveSet from records (photometry in the records' order, so equal MJDs keep it)."""
    import pandas as pd

    from skysift.io.tables import from_frames

    phot = pd.DataFrame([{"object_id": r.object_id, "mjd": r.mjd, "mag": r.mag, "mag_err": r.mag_err,
                          **({"band": r.band} if r.band is not None else {})} for r in records])
    if objects is None:
        first = {}
        for r in records:
            first.setdefault(r.object_id, (r.ra, r.dec))
        objects = pd.DataFrame([{"object_id": k, "ra": v[0], "dec": v[1]} for k, v in first.items()])
    return from_frames(phot, objects)
