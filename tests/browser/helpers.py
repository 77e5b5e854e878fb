"""What the browser tests share: where the page lives, the running stack and static sites, a browser tab."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
PLAYGROUND = REPO / "playground"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class StaticSite:
    """The playground folder as plain static files (any web server would do), on its own origin."""

    url: str
    server: ThreadingHTTPServer


@dataclass
class Served:
    api_url: str
    token: str
    outputs: dict[str, str]
    access_key: str
    secret_key: str
    lines: list[str] = field(default_factory=list)

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.outputs["AwsEndpointUrl"],
            region_name=self.outputs["Region"],
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def keys(self, prefix: str) -> list[str]:
        listing = self.s3().list_objects_v2(Bucket=self.outputs["BucketName"], Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def object_bytes(self, key: str) -> bytes:
        return self.s3().get_object(Bucket=self.outputs["BucketName"], Key=key)["Body"].read()


@dataclass
class BrowserPage:
    page: Page
    requests: list[str]
    console_errors: list[str]
