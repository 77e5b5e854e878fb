"""The local S3 checks browser-style presigned POST uploads as S3 does; every other way in keeps working."""

from __future__ import annotations

import html
from typing import Any

import pytest
import requests
from faceswap_local.aws import LocalCloud

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 200


def _form(cloud: LocalCloud, key: str = "uploads/job-1/target", **overrides: Any) -> dict[str, Any]:
    conditions = overrides.pop(
        "conditions",
        [{"key": key}, ["content-length-range", 10, 1000], {"Content-Type": "image/jpeg"}],
    )
    return cloud.client("s3").generate_presigned_post(
        cloud.resources["SwapBucket"],
        key,
        Fields={"Content-Type": "image/jpeg"},
        Conditions=conditions,
        ExpiresIn=overrides.pop("expires_in", 300),
    )


def _post(form: dict[str, Any], data: bytes = JPEG, **changes: str | None) -> requests.Response:
    fields = {**form["fields"], **changes}
    fields = {k: v for k, v in fields.items() if v is not None}
    return requests.post(form["url"], data=fields, files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=10)


def _error(response: requests.Response) -> tuple[str, str]:
    text = response.text
    return _tag(text, "Code"), _tag(text, "Message")


def _tag(text: str, name: str) -> str:
    start, end = text.find(f"<{name}>"), text.find(f"</{name}>")
    return html.unescape(text[start + len(name) + 2 : end]) if start >= 0 and end > start else ""


def _exists(cloud: LocalCloud, key: str) -> bool:
    listing = cloud.client("s3").list_objects_v2(Bucket=cloud.resources["SwapBucket"], Prefix=key)
    return any(item["Key"] == key for item in listing.get("Contents", []))


def test_a_valid_upload_is_stored(cloud: LocalCloud) -> None:
    response = _post(_form(cloud, "results/valid.jpg"))
    assert response.status_code == 204, response.text
    body = cloud.client("s3").get_object(Bucket=cloud.resources["SwapBucket"], Key="results/valid.jpg")
    assert body["Body"].read() == JPEG and body["ContentType"] == "image/jpeg"


def test_a_rewritten_key_is_refused_and_nothing_is_written(cloud: LocalCloud) -> None:
    response = _post(_form(cloud, "results/mine.jpg"), key="results/someone-elses.jpg")
    assert response.status_code == 403
    code, message = _error(response)
    assert code == "AccessDenied"
    assert message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "results/mine.jpg"]'
    assert not _exists(cloud, "results/someone-elses.jpg")


def test_starts_with_key_condition(cloud: LocalCloud) -> None:
    form = _form(cloud, "results/prefix/a.jpg", conditions=[["starts-with", "$key", "results/prefix/"]])
    assert _post(form, **{"Content-Type": None}).status_code == 204
    refused = _post(form, key="results/other/a.jpg", **{"Content-Type": None})
    assert refused.status_code == 403 and "starts-with" in _error(refused)[1]


@pytest.mark.parametrize(
    ("size", "code"), [(5000, "EntityTooLarge"), (3, "EntityTooSmall")], ids=["too-large", "too-small"]
)
def test_content_length_range(cloud: LocalCloud, size: int, code: str) -> None:
    response = _post(_form(cloud, f"results/size-{size}.jpg"), data=b"x" * size)
    assert response.status_code == 400 and _error(response)[0] == code
    assert not _exists(cloud, f"results/size-{size}.jpg")


def test_a_different_content_type_is_refused(cloud: LocalCloud) -> None:
    response = _post(_form(cloud, "results/typed.jpg"), **{"Content-Type": "text/html"})
    assert response.status_code == 403
    assert _error(response)[1].endswith('["eq", "$Content-Type", "image/jpeg"]')


def test_an_expired_policy_is_refused(cloud: LocalCloud) -> None:
    response = _post(_form(cloud, "results/late.jpg", expires_in=-5))
    assert response.status_code == 403
    assert _error(response) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_a_tampered_signature_or_policy_is_refused(cloud: LocalCloud) -> None:
    form = _form(cloud, "results/tampered.jpg")
    bad_signature = _post(form, **{"x-amz-signature": "0" * 64})
    other = _form(cloud, "results/other.jpg")
    swapped_policy = _post(form, policy=other["fields"]["policy"])
    for response in (bad_signature, swapped_policy):
        assert response.status_code == 403 and _error(response)[0] == "SignatureDoesNotMatch"


def test_an_unknown_access_key_is_refused(cloud: LocalCloud) -> None:
    form = _form(cloud, "results/key.jpg")
    credential = form["fields"]["x-amz-credential"].split("/", 1)[1]
    response = _post(form, **{"x-amz-credential": f"AKIAUNKNOWN/{credential}"})
    assert response.status_code == 403 and _error(response)[0] == "InvalidAccessKeyId"


def test_a_field_no_condition_covers_is_refused(cloud: LocalCloud) -> None:
    response = _post(_form(cloud, "results/extra.jpg"), acl="public-read")
    assert response.status_code == 403
    assert _error(response)[1] == "Invalid according to Policy: Extra input fields: acl"
    assert _post(_form(cloud, "results/ignored.jpg"), **{"x-ignore-note": "hi"}).status_code == 204


def test_malformed_posts_get_400_not_a_server_error(cloud: LocalCloud) -> None:
    url = _form(cloud)["url"]
    no_fields = requests.post(url, files={"file": ("a.jpg", JPEG)}, timeout=10)
    assert no_fields.status_code == 400 and _error(no_fields)[0] == "InvalidArgument"
    empty = requests.post(
        url, data=b"--x--\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}, timeout=10
    )
    assert empty.status_code == 400 and _error(empty)[0] == "MalformedPOSTRequest"
    form = _form(cloud, "results/nofile.jpg")
    no_file = requests.post(url, data=form["fields"], files={"other": ("a", b"1")}, timeout=10)
    assert no_file.status_code == 400 and _error(no_file)[0] == "InvalidArgument"


def test_signed_api_calls_and_presigned_urls_keep_working(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    bucket = cloud.resources["SwapBucket"]
    s3.put_object(Bucket=bucket, Key="results/api.jpg", Body=JPEG)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "results/api.jpg"}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == JPEG
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "results/put.jpg"})
    assert requests.put(put_url, data=JPEG, timeout=10).status_code == 200
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "results/put.jpg"}]})  # a signed POST ?delete


def test_the_bucket_answers_cors_preflights_for_the_configured_origins(cloud: LocalCloud) -> None:
    url = f"{cloud.endpoint_url}/{cloud.resources['SwapBucket']}"
    headers = {"Origin": "http://localhost:8000", "Access-Control-Request-Method": "POST"}
    response = requests.options(url, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "http://localhost:8000")
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
