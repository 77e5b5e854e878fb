"""The S3 adapter against moto: values S3 refuses are encoded or omitted, refusals are translated."""

from __future__ import annotations

import base64
import io

import pytest
from faceswap.adapters.storage import MAX_USER_METADATA_BYTES, Storage, s3_metadata
from faceswap.domain.errors import StorageRequestError

from tests.unit.conftest import BUCKET, image_bytes


def test_non_ascii_metadata_is_stored_rfc2047_encoded(fake_aws):
    task_id = "任务-1714743372764.fb8fd68b"
    Storage(BUCKET).put_file(
        "results/x.jpg",
        io.BytesIO(image_bytes()),
        content_type="image/jpeg",
        metadata={"job-id": "01J0", "provider-task-id": task_id},
    )
    metadata = fake_aws.s3.head_object(Bucket=BUCKET, Key="results/x.jpg")["Metadata"]
    assert metadata["job-id"] == "01J0"
    encoded = metadata["provider-task-id"]
    assert encoded.startswith("=?UTF-8?B?") and encoded.endswith("?=")
    assert base64.b64decode(encoded[10:-2]).decode() == task_id


@pytest.mark.parametrize("value", ["tab\there", "line\nbreak", "é"])
def test_control_and_non_ascii_characters_are_encoded(value):
    assert s3_metadata({"v": value})["v"].startswith("=?UTF-8?B?")


def test_values_beyond_the_2kb_budget_are_omitted_not_fatal(fake_aws):
    values = {"sha256": "a" * 64, "provider-task-id": "é" * 1024}
    metadata = s3_metadata(values)
    assert metadata == {"sha256": "a" * 64}
    assert sum(len(k) + len(v) for k, v in metadata.items()) <= MAX_USER_METADATA_BYTES
    Storage(BUCKET).put_file("results/y.jpg", io.BytesIO(b"x"), content_type="image/jpeg", metadata=values)
    assert fake_aws.s3.head_object(Bucket=BUCKET, Key="results/y.jpg")["Metadata"] == {"sha256": "a" * 64}


def test_botocore_parameter_validation_is_translated(fake_aws):
    storage = Storage(BUCKET)
    with pytest.raises(StorageRequestError, match="refused the request's parameters"):
        storage.put_file("results/z.jpg", io.BytesIO(b"x"), content_type=None, metadata={})  # type: ignore[arg-type]
    with pytest.raises(StorageRequestError):
        storage.head("")
