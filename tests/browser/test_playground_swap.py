"""The playground served by `make serve`: signed in by itself, two photos in, a swapped result out (bytes equal to
the archived object), deleted again; a faceless template fails with a sentence a person understands."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from tests.browser.helpers import BrowserPage, Served

SWAP_TIMEOUT_MS = 120_000
TIMES = "\u00d7"  # the multiplication sign the page writes between width and height


def api_get(served: Served, path: str) -> requests.Response:
    return requests.get(served.api_url + path, headers={"Authorization": f"Bearer {served.token}"}, timeout=30)


def open_served_page(page: Page, served: Served) -> None:
    printed = [line.split()[1] for line in served.lines if line.strip().startswith("Playground ")]
    assert printed == [served.api_url + "/"], "serve prints the page's address"
    page.goto(printed[0])
    expect(page.locator("#connection-summary")).to_have_text(f"Signed in to {served.api_url} (local token).")
    expect(page.locator("#connection")).to_be_hidden()


def choose(page: Page, target: Path, template: Path) -> None:
    page.get_by_label("Target photo").set_input_files(target)
    page.get_by_label("Template photo").set_input_files(template)
    expect(page.locator("#target-preview")).to_be_visible()
    expect(page.locator("#template-preview")).to_be_visible()


def swap_to_result(page: Page) -> str:
    page.locator("#swap-button").click()
    expect(page.locator("#result")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    return page.locator("#job-id").inner_text()


def test_happy_path_to_a_downloaded_result_equal_to_the_archived_object(
    tab: BrowserPage, served: Served, sample_photos: dict[str, Path], tmp_path: Path
) -> None:
    page = tab.page
    open_served_page(page, served)
    choose(page, sample_photos["astronaut"], sample_photos["grace_hopper"])
    kib = sample_photos["astronaut"].stat().st_size / 1024
    expect(page.locator("#target-info")).to_have_text(f"astronaut.png: PNG, 512 {TIMES} 512 px, {kib:.1f} KiB")
    expect(page.locator("#template-info")).to_contain_text(f"grace_hopper.jpg: JPEG, 512 {TIMES} 600 px")

    # Keyboard only: from the template picker, Tab reaches the swap button and Enter starts the swap.
    page.get_by_label("Template photo").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#swap-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    job_id = page.locator("#job-id").inner_text()

    job = api_get(served, f"/v1/swaps/{job_id}").json()
    assert job["status"] == "succeeded" and job["client_reference"] == "playground"
    expect(page.locator("#job-status")).to_have_text("succeeded")
    steps = page.locator("#steps").inner_text()
    for expected in ("Job created in", "Uploaded the target photo", "Uploaded the template photo", "Started",
                     "Queued after", "Sent to the face-swap provider after", "Finished after"):  # fmt: skip
        assert expected in steps, steps
    expect(page.locator("#poll-line")).to_contain_text("the service has polled the provider")
    expect(page.locator("#result-sha")).to_have_text(job["result"]["sha256"])
    expect(page.locator("#result-sha-check")).to_have_text("✓ matches the job")
    expect(page.locator("#result-size")).to_contain_text(f"({job['result']['size']} bytes), image/png")
    expect(page.locator("#result-timings")).to_contain_text(f"{job['polls']} provider poll")
    expect(page.locator("#provenance")).to_have_count(1)
    if "provenance" not in job:
        expect(page.locator("#provenance")).to_be_hidden()

    # The before/after slider moves with the keyboard.
    slider = page.get_by_label("Before / after")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    assert slider.input_value() == "45"
    assert page.locator("#compare").evaluate("node => node.style.getPropertyValue('--split')") == "45%"
    expect(page.locator("#before-image")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == f"faceswap-{job_id}.png"
    downloaded = Path(download.path()).read_bytes()
    archived_keys = served.keys(f"results/{job_id}")
    assert archived_keys == [f"results/{job_id}.png"]
    assert downloaded == served.object_bytes(archived_keys[0])
    assert hashlib.sha256(downloaded).hexdigest() == job["result"]["sha256"]
    assert downloaded != sample_photos["astronaut"].read_bytes()

    # The recent-jobs section follows the server: shown with this job when the listing exists, hidden otherwise.
    listing = api_get(served, "/v1/swaps?limit=10")
    if listing.status_code == 200:
        expect(page.locator(f'#recent-list button[data-job-id="{job_id}"]')).to_be_visible()
    else:
        assert listing.status_code in (404, 405)
        expect(page.locator("#recent")).to_be_hidden()

    screenshot = tmp_path / "playground.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("PLAYGROUND_SCREENSHOT"):  # docs/images/playground.png is made this way
        from PIL import Image

        # 256 colours keep the picture in the repository small; the page's text and photos stay readable.
        Image.open(screenshot).convert("RGB").quantize(256).save(os.environ["PLAYGROUND_SCREENSHOT"], optimize=True)


def test_delete_removes_the_job_and_its_objects(
    tab: BrowserPage, served: Served, sample_photos: dict[str, Path]
) -> None:
    page = tab.page
    open_served_page(page, served)
    choose(page, sample_photos["grace_hopper"], sample_photos["astronaut"])
    job_id = swap_to_result(page)
    assert served.keys(f"uploads/{job_id}/") and served.keys(f"results/{job_id}")

    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#notice")).to_have_text(
        f"Deleted job {job_id}: its photos and its result are gone from storage."
    )
    expect(page.locator("#result")).to_be_hidden()
    gone = api_get(served, f"/v1/swaps/{job_id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "JOB_NOT_FOUND"
    assert served.keys(f"uploads/{job_id}/") == [] and served.keys(f"results/{job_id}") == []


def test_a_photo_without_a_face_fails_with_its_message(
    tab: BrowserPage, served: Served, sample_photos: dict[str, Path], faceless_photo: Path
) -> None:
    page = tab.page
    open_served_page(page, served)
    choose(page, sample_photos["astronaut"], faceless_photo)
    page.locator("#swap-button").click()
    expect(page.locator("#failure")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    job_id = page.locator("#job-id").inner_text()
    job = api_get(served, f"/v1/swaps/{job_id}").json()
    assert job["status"] == "failed" and job["error"]["code"] == "FACE_NOT_FOUND"
    expect(page.locator("#failure-sentence")).to_have_text("No face was found in the template photo.")
    expect(page.locator("#failure-code")).to_have_text("FACE_NOT_FOUND")
    expect(page.locator("#failure-message")).to_have_text(job["error"]["message"])
    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator("#result")).to_be_hidden()

    page.get_by_role("button", name="Delete this job").click()
    expect(page.locator("#notice")).to_contain_text(f"Deleted job {job_id}")
    assert api_get(served, f"/v1/swaps/{job_id}").status_code == 404
