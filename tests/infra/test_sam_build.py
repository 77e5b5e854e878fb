"""`sam build` works on this machine without Docker, and the layer it builds serves python3.13 on arm64 with
everything the handlers (and the shared package) import."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.infra.conftest import FUNCTION_DIRS, REPO, TEMPLATE, tool

RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "awslambdaric"}
# In sys.stdlib_module_names of the 3.11 running the tests, but removed by Python 3.13 (PEP 594, lib2to3).
REMOVED_IN_313 = {
    "aifc",
    "audioop",
    "cgi",
    "cgitb",
    "chunk",
    "crypt",
    "imghdr",
    "mailcap",
    "msilib",
    "nis",
    "nntplib",
    "ossaudiodev",
    "pipes",
    "sndhdr",
    "spwd",
    "sunau",
    "telnetlib",
    "uu",
    "xdrlib",
    "lib2to3",
}
STDLIB_313 = set(sys.stdlib_module_names) - REMOVED_IN_313
ELF_MACHINE_AARCH64 = 183
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


LAYERS = {"CommonLayer": "common", "ProvenanceLayer": "provenance"}


def requirement_pins(folder: str = "common") -> dict[str, str]:
    pins = {}
    for line in (REPO / "layers" / folder / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "_", name.split("[")[0]).lower()] = version
    return pins


def imported_top_level_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def importable_from(layer_python: Path, module: str) -> bool:
    return (
        (layer_python / module / "__init__.py").exists()
        or (layer_python / f"{module}.py").exists()
        or any(layer_python.glob(f"{module}.*.so"))
        or (layer_python / module).is_dir()
    )


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sam = tool("sam", "sam")
    work = tmp_path_factory.mktemp("sam")
    app_dir = work / "sam-app-dir"
    app_dir.mkdir()
    # A fresh version-check timestamp and telemetry off keep sam from calling pypi.org / AWS.
    (app_dir / "metadata.json").write_text(json.dumps({"telemetryEnabled": False, "lastVersionCheck": time.time()}))
    environment = {**os.environ, "__SAM_CLI_APP_DIR": str(app_dir), "SAM_CLI_TELEMETRY": "0"}
    out = work / "build"
    completed = subprocess.run(
        [
            str(sam),
            "build",
            "--build-dir",
            str(out),
            "--base-dir",
            str(REPO),
            "--template-file",
            str(TEMPLATE),
            "--cache-dir",
            str(work / "cache"),
            "--no-cached",
            "--language-extensions",  # Fn::ForEach (samconfig.toml sets it for `sam` run at the repo root)
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    return out


@pytest.mark.slow
def test_every_function_and_the_layer_are_built(build_dir):
    for name, folder in FUNCTION_DIRS.items():
        assert (build_dir / name / "app.py").read_bytes() == (REPO / "functions" / folder / "app.py").read_bytes()
    assert (build_dir / "CommonLayer" / "python" / "faceswap" / "__init__.py").exists()
    assert "CommonLayer" in (build_dir / "template.yaml").read_text()
    assert (build_dir / "ProvenanceLayer" / "python" / "c2pa" / "__init__.py").exists()
    assert not (build_dir / "ProvenanceLayer" / "python" / "faceswap").exists()  # the package ships once


@pytest.mark.slow
def test_archive_function_with_both_layers_fits_lambda(build_dir):
    size = sum(
        p.stat().st_size
        for folder in ("ArchiveFunction", "CommonLayer", "ProvenanceLayer")
        for p in (build_dir / folder).rglob("*")
        if p.is_file()
    )
    assert size < LAMBDA_UNZIPPED_LIMIT * 0.8, f"{size / 1e6:.0f} MB unzipped: too close to the 250 MB limit"


@pytest.mark.slow
@pytest.mark.parametrize("layer_name", list(LAYERS))
def test_layer_holds_the_pinned_requirements_as_arm64_cp313_wheels(build_dir, layer_name):
    layer = build_dir / layer_name / "python"
    installed = {}
    for dist_info in layer.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[re.sub(r"[-_.]+", "_", name).lower()] = version
        tags = [
            line.split(":", 1)[1].strip()
            for line in (dist_info / "WHEEL").read_text().splitlines()
            if line.startswith("Tag:")
        ]
        for tag in tags:
            python, abi, platform = tag.split("-")
            # Native code for arm64 that CPython 3.13 loads: built for cp313, the stable ABI (abi3, e.g.
            # cryptography), or a library opened through ctypes (py3-none, e.g. c2pa-python).
            fits = python == "cp313" or abi == "abi3" or (python == "py3" and abi == "none")
            assert platform == "any" or (platform.endswith("aarch64") and fits), (dist_info.name, tag)
    for name, version in requirement_pins(LAYERS[layer_name]).items():
        assert installed.get(name) == version, f"{name}=={version} missing from the layer (found {installed.get(name)})"


@pytest.mark.slow
def test_layer_native_code_is_aarch64_for_cpython_313(build_dir):
    shared_objects = [p for name in LAYERS for p in (build_dir / name / "python").rglob("*.so*") if p.is_file()]
    assert shared_objects, "expected compiled extensions (Pillow, pydantic-core)"
    for path in shared_objects:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", path
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, f"{path.name} is not arm64"
        if ".cpython-" in path.name:
            assert ".cpython-313-aarch64-linux-gnu.so" in path.name, path.name


@pytest.mark.slow
def test_layer_leaves_the_sdk_to_the_runtime_and_fits_lambda(build_dir):
    layer = build_dir / "CommonLayer" / "python"
    assert not (layer / "botocore").exists() and not (layer / "boto3").exists()
    assert not list(layer.rglob("__pycache__"))
    total = sum(p.stat().st_size for p in build_dir.rglob("*") if p.is_file())
    assert total < LAMBDA_UNZIPPED_LIMIT


@pytest.mark.slow
def test_everything_the_handlers_and_shared_package_import_is_available(build_dir):
    layer = build_dir / "CommonLayer" / "python"
    provenance = build_dir / "ProvenanceLayer" / "python"
    sources = [REPO / "functions" / folder / "app.py" for folder in FUNCTION_DIRS.values()]
    sources += list((layer / "faceswap").rglob("*.py"))
    missing = {}
    for source in sources:
        for module in imported_top_level_modules(source):
            function_dir = source.parent
            local = (function_dir / f"{module}.py").exists() or (function_dir / module).is_dir()
            # Only the archive function has ProvenanceLayer, and only faceswap.provenance needs it.
            in_layers = importable_from(layer, module) or (
                "provenance" in source.parts and importable_from(provenance, module)
            )
            if not (module in STDLIB_313 or module in RUNTIME_PROVIDED or local or in_layers):
                missing.setdefault(module, []).append(
                    str(
                        source.relative_to(build_dir.parent.parent)
                        if source.is_relative_to(build_dir.parent.parent)
                        else source.relative_to(REPO)
                    )
                )
    assert missing == {}, f"imported but not in the layer, the stdlib or the runtime: {missing}"
