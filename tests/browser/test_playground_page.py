"""The page itself: photos refused before any upload with one plain sentence each, the recent-jobs list (from the
listing endpoint when the API has one), provenance when the job reports it, every job error code explained, and a
page that is small, offline and fits a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.helpers import PLAYGROUND, REPO, BrowserPage, Served

TIMES = "\u00d7"  # the multiplication sign the page writes between width and height
PAGE_BUDGET_BYTES = 150 * 1024


def open_served_page(page: Page, served: Served) -> None:
    page.goto(served.api_url + "/")
    expect(page.locator("#connection-summary")).to_have_text(f"Signed in to {served.api_url} (local token).")


def drop_file(page: Page, role: str, name: str, data: bytes, mime: str) -> None:
    """Drop a file on a drop zone the way a browser does: a drop event carrying a DataTransfer with the file."""
    transfer = page.evaluate_handle(
        """([name, bytes, mime]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: mime }));
            return transfer;
        }""",
        [name, list(data), mime],
    )
    page.dispatch_event(f'.drop[data-role="{role}"]', "drop", {"dataTransfer": transfer})


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("refused")
    noise = np.random.default_rng(7).integers(0, 256, size=(1400, 1400, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "huge.png")  # noise does not compress: about 5.6 MiB
    Image.new("RGB", (48, 300), "white").save(folder / "thin.png")
    (folder / "notes.jpg").write_text("shopping list: eggs, milk\n")
    return {name: folder / f"{name}.{'jpg' if name == 'notes' else 'png'}" for name in ("huge", "thin", "notes")}


def test_photos_are_refused_before_upload_with_one_sentence(
    tab: BrowserPage, served: Served, photos: dict[str, Path], sample_photos: dict[str, Path]
) -> None:
    page = tab.page
    open_served_page(page, served)
    target, template = page.get_by_label("Target photo"), page.get_by_label("Template photo")

    drop_file(page, "target", "notes.jpg", photos["notes"].read_bytes(), "image/jpeg")
    expect(page.locator("#target-error")).to_have_text(
        "The target photo (notes.jpg) is not a JPEG or PNG image: it looks like a text file."
    )
    template.set_input_files(photos["huge"])
    size = photos["huge"].stat().st_size
    assert size > 5 * 1024 * 1024
    expect(page.locator("#template-error")).to_have_text(
        f"The template photo (huge.png) is {size / 1024 / 1024:.2f} MiB, more than the 5 MiB a photo can have."
    )
    expect(page.locator("#swap-button")).to_be_disabled()

    target.set_input_files(photos["thin"])
    expect(page.locator("#target-error")).to_have_text(
        f"The target photo (thin.png) is 48 {TIMES} 300 pixels; each side must be at least 64."
    )
    # A good photo clears the refusal; the swap waits for the other one to be good too.
    target.set_input_files(sample_photos["astronaut"])
    expect(page.locator("#target-error")).to_have_text("")
    expect(page.locator("#target-preview")).to_be_visible()
    expect(page.locator("#template-preview")).to_be_hidden()
    expect(page.locator("#swap-button")).to_be_disabled()
    # A dropped good photo is taken like a picked one.
    drop_file(page, "template", "grace.jpg", sample_photos["grace_hopper"].read_bytes(), "image/jpeg")
    expect(page.locator("#template-info")).to_contain_text(f"grace.jpg: JPEG, 512 {TIMES} 600 px")
    expect(page.locator("#swap-button")).to_be_enabled()
    assert not [r for r in tab.requests if r.startswith("POST ")], "nothing may be sent for refused photos"


def _succeeded_job(served: Served, sample_photos: dict[str, Path]) -> dict:
    from faceswap_client import Client

    with Client(served.api_url, served.token) as client:
        job = client.swap(sample_photos["grace_hopper"], sample_photos["astronaut"], timeout=120, poll_interval=0.2)
    response = requests.get(
        f"{served.api_url}/v1/swaps/{job.job_id}", headers={"Authorization": f"Bearer {served.token}"}, timeout=30
    )
    return response.json()


def test_recent_jobs_from_the_listing_open_with_their_provenance(
    tab: BrowserPage, served: Served, sample_photos: dict[str, Path]
) -> None:
    """The listing endpoint and provenance may not exist on this server yet: the test gives the page the documented
    shapes around a real job (the job itself, its result and its bytes stay the server's)."""
    job = _succeeded_job(served, sample_photos)
    provenance = {
        "c2pa": True,
        "xmp": True,
        "watermark": False,
        "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "watermark_payload": None,
    }

    def listing(route: Route) -> None:
        if route.request.method != "GET":
            route.fallback()
            return
        route.fulfill(json={"items": [job], "next_cursor": None})

    def job_with_provenance(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "provenance": provenance})

    page = tab.page
    page.route(re.compile(r".*/v1/swaps\?.*"), listing)
    page.route(f"**/v1/swaps/{job['job_id']}", job_with_provenance)
    open_served_page(page, served)
    item = page.get_by_role("button", name=f"Open job {job['job_id']}, succeeded")
    expect(item).to_be_visible()
    item.press("Enter")
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#result-sha-check")).to_have_text("✓ matches the job")
    expect(page.locator("#compare-note")).to_have_text("The before photo is only shown for swaps made in this tab.")
    expect(page.locator("#compare-slider")).to_be_hidden()
    expect(page.locator("#provenance")).to_have_text(
        "Labelled as AI-generated: C2PA content credentials, XMP metadata (no invisible watermark). "
        "Digital source type: http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia."
    )


