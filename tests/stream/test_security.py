"""Tokens (given, from a file, from the environment, generated once), Host allow-list, model directory."""

from __future__ import annotations

import os
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from skysift.errors import InputError  # noqa: E402
from skysift.stream.limits import Rejected  # noqa: E402
from skysift.stream.security import (  # noqa: E402
    TOKEN_META_KEY,
    Guard,
    SecurityConfig,
    client_headers,
    model_file,
    resolve_token_digest,
)
from skysift.stream.service import create_app  # noqa: E402
from skysift.stream.storage import open_storage  # noqa: E402

DET = [{"object_id": "s1", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1, "band": "g", "ra": 1.0, "dec": 2.0}]


def test_a_token_is_generated_printed_once_and_only_its_hash_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SKYSIFT_TOKEN", raising=False)
    db = tmp_path / "t.sqlite"
    st = open_storage(db)
    digest = resolve_token_digest(SecurityConfig(), st)
    err = capsys.readouterr().err
    token = err.strip().splitlines()[-1]
    assert "shown only this once" in err and len(token) >= 32
    assert st.get_meta(TOKEN_META_KEY) == digest and token not in db.read_bytes().decode("latin-1")
    # the next start finds the hash and prints nothing
    assert resolve_token_digest(SecurityConfig(), st) == digest and capsys.readouterr().err == ""
    st.close()
    with TestClient(create_app(None, db)) as c:
        assert c.post("/detections", json=DET).status_code == 401
        assert c.post("/detections", json=DET, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_file_is_created_private_then_read(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SKYSIFT_TOKEN", raising=False)
    path = tmp_path / "conf" / "token"
    st = open_storage(":memory:")
    d1 = resolve_token_digest(SecurityConfig(token_file=path), st)
    assert oct(path.stat().st_mode & 0o777) == "0o600" and str(path) in capsys.readouterr().err
    assert resolve_token_digest(SecurityConfig(token_file=path), st) == d1
    assert client_headers(token_file=path) == {"Authorization": f"Bearer {path.read_text().strip()}"}
    path.write_text("short\n")
    with pytest.raises(InputError, match="16 characters"):
        resolve_token_digest(SecurityConfig(token_file=path), st)
    monkeypatch.setenv("SKYSIFT_TOKEN", "tiny")
    with pytest.raises(InputError, match="16 characters"):
        resolve_token_digest(SecurityConfig(), st)


def test_read_token_and_host_allow_list(tmp_path, api_token):
    sec = SecurityConfig(read_token_required=True, allowed_hosts=["skysift.example", "testserver"])
    with TestClient(create_app(None, tmp_path / "h.sqlite", security=sec)) as c:
        assert c.get("/objects").status_code == 401
        assert c.get("/objects", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
        assert c.get("/health").status_code == 200 and c.get("/").status_code == 200
        assert c.get("/health", headers={"Host": "evil.example"}).status_code == 400


def test_guard_rules():
    g = Guard(SecurityConfig(), "0" * 64)
    assert g.needs_token("POST", "/detections") and g.needs_token("GET", "/rejected")
    assert not g.needs_token("GET", "/objects") and not g.needs_token("GET", "/static/app.js")
    assert Guard(SecurityConfig(read_token_required=True), "0" * 64).needs_token("GET", "/objects")


def test_model_directory_resolution(tmp_path):
    root = tmp_path / "models"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "m.pt").write_bytes(b"x")
    (tmp_path / "outside.pt").write_bytes(b"x")
    os.symlink(tmp_path / "outside.pt", root / "link.pt")
    cfg = SecurityConfig(model_dir=root)
    assert model_file(cfg, "sub/m.pt") == (root / "sub" / "m.pt").resolve()
    for name in ("../outside.pt", str(tmp_path / "outside.pt"), "link.pt", ".", "a\x00b"):
        with pytest.raises(Rejected) as exc:
            model_file(cfg, name)
        assert exc.value.status == 403
    with pytest.raises(Rejected) as exc:
        model_file(SecurityConfig(), "m.pt")
    assert exc.value.status == 403 and "--model-dir" in exc.value.reason
