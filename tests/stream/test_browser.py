"""End to end: a real uvicorn server and the web page in headless Chromium, driven by Playwright.

Needs Debian's ``chromium`` (/usr/bin/chromium) and the ``playwright`` Python package (its own
browser download is never used); skipped with the reason when either is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

from tests.stream.conftest import AUTH, lcset_records

CHROMIUM = os.environ.get("SKYSIFT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.slow


def _chromium_or_skip() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the browser test needs the playwright package (pip install playwright)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tiny_model_path, tmp_path):
    """The service on 127.0.0.1 in a background thread; yields its base URL."""
    uvicorn = pytest.importorskip("uvicorn", reason="the browser test needs uvicorn")
    from skysift.stream.service import create_app

    yield from serve_in_thread(uvicorn, create_app(tiny_model_path, str(tmp_path / "live.sqlite")))


def serve_in_thread(uvicorn, app):
    """Run ``app`` with uvicorn on a free port of 127.0.0.1 in a thread; yield its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser_page():
    path = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.set_default_timeout(15_000)
        yield page, errors
        browser.close()


def test_page_lists_objects_and_shows_light_curve_and_history(live_server, browser_page, tiny_lcset):
    import httpx

    page, errors = browser_page
    ids = list(tiny_lcset.object_ids[:4])
    recs = [r for r in lcset_records(tiny_lcset) if r.object_id in ids]
    payload = [{k: v for k, v in r._asdict().items() if v is not None} for r in recs]
    with httpx.Client(base_url=live_server, timeout=30, headers=AUTH) as http:
        assert http.post("/detections", json=payload).status_code == 200
        classes = http.get("/health").json()["model"]["classes"]
        current = {oid: http.get(f"/objects/{oid}").json() for oid in ids}

        # the table shows every object with its class probabilities
        page.goto(live_server + "/")
        for oid in ids:
            page.wait_for_selector(f'tr[data-object-id="{oid}"]')
        assert page.locator("#objects-body tr").count() == len(ids)
        headers = page.locator("#objects-head th").all_inner_texts()
        for c in classes:
            assert any(f"P({c})" in h for h in headers)
        row = page.locator(f'tr[data-object-id="{ids[0]}"]')
        top = current[ids[0]]["top_class"]
        assert top in row.inner_text()
        assert f"{current[ids[0]]['probabilities'][top]:.2f}" in row.inner_text()

        # sorting by a class probability puts the most probable first
        c0 = classes[0]
        page.click(f'th[data-sort="prob_{c0}"]')
        best = max(ids, key=lambda o: current[o]["probabilities"][c0])
        page.wait_for_function(
            "id => document.querySelector('#objects-body tr') && "
            "document.querySelector('#objects-body tr').dataset.objectId === id", arg=best)

        # filtering by class and minimum probability
        page.select_option("#f-class", c0)
        page.fill("#f-minprob", "0.999999")
        page.wait_for_function("() => document.querySelectorAll('#objects-body tr').length === "
                               + str(sum(current[o]["probabilities"][c0] >= 0.999999 for o in ids)))
        page.select_option("#f-class", "")
        page.fill("#f-minprob", "")
        page.wait_for_selector(f'tr[data-object-id="{ids[0]}"]')

        # a new object appears without reloading (auto-refresh)
        extra = [r for r in lcset_records(tiny_lcset) if r.object_id == tiny_lcset.object_ids[10]][:3]
        http.post("/detections", json=[{k: v for k, v in r._asdict().items() if v is not None} for r in extra])
        page.wait_for_selector(f'tr[data-object-id="{extra[0].object_id}"]', timeout=12_000)

        # clicking an object opens its page with the light curve and the probability history
        target = ids[0]
        page.click(f'tr[data-object-id="{target}"] a')
        page.wait_for_selector("svg#lightcurve circle.point")
        n_det = current[target]["n_det"]
        assert page.locator("svg#lightcurve circle.point").count() == n_det
        assert page.locator("svg#lightcurve line.errbar").count() == n_det
        # magnitudes: brighter (smaller) is drawn higher up
        pts = page.eval_on_selector_all(
            "svg#lightcurve g.det", "gs => gs.map(g => [parseFloat(g.querySelector('circle').getAttribute('cy')),"
            " g.querySelector('title').textContent])")
        mags = [float(t.split("\n")[1].split(" ")[0]) for _, t in pts]
        cys = [cy for cy, _ in pts]
        assert cys[mags.index(min(mags))] == min(cys) and cys[mags.index(max(mags))] == max(cys)
        page.wait_for_selector("svg#history path.prob-line")
        lines = page.locator("svg#history path.prob-line")
        assert sorted(lines.evaluate_all("ls => ls.map(l => l.dataset.class)")) == sorted(classes)
        assert page.locator("svg#history circle").count() == n_det * len(classes)
        assert target in page.locator("#obj-title").inner_text()

        # back to the list
        page.click("a.back")
        page.wait_for_selector(f'tr[data-object-id="{target}"]')
    assert not errors, errors


def test_unknown_object_page_says_so(live_server, browser_page):
    page, errors = browser_page
    page.goto(live_server + "/#/object/nobody")
    page.wait_for_selector("#error:not([hidden])")
    assert "nobody" in page.inner_text("#error")
