"""GET /v1/swaps: a caller's own jobs, newest first, in pages with cursors that cannot be forged or moved."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.e2e.conftest import E2E, Caller


def pages(caller: Caller, **params: Any) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = caller.request("GET", "/v1/swaps", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        found.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


@pytest.fixture(scope="module")
def listers(e2e: E2E) -> dict[str, Any]:
    """45 jobs over two callers of their own: 31 for ann (one finished, three deleted), 14 for ben."""
    ann = Caller(e2e.stack.api_url, e2e.stack.auth.mint("lister-ann"))
    ben = Caller(e2e.stack.api_url, e2e.stack.auth.mint("lister-ben"))
    created: dict[str, list[str]] = {"ann": [], "ben": []}
    finished = e2e.submit_via_api(ann)
    created["ann"].append(finished)
    for index in range(44):
        who, caller = ("ann", ann) if index % 3 != 2 else ("ben", ben)
        created[who].append(caller.create(client_reference=f"{who}-{index}")["job_id"])
    e2e.terminal_event(finished)
    deleted = created["ann"][1:4]
    for job_id in deleted:
        assert ann.request("DELETE", f"/v1/swaps/{job_id}").status_code == 200
    return {"ann": ann, "ben": ben, "created": created, "deleted": deleted, "finished": finished}


def test_lists_only_own_jobs_newest_first_without_deleted_ones(listers):
    created, deleted = listers["created"], listers["deleted"]
    assert len(created["ann"]) + len(created["ben"]) == 45
    ann_pages = pages(listers["ann"])
    assert [len(page) for page in ann_pages] == [20, 8]  # default limit 20; 31 jobs - 3 deleted
    items = [item for page in ann_pages for item in page]
    ids = [item["job_id"] for item in items]
    assert ids == [job_id for job_id in reversed(created["ann"]) if job_id not in deleted]
    assert [item["created_at"] for item in items] == sorted((item["created_at"] for item in items), reverse=True)
    ben_ids = [item["job_id"] for page in pages(listers["ben"], limit=4) for item in page]
    assert ben_ids == list(reversed(created["ben"]))
    assert not set(ben_ids) & set(ids)


def test_items_are_full_job_views(listers):
    (finished,) = [
        item for page in pages(listers["ann"], status="succeeded") for item in page
    ]  # the status filter, with the presigned result URL as in GET /v1/swaps/{id}
    assert finished["job_id"] == listers["finished"] and finished["result"]["url"].startswith("http")
    single = listers["ann"].request("GET", f"/v1/swaps/{finished['job_id']}").json()
    assert {k: v for k, v in finished.items() if k != "result"} == {k: v for k, v in single.items() if k != "result"}


@pytest.mark.parametrize(("limit", "sizes"), [(1, [1] * 28), (10, [10, 10, 8]), (100, [28])])
def test_limits(listers, limit, sizes):
    assert [len(page) for page in pages(listers["ann"], limit=limit)] == sizes


def test_status_filter(listers):
    waiting = [item for page in pages(listers["ann"], status="awaiting_upload", limit=7) for item in page]
    assert len(waiting) == 27 and {item["status"] for item in waiting} == {"awaiting_upload"}
    assert pages(listers["ann"], status="failed") == [[]]


def test_tampered_or_foreign_cursors_are_refused(listers):
    ann, ben = listers["ann"], listers["ben"]
    cursor = ann.request("GET", "/v1/swaps", params={"limit": 5}).json()["next_cursor"]
    version, payload, mac = cursor.split(".")
    forged_payload = (
        base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b'"j":"', b'"j":"0'))
        .decode()
        .rstrip("=")
    )
    for bad in (
        f"{version}.{forged_payload}.{mac}",  # the key changed, the MAC kept
        f"{version}.{payload}.{mac[:-2]}AA",  # the MAC changed
        cursor[:-1],
        "v2." + cursor[3:],
        "garbage",
        "a.b.c",
    ):
        response = ann.request("GET", "/v1/swaps", params={"limit": 5, "cursor": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "INVALID_CURSOR"
    # Another caller, or the same caller with another filter, cannot use it either.
    assert ben.request("GET", "/v1/swaps", params={"cursor": cursor}).json()["error"]["code"] == "INVALID_CURSOR"
    response = ann.request("GET", "/v1/swaps", params={"cursor": cursor, "status": "awaiting_upload"})
    assert response.status_code == 400
    assert ann.request("GET", "/v1/swaps", params={"limit": 5, "cursor": cursor}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "-1"}, {"status": "deleted"}, {"sort": "asc"}],
)
def test_bad_parameters(listers, params):
    response = listers["ann"].request("GET", "/v1/swaps", params=params)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_listing_needs_credentials(e2e: E2E):
    import requests

    assert requests.get(f"{e2e.stack.api_url}/v1/swaps", timeout=10).status_code == 401
