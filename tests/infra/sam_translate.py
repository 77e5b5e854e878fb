"""Translate the SAM template to plain CloudFormation offline, the way `sam validate` does.

AWS::LanguageExtensions (Fn::ForEach) is expanded first, as CloudFormation does. aws-sam-translator rejects local
`CodeUri`/`ContentUri`/`DefinitionUri` ("not a valid S3 Uri"), so they are replaced
with `s3://` placeholders (as `sam package` would) and the ASL file is inlined as `Definition`. The translator needs a
region but never calls AWS for this template.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from faceswap_local.aws.template import expand_for_each
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_BUCKET = "faceswap-artifacts-placeholder"
DEFAULT_REGION = "us-east-1"


class _NoManagedPolicies:
    """Managed-policy loader that never calls IAM (SAM falls back to its bundled map for the ones it adds)."""

    def load(self) -> dict[str, str]:
        return {}


LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"


def load_sam_template(template_path: str | Path) -> dict[str, Any]:
    """The SAM template as a dict (CloudFormation short-form tags such as !Sub understood), its Fn::ForEach loops
    expanded (AWS::LanguageExtensions runs before the SAM transform)."""
    template = yaml_parse(Path(template_path).read_text(encoding="utf-8"))
    transforms = template.get("Transform")
    if isinstance(transforms, list) and LANGUAGE_EXTENSIONS in transforms:
        template = expand_for_each(template)
        remaining = [name for name in transforms if name != LANGUAGE_EXTENSIONS]
        template["Transform"] = remaining[0] if len(remaining) == 1 else remaining
    return template


def _inline_local_artifacts(template: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    template = copy.deepcopy(template)
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
        elif kind == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            definition_path = base_dir / props.pop("DefinitionUri")
            props["Definition"] = json.loads(definition_path.read_text(encoding="utf-8"))
    return template


def translate(template_path: str | Path) -> dict[str, Any]:
    """Translate `template_path` (SAM) into a CloudFormation template dict. Returns a fresh copy on every call."""
    return copy.deepcopy(_translate_cached(str(Path(template_path).resolve())))


@cache
def _translate_cached(template_path: str) -> dict[str, Any]:
    path = Path(template_path)
    sam = _inline_local_artifacts(load_sam_template(path), path.parent)
    with _region():
        return transform(sam, {}, _NoManagedPolicies())


@contextmanager
def _region() -> Iterator[None]:
    """The translator reads the region from the environment (NoRegionFound otherwise); lend one if none is set."""
    if os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        yield
        return
    os.environ["AWS_DEFAULT_REGION"] = DEFAULT_REGION
    try:
        yield
    finally:
        os.environ.pop("AWS_DEFAULT_REGION", None)
