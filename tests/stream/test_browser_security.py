"""A page of another origin cannot change the service: headless Chromium (Debian's) via Playwright.

The attacker's page is served from a second local server (another origin). It tries what a
malicious page can do without the token: ``no-cors`` fetches with a ``text/plain`` body (no
CORS pre-flight), a CORS fetch with ``application/json`` (pre-flight, never granted), a
``text/plain`` form post, and the same against ``/model``. Nothing may be stored and the model
must stay. Skipped with the reason when Chromium or playwright is missing.
"""

from __future__ import annotations

import http.server
import shutil
import threading

import pytest

from tests.stream.conftest import AUTH, lcset_records
from tests.stream.test_browser import CHROMIUM_ARGS, _chromium_or_skip, serve_in_thread

pytestmark = pytest.mark.slow

ATTACK = """
async ({victim, payload}) => {
  const results = {};
  const attempt = async (name, url, init) => {
    try { const r = await fetch(url, init); results[name] = r.type + ":" + r.status; }
    catch (e) { results[name] = "error:" + e.name; }
  };
  const text = {"Content-Type": "text/plain"};
  await attempt("no-cors detections", victim + "/detections", {method: "POST", mode: "no-cors", headers: text, body: payload});
  await attempt("no-cors model", victim + "/model", {method: "POST", mode: "no-cors", headers: text,
                                                    body: JSON.stringify({path: "other.skysift.pt"})});
  await attempt("cors json detections", victim + "/detections", {method: "POST", mode: "cors",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer guess-0123456789abcdef"}, body: payload});
  await attempt("cors json model", victim + "/model", {method: "POST", mode: "cors",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({path: "other.skysift.pt"})});
  await attempt("no-cors alerts", victim + "/alerts", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "application/octet-stream"}, body: new Uint8Array([79, 98, 106, 1])});
  await attempt("cors read", victim + "/objects", {mode: "cors"});
  // a classic form post (text/plain encoding), into a hidden frame
  const frame = document.createElement("iframe"); frame.name = "sink"; document.body.appendChild(frame);
  const form = document.createElement("form");
  form.method = "POST"; form.action = victim + "/detections"; form.enctype = "text/plain"; form.target = "sink";
  const field = document.createElement("input"); field.name = payload.slice(0, -2); field.value = '"}]';
  form.appendChild(field); document.body.appendChild(form);
  await new Promise(done => { frame.onload = done; form.submit(); setTimeout(done, 5000); });
  results["form"] = "submitted";
  return results;
}
"""


@pytest.fixture
def victim(tiny_model_path, tmp_path):
    """The service (token from $SKYSIFT_TOKEN, a model directory with a second model) on 127.0.0.1."""
    uvicorn = pytest.importorskip("uvicorn", reason="the browser test needs uvicorn")
    from skysift.stream.security import SecurityConfig
    from skysift.stream.service import create_app

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tiny_model_path, models / "other.skysift.pt")
    app = create_app(tiny_model_path, str(tmp_path / "victim.sqlite"), security=SecurityConfig(model_dir=models))
    yield from serve_in_thread(uvicorn, app)


@pytest.fixture
def attacker_origin():
    """A plain page on another origin (another port, host name 'localhost')."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<!doctype html><title>cat pictures</title><p>nothing to see</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{srv.server_address[1]}"
    srv.shutdown()


def test_another_origin_cannot_inject_detections_or_swap_the_model(victim, attacker_origin, tiny_lcset):
    import httpx
    from playwright.sync_api import sync_playwright

    path = _chromium_or_skip()
    rec = lcset_records(tiny_lcset)[0]
    payload = '[{"object_id": "INJECTED", "mjd": %r, "mag": %r, "mag_err": %r, "band": "%s", "ra": %r, "dec": %r}]' % (
        rec.mjd, rec.mag, rec.mag_err, rec.band, rec.ra, rec.dec)
    with httpx.Client(base_url=victim, timeout=30) as http_:
        model_before = http_.get("/health").json()["model"]["path"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(attacker_origin + "/")
            results = page.evaluate(ATTACK, {"victim": victim, "payload": payload})
            # the same origin's page still works read-only, without a token
            own = browser.new_page()
            own.goto(victim + "/")
            own.wait_for_selector("#objects-body", state="attached")
            browser.close()
        # the no-cors requests did reach the server (opaque answers), the CORS ones never left the browser
        assert results["no-cors detections"] == "opaque:0" and results["no-cors model"] == "opaque:0"
        assert results["cors json detections"].startswith("error") and results["cors json model"].startswith("error")
        assert results["cors read"].startswith("error")  # no CORS grant: another origin cannot read either
        health = http_.get("/health").json()
        assert health["counts"]["detections"] == 0 and health["counts"]["objects"] == 0
        assert http_.get("/objects/INJECTED").status_code == 404
        assert health["model"]["path"] == model_before
        # and with the token (same request as the page's) it would have been stored: the test can fail
        r = http_.post("/detections", content=payload, headers={**AUTH, "content-type": "application/json"})
        assert r.status_code == 200 and http_.get("/objects/INJECTED").status_code == 200