@pytest.mark.parametrize("status", [404, 405])
def test_recent_jobs_stay_hidden_without_a_listing(tab: BrowserPage, served: Served, status: int) -> None:
    page = tab.page
    body = {"error": {"code": "METHOD_NOT_ALLOWED", "message": "GET is not allowed on /v1/swaps."}}
    answer = {404: {"message": "Not Found"}, 405: body}[status]
    page.route(re.compile(r".*/v1/swaps\?.*"), lambda route: route.fulfill(status=status, json=answer))
    open_served_page(page, served)
    page.wait_for_load_state("networkidle")
    expect(page.locator("#recent")).to_be_hidden()


def _documented_job_error_codes() -> set[str]:
    table = (REPO / "docs" / "architecture.md").read_text().split("Job error codes", 1)[1].split("\n## ", 1)[0]
    codes = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))
    spec = yaml.safe_load((REPO / "openapi.yaml").read_text())
    return codes | set(spec["components"]["schemas"]["JobErrorCode"]["enum"]) | {"PROVENANCE_FAILED"}


def test_every_job_error_code_has_a_plain_sentence(tab: BrowserPage, served: Served) -> None:
    page = tab.page
    open_served_page(page, served)
    codes = sorted(_documented_job_error_codes())
    assert "FACE_NOT_FOUND" in codes and len(codes) > 20
    sentences = page.evaluate(
        """async (codes) => {
            const messages = await import("./js/messages.js");
            return Object.fromEntries(codes.map((code) => [code, messages.jobErrorSentence({ code, message: "" })]));
        }""",
        codes,
    )
    unexplained = [code for code, sentence in sentences.items() if code in sentence or not sentence.endswith(".")]
    assert not unexplained, f"no plain sentence for {unexplained}"
    named = page.evaluate(
        """async () => (await import("./js/messages.js")).jobErrorSentence(
            { code: "FACE_NOT_FOUND", message: "no face was found in the template image" })"""
    )
    assert named == "No face was found in the template photo."


def test_the_page_is_small_offline_and_fits_a_phone(browser: Browser, served: Served) -> None:
    files = [path for path in PLAYGROUND.rglob("*") if path.is_file()]
    total = sum(path.stat().st_size for path in files)
    assert total < PAGE_BUDGET_BYTES, f"playground/ is {total} bytes"
    for path in files:
        text = path.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"{path} loads something from outside"
        assert "@import" not in text and "url(http" not in text, path

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(served.api_url + "/")
        expect(page.locator("#connection-summary")).to_contain_text("Signed in")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
        for label in ("Target photo", "Template photo"):
            box = page.get_by_label(label).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert all(url.startswith(served.api_url) for url in fetched), fetched
        page_bytes = sum(
            len(requests.get(url, timeout=10).content) for url in fetched if "/v1/" not in url and "/local/" not in url
        )
        assert page_bytes < PAGE_BUDGET_BYTES
        # Every control has a name a screen reader can announce.
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll("input, button, a")]
                .filter((el) => !el.labels?.length && !el.getAttribute("aria-label") && !el.textContent.trim())
                .map((el) => el.id || el.outerHTML)"""
        )
        assert not unnamed, unnamed
    finally:
        context.close()
