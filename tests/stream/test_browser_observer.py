"""The observer's page in headless Chromium (Playwright): object page with links out, context,
upper limits, probabilities per observation, model version and human labels; the list's
pagination, filters and sort kept in the URL; an unknown class refused.

Same launch pattern as ``test_browser.py`` (Debian's chromium, never Playwright's download).
"""

from __future__ import annotations

import httpx
import pytest

from tests.stream.conftest import AUTH, TEST_TOKEN, lcset_records
from tests.stream.test_browser import browser_page, live_server  # noqa: F401 - fixtures
from tests.stream.test_observer import ztf_alert_bytes

pytestmark = pytest.mark.slow


def _post_objects(base: str, lcset, ids) -> None:
    recs = [r for r in lcset_records(lcset) if r.object_id in set(ids)]
    payload = [{k: v for k, v in r._asdict().items() if v is not None} for r in recs]
    with httpx.Client(base_url=base, timeout=60, headers=AUTH) as http:
        assert http.post("/detections", json=payload).status_code == 200


def test_object_page_shows_links_context_limits_probabilities_model_and_takes_a_label(live_server, browser_page):
    page, errors = browser_page
    with httpx.Client(base_url=live_server, timeout=30, headers=AUTH) as http:
        r = http.post("/alerts", content=ztf_alert_bytes(), headers={"content-type": "application/avro"})
        assert r.status_code == 200, r.text
        ov = http.get("/objects/ZTF21abcdefg/overview").json()

    page.goto(live_server + "/#/object/ZTF21abcdefg")
    # the observer pastes the token into the page, which sends it with a label (the page reads without one)
    page.click("#signin-open")
    page.fill("#token-input", TEST_TOKEN)
    page.click("#signin-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#auth-state').textContent === 'signed in'")
    page.wait_for_selector("#obj-links a")
    names = page.locator("#obj-links a").evaluate_all("as => as.map(a => a.dataset.name)")
    assert names == [x["name"] for x in ov["links"]]
    hrefs = page.locator("#obj-links a").evaluate_all("as => as.map(a => a.href)")
    assert hrefs == [x["url"] for x in ov["links"]]
    assert any("alerce.online/object/ZTF21abcdefg" in u for u in hrefs)

    # the context values the model used, with units
    rows = page.locator("#obj-context tr")
    assert rows.count() == len(ov["context"])
    gal_b = next(c for c in ov["context"] if c["name"] == "gal_b")
    assert f"{gal_b['value']:.3f}" in page.locator('#obj-context tr[data-name="gal_b"]').inner_text()

    # non-detections drawn as upper limits; probabilities at each observation under the light curve
    page.wait_for_selector("svg#lightcurve path.ulim")
    assert page.locator("svg#lightcurve path.ulim").count() == len(ov["upper_limits"]) == 2
    assert page.locator("svg#lightcurve circle.point").count() == 3
    assert page.locator("svg#probstrip g.pstack").count() == 3
    last = page.locator("svg#probstrip g.pstack").last.locator("rect")
    got = {c: float(p) for c, p in last.evaluate_all("rs => rs.map(r => [r.dataset.class, r.dataset.p])")}
    assert got == pytest.approx(ov["probabilities_per_detection"][-1], abs=1e-9)
    assert ov["model"]["tag"] in page.inner_text("#obj-model")
    assert "No human label" in page.inner_text("#human-label")

    # an observer sets a label: shown as human, beside (not instead of) the model's class
    page.fill("#label-input", "SN Ia")
    page.fill("#label-author", "ana")
    page.click("#label-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#human-label').textContent.includes('SN Ia')")
    assert "ana" in page.inner_text("#human-label")
    assert ov["machine"]["top_class"] in page.inner_text("#machine-class")
    with httpx.Client(base_url=live_server, timeout=30, headers=AUTH) as http:
        labels = http.get("/objects/ZTF21abcdefg/labels").json()["labels"]
    assert labels[0]["label"] == "SN Ia" and labels[0]["author"] == "ana"
    page.reload()
    page.wait_for_function("() => document.querySelector('#human-label').textContent.includes('SN Ia')")
    assert page.inner_text("#label-status") == ""  # a status is not carried over a reload either
    assert not errors, errors


def test_list_pages_and_keeps_filters_and_sort_in_the_url(live_server, browser_page, tiny_lcset):
    page, errors = browser_page
    ids = list(tiny_lcset.object_ids)  # 60 objects
    _post_objects(live_server, tiny_lcset, ids)

    page.goto(live_server + "/#/?limit=25&sort=object_id&order=asc")
    page.wait_for_function("() => document.querySelectorAll('#objects-body tr').length === 25")
    first = page.locator("#objects-body tr").first.get_attribute("data-object-id")
    assert first == sorted(ids)[0]
    assert "of 60" in page.inner_text("#page-info")
    page.click("#page-next")
    page.wait_for_function("id => document.querySelector('#objects-body tr').dataset.objectId === id",
                           arg=sorted(ids)[25])
    assert "page=2" in page.url and "limit=25" in page.url and "sort=object_id" in page.url
    page.click("#page-next")
    page.wait_for_function("() => document.querySelectorAll('#objects-body tr').length === 10")
    assert page.locator("#page-next").is_disabled()

    # a filter resets to page 1 and is written into the URL; reloading restores the same view
    with httpx.Client(base_url=live_server, timeout=30, headers=AUTH) as http:
        classes = http.get("/health").json()["model"]["classes"]
        n_top = {c: http.get("/objects", params={"cls": c, "limit": 1}).json()["total"] for c in classes}
    cls = max(n_top, key=n_top.get)
    page.select_option("#f-class", cls)
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=min(25, n_top[cls]))
    assert f"cls={cls}" in page.url and "page=" not in page.url
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_function("n => document.querySelectorAll('#objects-body tr').length === n", arg=min(25, n_top[cls]))
    assert page.eval_on_selector("#f-class", "s => s.value") == cls
    assert page.eval_on_selector("#f-limit", "s => s.value") == "25"

    # sorting by clicking a header goes into the URL too
    page.click(f'th[data-sort="prob_{classes[0]}"]')
    page.wait_for_function("c => location.hash.includes('sort=prob_' + c)", arg=classes[0])
    assert not errors, errors


def test_unknown_class_in_the_url_is_refused_with_a_message(live_server, browser_page, tiny_lcset):
    page, errors = browser_page
    _post_objects(live_server, tiny_lcset, tiny_lcset.object_ids[:3])
    with httpx.Client(base_url=live_server, timeout=30, headers=AUTH) as http:
        assert http.get("/objects", params={"cls": "FOO"}).status_code == 422
    page.goto(live_server + "/#/?cls=FOO")
    page.wait_for_selector("#error:not([hidden])")
    assert "unknown class 'FOO'" in page.inner_text("#error")
    assert page.locator("#objects-body tr").count() == 0
