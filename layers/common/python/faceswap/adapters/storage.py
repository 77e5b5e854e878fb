"""S3: presigned upload forms and download URLs, reads of input images, archived results, deletion."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import ClientError, ParamValidationError

from faceswap.adapters import aws_clients
from faceswap.config import MAX_IMAGE_BYTES
from faceswap.domain.clock import iso, now_epoch
from faceswap.domain.errors import StorageRequestError, StorageTransientError

UPLOAD_CONTENT_TYPES = ("image/jpeg", "image/png")
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}
# S3 allows 2 KB of user metadata (names and values, UTF-8 bytes) in all.
MAX_USER_METADATA_BYTES = 2048


def upload_key(job_id: str, role: str) -> str:
    return f"uploads/{job_id}/{role}"


def result_key(job_id: str, content_type: str) -> str:
    return f"results/{job_id}.{EXTENSIONS[content_type]}"


def s3_metadata(values: dict[str, str]) -> dict[str, str]:
    """User metadata S3 accepts whatever the values hold: printable ASCII as is, anything else RFC 2047-encoded
    (`=?UTF-8?B?...?=`, what S3 itself answers for non-ASCII metadata), and values beyond the 2 KB total omitted
    (metadata only describes the object; losing a value must never lose the object)."""
    out: dict[str, str] = {}
    used = 0
    for name, raw in values.items():
        value = str(raw)
        if not (value.isascii() and value.isprintable()):
            value = f"=?UTF-8?B?{base64.b64encode(value.encode()).decode()}?="
        size = len(name) + len(value)
        if used + size > MAX_USER_METADATA_BYTES:
            continue
        out[name] = value
        used += size
    return out


def upload_conditions(key: str, content_type: str) -> list[Any]:
    """The POST policy: exactly this key, this content type, 1 byte to 5 MiB. S3 enforces it on upload."""
    return [
        {"key": key},
        {"Content-Type": content_type},
        ["content-length-range", 1, MAX_IMAGE_BYTES],
    ]


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    content_type: str | None
    metadata: dict[str, str]


class Storage:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self._s3 = aws_clients.client("s3")

    def presigned_upload(self, key: str, content_type: str, expires_in: int) -> dict[str, Any]:
        form = self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=upload_conditions(key, content_type),
            ExpiresIn=expires_in,
        )
        return {
            "url": form["url"],
            "fields": form["fields"],
            "expires_at": iso(now_epoch() + expires_in),
            "max_bytes": MAX_IMAGE_BYTES,
            "content_type": content_type,
        }

    def presigned_download(self, key: str, expires_in: int, *, bucket: str | None = None) -> tuple[str, str]:
        url = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket or self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url, iso(now_epoch() + expires_in)

    def head(self, key: str, *, bucket: str | None = None) -> ObjectInfo | None:
        try:
            response = self._s3.head_object(Bucket=bucket or self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return None
            raise _translate(error) from error
        except ParamValidationError as error:
            raise _invalid(error) from error
        return ObjectInfo(
            size=int(response["ContentLength"]),
            etag=str(response.get("ETag", "")).strip('"'),
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata") or {}),
        )

    def read(self, key: str, *, max_bytes: int, bucket: str | None = None) -> bytes | None:
        """The object's bytes, at most `max_bytes + 1` of them (so an oversized object is detected, not loaded);
        None if it does not exist."""
        sized = self.read_sized(key, max_bytes=max_bytes, bucket=bucket)
        return None if sized is None else sized[0]

    def read_sized(self, key: str, *, max_bytes: int, bucket: str | None = None) -> tuple[bytes, int] | None:
        """Like `read`, with the object's whole size (from Content-Range), so a refusal can state the real size."""
        try:
            response = self._s3.get_object(Bucket=bucket or self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return None
            if _code(error) == "InvalidRange":  # an empty object has no byte 0
                return b"", 0
            raise _translate(error) from error
        except ParamValidationError as error:
            raise _invalid(error) from error
        data: bytes = response["Body"].read(max_bytes + 1)
        total = str(response.get("ContentRange") or "").rpartition("/")[2]
        return data, int(total) if total.isdigit() else len(data)

    def list_keys(self, prefix: str, *, limit: int = 20) -> list[str]:
        try:
            response = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=limit)
        except ClientError as error:
            raise _translate(error) from error
        except ParamValidationError as error:
            raise _invalid(error) from error
        return [item["Key"] for item in response.get("Contents", [])]

    def put_file(self, key: str, fileobj: IO[bytes], *, content_type: str, metadata: dict[str, str]) -> None:
        """Upload from a file object in parts (bounded memory whatever the size)."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=8 * 1024 * 1024,
            multipart_chunksize=8 * 1024 * 1024,
            max_concurrency=1,
            use_threads=False,
        )
        try:
            self._s3.upload_fileobj(
                fileobj,
                self.bucket,
                key,
                Config=config,
                ExtraArgs={"ContentType": content_type, "Metadata": s3_metadata(metadata)},
            )
        except ClientError as error:
            raise _translate(error) from error
        except ParamValidationError as error:
            raise _invalid(error) from error

    def delete(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            response = self._s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
        except ClientError as error:
            raise _translate(error) from error
        except ParamValidationError as error:
            raise _invalid(error) from error
        # DeleteObjects answers 200 and lists the keys it could not delete: unchecked, a photo would stay.
        codes = sorted({str(item.get("Code", "")) for item in response.get("Errors") or []})
        if codes:
            if set(codes) <= _TRANSIENT:
                raise StorageTransientError(f"S3 DeleteObjects: {', '.join(codes)}")
            raise StorageRequestError(f"S3 DeleteObjects refused: {', '.join(codes)}")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _invalid(error: ParamValidationError) -> StorageRequestError:
    # botocore checks parameters before sending (e.g. non-ASCII metadata, an over-long key): retrying cannot help.
    return StorageRequestError(f"S3 refused the request's parameters: {str(error)[:300]}")


def _translate(error: ClientError) -> Exception:
    translated: Exception = error
    if _code(error) in _TRANSIENT:
        translated = StorageTransientError(f"S3: {_code(error)}")
    return translated
