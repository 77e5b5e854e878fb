"""The local S3 answers browsers by the bucket's CORS rules, as S3 does (moto's server alone lets every origin in)."""

from __future__ import annotations

import requests
from faceswap_local.aws import LocalCloud

ALLOWED = "http://allowed.test:8000"
FOREIGN = "http://foreign.test:8000"
JPEG = b"\xff\xd8\xff\xe0" + b"x" * 200


def _bucket(cloud: LocalCloud, name: str, cors: bool) -> str:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=name)
    if cors:
        rule = {"AllowedOrigins": [ALLOWED], "AllowedMethods": ["GET", "POST"], "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}  # fmt: skip
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})
    s3.put_object(Bucket=name, Key="photo.jpg", Body=JPEG)
    return name


def _preflight(cloud: LocalCloud, bucket: str, origin: str, method: str) -> requests.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "x-a"}
    return requests.options(f"{cloud.endpoint_url}/{bucket}", headers=headers, timeout=10)


def test_preflights_follow_the_rules(cloud: LocalCloud) -> None:
    bucket = _bucket(cloud, "cors-rules", cors=True)
    allowed = _preflight(cloud, bucket, ALLOWED, "POST")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert allowed.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert allowed.headers["Access-Control-Allow-Headers"] == "x-a"
    assert allowed.headers["Access-Control-Max-Age"] == "60"
    for origin, method in ((FOREIGN, "POST"), (ALLOWED, "PUT")):
        refused = _preflight(cloud, bucket, origin, method)
        assert refused.status_code == 403 and "AccessForbidden" in refused.text
        assert "Access-Control-Allow-Origin" not in refused.headers


def test_requests_get_cors_headers_only_for_an_allowed_origin_and_method(cloud: LocalCloud) -> None:
    bucket = _bucket(cloud, "cors-requests", cors=True)
    s3 = cloud.client("s3")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "photo.jpg"}, ExpiresIn=60)
    allowed = requests.get(url, headers={"Origin": ALLOWED}, timeout=10)
    assert allowed.content == JPEG and allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert allowed.headers["Access-Control-Expose-Headers"] == "ETag"
    foreign = requests.get(url, headers={"Origin": FOREIGN}, timeout=10)
    assert foreign.content == JPEG and "Access-Control-Allow-Origin" not in foreign.headers
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "put.jpg"}, ExpiresIn=60)
    put = requests.put(put_url, data=JPEG, headers={"Origin": ALLOWED}, timeout=10)
    assert put.status_code == 200 and "Access-Control-Allow-Origin" not in put.headers  # PUT is not in the rule

    form = s3.generate_presigned_post(bucket, "posted.jpg", Conditions=[["content-length-range", 1, 100]])
    files = {"file": ("photo.jpg", JPEG, "image/jpeg")}
    refused = requests.post(form["url"], data=form["fields"], files=files, headers={"Origin": ALLOWED}, timeout=10)
    # A refused upload is readable by the page too: S3 sends the CORS headers with its error.
    assert refused.status_code == 400 and "EntityTooLarge" in refused.text
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED
    form = s3.generate_presigned_post(bucket, "posted.jpg")
    stored = requests.post(form["url"], data=form["fields"], files=files, headers={"Origin": ALLOWED}, timeout=10)
    assert stored.status_code == 204 and stored.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_a_bucket_without_cors_rules_answers_no_browser(cloud: LocalCloud) -> None:
    bucket = _bucket(cloud, "cors-none", cors=False)
    assert _preflight(cloud, bucket, ALLOWED, "GET").status_code == 403
    s3 = cloud.client("s3")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "photo.jpg"}, ExpiresIn=60)
    response = requests.get(url, headers={"Origin": ALLOWED}, timeout=10)
    assert response.content == JPEG and "Access-Control-Allow-Origin" not in response.headers
    assert requests.get(url, timeout=10).content == JPEG  # no Origin: not a browser's CORS request
