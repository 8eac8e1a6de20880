"""The page an observer works from, in headless Chromium (Playwright, Debian's chromium):
signing in by pasting the token (no developer tools), labelling, a status that does not follow the
observer to the next object, cutouts and cross-matches from real ZTF alert packets, the list's
magnitude, position and last-detection columns, the filters by date, magnitude, sky cone and human
label kept in the URL, and the CSV export of the current view.

Screenshots of the list and of an object page at 1400 and 900 px wide are written to
``$SKYSIFT_TEST_ARTIFACTS/browser`` when that variable is set, else to the pytest temporary
directory (the path is printed).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import httpx
import pytest

from tests.stream.conftest import AUTH, TEST_TOKEN, lcset_records
from tests.stream.test_browser import browser_page, live_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def _alert_files() -> list[Path]:
    from skysift.io.paths import data_dir

    try:
        files = sorted((Path(data_dir()) / "ztf_alert_samples" / "avro").glob("*.avro"))
    except Exception:  # noqa: BLE001 - no data directory at all
        files = []
    if not files:
        pytest.skip("the real ZTF alert packets (../shared/data/ztf_alert_samples/avro) are not present")
    return files


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    root = os.environ.get("SKYSIFT_TEST_ARTIFACTS")
    out = Path(root) / "browser" if root else tmp_path_factory.mktemp("browser-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {out}")
    return out


def _post(base: str, lcset, ids) -> None:
    recs = [r for r in lcset_records(lcset) if r.object_id in set(ids)]
    payload = [{k: v for k, v in r._asdict().items() if v is not None} for r in recs]
    with httpx.Client(base_url=base, timeout=60, headers=AUTH) as http:
        assert http.post("/detections", json=payload).status_code == 200


def _sign_in(page, token: str = TEST_TOKEN) -> None:
    page.click("#signin-open")
    page.fill("#token-input", token)
    page.click("#signin-form button[type=submit]")


def test_sign_in_in_the_page_label_and_sign_out(live_server, browser_page, tiny_lcset, artifacts):
    page, errors = browser_page
    ids = sorted(tiny_lcset.object_ids)[:2]
    _post(live_server, tiny_lcset, ids)
    page.set_viewport_size({"width": 900, "height": 800})
    page.goto(f"{live_server}/#/object/{ids[0]}")
    page.wait_for_selector("#obj-links li", state="attached")
    # signed out: read-only, the label button is off and says why
    assert "not signed in" in page.inner_text("#auth-state")
    assert page.locator("#label-submit").is_disabled()
    assert page.locator("#label-auth-hint").is_visible()

    # a wrong token is refused in the page and nothing is kept
    _sign_in(page, "not-the-token-0123456789")
    page.wait_for_function("() => document.querySelector('#auth-status').textContent.includes('not accepted')")
    assert page.evaluate("sessionStorage.getItem('skysift-token')") is None
    assert errors and all("401" in e for e in errors)  # the browser logs the refused check: expected
    errors.clear()
    page.click("#signin-cancel")

    # the right one: signed in for this tab (sessionStorage), never in localStorage
    page.click("#signin-open")
    page.fill("#token-input", TEST_TOKEN)
    page.screenshot(path=str(artifacts / "signin-900.png"))
    page.click("#signin-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#auth-state').textContent === 'signed in'")
    assert page.evaluate("sessionStorage.getItem('skysift-token')") == TEST_TOKEN
    assert page.evaluate("localStorage.getItem('skysift-token')") is None
    assert page.locator("#signout").is_visible() and not page.locator("#label-submit").is_disabled()

    page.fill("#label-input", "SN Ia")
    page.fill("#label-author", "ana")
    page.click("#label-submit")
    page.wait_for_function("() => document.querySelector('#label-status').textContent.includes('saved')")
    page.wait_for_function("() => document.querySelector('#human-label').textContent.includes('SN Ia')")
    page.screenshot(path=str(artifacts / "labelled-900.png"))

    # the status belongs to that object: gone on the next one, and the form is empty there
    page.fill("#label-note", "typed for the first object")
    page.goto(f"{live_server}/#/object/{ids[1]}")
    page.wait_for_function("id => document.querySelector('#obj-title').textContent.startsWith(id)", arg=ids[1])
    page.wait_for_selector("#human-label span.muted")
    assert page.inner_text("#label-status") == ""
    assert page.input_value("#label-note") == "" and page.input_value("#label-author") == "ana"
    assert "No human label" in page.inner_text("#human-label")

    # the token lasts for the tab: a reload keeps it; signing out forgets it
    page.reload()
    page.wait_for_function("() => document.querySelector('#auth-state').textContent === 'signed in'")
    page.click("#signout")
    assert page.evaluate("sessionStorage.getItem('skysift-token')") is None
    assert page.locator("#label-submit").is_disabled()
    with httpx.Client(base_url=live_server, timeout=30) as http:
        assert http.get(f"/objects/{ids[0]}/labels").json()["labels"][0]["author"] == "ana"
        assert http.get(f"/objects/{ids[1]}/labels").json()["labels"] == []
    assert not errors, errors


def test_cutouts_and_cross_matches_from_real_alerts_and_screenshots(live_server, browser_page, artifacts,
                                                                    tiny_lcset):
    page, errors = browser_page
    files = _alert_files()
    _post(live_server, tiny_lcset, sorted(tiny_lcset.object_ids)[:30])
    with httpx.Client(base_url=live_server, timeout=60, headers=AUTH) as http:
        for f in files:
            r = http.post("/alerts", content=f.read_bytes(), headers={"content-type": "application/avro"})
            assert r.status_code == 200, r.text
        ov = http.get("/objects/ZTF17aaacxxf/overview").json()
        assert http.post("/objects/ZTF17aaacxxf/labels", json={"label": "VS", "author": "ana"}).status_code == 201
    assert [c["kind"] for c in ov["cutouts"]] == ["science", "template", "difference"]

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_server}/#/object/ZTF17aaacxxf")
    page.wait_for_function("() => [...document.querySelectorAll('#cutouts img')].length === 3 && "
                           "[...document.querySelectorAll('#cutouts img')].every(i => i.complete && i.naturalWidth > 0)")
    sizes = page.locator("#cutouts img").evaluate_all("is => is.map(i => [i.dataset.kind, i.naturalWidth, i.naturalHeight])")
    assert sizes == [["science", 63, 63], ["template", 63, 63], ["difference", 63, 63]]
    assert "739260766315010006" in page.inner_text("#cutouts-meta")
    # cross-matches beyond l, b and galaxy distance: Pan-STARRS1, ZTF reference source, Gaia, real/bogus
    dist = next(v for v in ov["crossmatch"]["values"] if v["name"] == "distpsnr1")
    assert f"{dist['value']:.2f}" in page.inner_text('#obj-crossmatch [data-name="distpsnr1"]')
    names = page.locator("#obj-crossmatch [data-name]").evaluate_all("rs => rs.map(r => r.dataset.name)")
    assert {"sgscore1", "distnr", "neargaia", "rb"} <= set(names)
    page.wait_for_selector("svg#lightcurve circle.point")
    page.screenshot(path=str(artifacts / "object-1400.png"), full_page=True)
    page.set_viewport_size({"width": 900, "height": 1000})
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "object-900.png"), full_page=True)
    # nothing is cut off at 900 px: the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # an object without packets says where cutouts come from
    other = sorted(tiny_lcset.object_ids)[0]
    page.goto(f"{live_server}/#/object/{other}")
    page.wait_for_function("() => document.querySelector('#cutouts').textContent.includes('No cutouts')")
    assert page.locator("#cutouts img").count() == 0

    # the list: magnitude, position and last detection of each object
    page.goto(f"{live_server}/#/?limit=100")
    row = page.locator('tr[data-object-id="ZTF17aaacxxf"]')
    row.wait_for()
    text = row.inner_text()
    with httpx.Client(base_url=live_server, timeout=30) as http:
        obj = http.get("/objects", params={"label": "VS"}).json()["objects"][0]
    assert obj["object_id"] == "ZTF17aaacxxf"
    assert f"{obj['last_mag']:.2f}" in text and obj["last_band"] in text
    assert f"{obj['ra']:.5f}" in text and f"{abs(obj['dec']):.5f}" in text
    assert f"{obj['last_mjd']:.3f}" in text and "2019-01-10" in text
    page.screenshot(path=str(artifacts / "list-900.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "list-1400.png"), full_page=True)
    assert not errors, errors


def test_filters_are_kept_in_the_url_and_exported_as_csv(live_server, browser_page, tiny_lcset):
    page, errors = browser_page
    ids = list(tiny_lcset.object_ids)
    _post(live_server, tiny_lcset, ids)
    with httpx.Client(base_url=live_server, timeout=30, headers=AUTH) as http:
        every = http.get("/objects", params={"limit": 1000}).json()["objects"]
        for oid in sorted(ids)[:3]:
            assert http.post(f"/objects/{oid}/labels", json={"label": "SN Ia"}).status_code == 201

    mags = sorted(o["last_mag"] for o in every)
    lo, hi = mags[10], mags[40]
    page.goto(f"{live_server}/#/?limit=100")
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=len(ids))
    page.fill("#f-magmin", f"{lo}")
    page.fill("#f-magmax", f"{hi}")
    want = sorted(o["object_id"] for o in every if lo <= o["last_mag"] <= hi)
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=len(want))
    shown = page.locator("#objects-body tr").evaluate_all("rs => rs.map(r => r.dataset.objectId)")
    assert sorted(shown) == want
    assert f"mag_min={lo}" in page.url and f"mag_max={hi}" in page.url

    # date range of the last detection, on top of the magnitudes
    mjds = sorted(o["last_mjd"] for o in every if lo <= o["last_mag"] <= hi)
    cut = mjds[len(mjds) // 2]
    page.fill("#f-mjdmin", f"{cut}")
    want2 = sorted(o["object_id"] for o in every if lo <= o["last_mag"] <= hi and o["last_mjd"] >= cut)
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=len(want2))
    assert "UTC" in page.inner_text("#mjd-dates")

    # reloading the URL restores every filter
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=len(want2))
    assert page.input_value("#f-magmin") == f"{lo}" and page.input_value("#f-mjdmin") == f"{cut}"

    # the CSV export: the same objects as the view, in its order
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert sorted(r["object_id"] for r in rows) == want2
    assert all(lo <= float(r["last_mag"]) <= hi for r in rows)
    page.wait_for_function("() => document.querySelector('#export-status').textContent.includes('exported')")

    # a sky cone around one object (an incomplete cone is explained, not sent)
    page.click("#clear-filters")
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=len(ids))
    target = every[0]
    page.fill("#f-ra", f"{target['ra']}")
    page.wait_for_function("() => document.querySelector('#cone-hint').textContent.includes('RA, Dec and radius')")
    page.fill("#f-dec", f"{target['dec']}")
    page.fill("#f-radius", "1")
    page.wait_for_function("id => { const rs = document.querySelectorAll('#objects-body tr');"
                           " return rs.length === 1 && rs[0].dataset.objectId === id; }", arg=target["object_id"])
    assert "radius=1" in page.url and page.inner_text("#cone-hint") == ""

    # the human-label filter lists the labels in use
    page.click("#clear-filters")
    page.wait_for_function("() => [...document.querySelectorAll('#f-label option')].some(o => o.value === '=SN Ia')")
    page.select_option("#f-label", "=SN Ia")
    page.wait_for_function("() => document.querySelectorAll('#objects-body tr').length === 3")
    assert "label=SN+Ia" in page.url or "label=SN%20Ia" in page.url
    page.select_option("#f-label", ":none")
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=len(ids) - 3)
    assert "labelled=0" in page.url
    assert not errors, errors


@pytest.fixture
def locked_server(tiny_model_path, tmp_path):
    """The service with --read-token-required: every read needs the token, the page too."""
    uvicorn = pytest.importorskip("uvicorn", reason="the browser test needs uvicorn")
    from skysift.stream.security import SecurityConfig
    from skysift.stream.service import create_app
    from tests.stream.test_browser import serve_in_thread

    app = create_app(tiny_model_path, str(tmp_path / "locked.sqlite"), security=SecurityConfig(read_token_required=True))
    yield from serve_in_thread(uvicorn, app)


def test_a_service_that_needs_the_token_to_read_is_usable_after_signing_in(locked_server, browser_page):
    import numpy as np

    from tests.stream.test_cutouts import fits_stamp
    from tests.stream.test_observer_views import _alert_with_stamps

    page, errors = browser_page
    alert = _alert_with_stamps("ZTF20aaaaaac", 59010.0, fits_stamp(np.arange(400.0).reshape(20, 20)), 21)
    with httpx.Client(base_url=locked_server, timeout=60, headers=AUTH) as http:
        assert http.post("/alerts", content=alert, headers={"content-type": "application/avro"}).status_code == 200
    page.goto(f"{locked_server}/")
    page.wait_for_selector("#error:not([hidden])")
    assert "Sign in" in page.inner_text("#error")
    errors.clear()  # the refused reads before signing in (401) are logged by the browser: expected
    _sign_in(page)
    page.wait_for_selector('tr[data-object-id="ZTF20aaaaaac"]')
    assert page.locator("#error").is_hidden()
    # the cutouts need the token too: the page fetches them with it (blob: images)
    page.click('tr[data-object-id="ZTF20aaaaaac"] a')
    page.wait_for_function("() => [...document.querySelectorAll('#cutouts img')].length === 3 && "
                           "[...document.querySelectorAll('#cutouts img')].every(i => i.src.startsWith('blob:') "
                           "&& i.complete && i.naturalWidth === 20)")
    assert all("401" in e for e in errors), errors  # only the first, token-less tries of the images
