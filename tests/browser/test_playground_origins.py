"""The playground as plain static files on a second origin, against the API on another port (cross-origin, as a
page on a CDN against a deployed stack): pasted API URL and token, CORS on the API and on the bucket."""

from __future__ import annotations

from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from tests.browser.helpers import BrowserPage, Served, StaticSite

SWAP_TIMEOUT_MS = 120_000


def paste_connection(page: Page, api_url: str, token: str) -> None:
    expect(page.locator("#connection")).to_be_visible()
    expect(page.locator("#page-origin")).to_have_text(page.evaluate("location.origin"))
    page.get_by_label("API URL").fill(api_url)
    page.get_by_label("Token (JWT)").fill(token)
    page.get_by_role("button", name="Connect").click()


def test_a_static_copy_on_another_origin_swaps_through_cors(
    tab: BrowserPage, served: Served, static_site: StaticSite, sample_photos: dict[str, Path]
) -> None:
    page = tab.page
    page.goto(static_site.url + "/")
    expect(page.locator("#connection-summary")).to_have_text("Not signed in: paste an API URL and a token.")
    paste_connection(page, served.api_url + "/v1/", served.token)
    expect(page.locator("#connection-summary")).to_have_text(f"Signed in to {served.api_url} (pasted token).")
    expect(page.locator("#connection-error")).to_have_text("")

    page.get_by_label("Target photo").set_input_files(sample_photos["astronaut"])
    page.get_by_label("Template photo").set_input_files(sample_photos["grace_hopper"])
    page.locator("#swap-button").click()
    expect(page.locator("#result")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    expect(page.locator("#result-sha-check")).to_have_text("✓ matches the job")
    job_id = page.locator("#job-id").inner_text()
    # Every call crossed origins: the API's, the bucket's upload forms and the result's presigned GET.
    api_origin, aws_origin = served.api_url, served.outputs["AwsEndpointUrl"]
    assert f"POST {api_origin}/v1/swaps" in tab.requests
    assert f"POST {api_origin}/v1/swaps/{job_id}/start" in tab.requests
    assert sum(r == f"POST {aws_origin}/{served.outputs['BucketName']}" for r in tab.requests) == 2
    assert any(
        r.startswith(f"GET {aws_origin}/{served.outputs['BucketName']}/results/{job_id}.png?") for r in tab.requests
    )
    assert all(not r.split(" ", 1)[1].startswith(static_site.url + "/v1") for r in tab.requests)

    # The pasted URL is remembered for this browser; the token only for this tab's session.
    page.reload()
    expect(page.locator("#connection-summary")).to_have_text(f"Signed in to {served.api_url} (pasted token).")


def test_a_wrong_token_gets_a_clear_message(tab: BrowserPage, served: Served, static_site: StaticSite) -> None:
    page = tab.page
    page.goto(static_site.url + "/")
    paste_connection(page, served.api_url, served.token[:-4] + "AAAA")
    expect(page.locator("#connection-error")).to_have_text(
        f"The API at {served.api_url} did not accept the token (401 Unauthorized); "
        "paste a current token and connect again."
    )
    expect(page.locator("#connection-summary")).to_have_text("Not signed in.")
    expect(page.locator("#swap-button")).to_be_disabled()
    assert requests.get(served.api_url + "/v1/swaps/" + "0" * 32, timeout=10).status_code == 401


def test_an_origin_missing_from_the_cors_origins_is_named(
    tab: BrowserPage, served: Served, foreign_site: StaticSite
) -> None:
    page = tab.page
    page.goto(foreign_site.url + "/")
    paste_connection(page, served.api_url, served.token)
    expect(page.locator("#connection-error")).to_have_text(
        f"Could not reach the API at {served.api_url}. Check that it is running and that this page's address "
        f"({foreign_site.url}) is in the stack's CorsAllowedOrigins."
    )
    # The API answers preflights itself (no route takes OPTIONS), with CORS headers for listed origins only.
    for origin, allowed in ((served.api_url, True), (foreign_site.url, False)):
        preflight = requests.options(
            served.api_url + "/v1/swaps/" + "0" * 32,
            headers={"Origin": origin, "Access-Control-Request-Method": "DELETE",
                     "Access-Control-Request-Headers": "authorization"},
            timeout=10,
        )  # fmt: skip
        assert preflight.status_code == 204
        assert preflight.headers.get("access-control-allow-origin") == (origin if allowed else None), preflight.headers
        assert ("DELETE" in preflight.headers.get("access-control-allow-methods", "")) is allowed


def test_the_local_bucket_answers_cors_only_for_listed_origins(
    served: Served, static_site: StaticSite, foreign_site: StaticSite
) -> None:
    bucket_url = f"{served.outputs['AwsEndpointUrl']}/{served.outputs['BucketName']}"
    for origin, allowed in ((static_site.url, True), (served.api_url, True), (foreign_site.url, False)):
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        preflight = requests.options(bucket_url, headers=headers, timeout=10)
        assert (preflight.headers.get("Access-Control-Allow-Origin") == origin) is allowed, preflight.headers
