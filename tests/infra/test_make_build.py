"""`make build` is self-sufficient: on a machine whose python3 has no pip it still builds (the layer's makefile runs
pip from the project's venv), and once the layer's wheels are cached it needs no package index."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import REPO, tool

NO_PIP_PYTHON = """#!/bin/sh
# A system python3 without pip, as on a fresh machine.
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "No module named pip" >&2; exit 1; fi
exec {real} "$@"
"""


@pytest.mark.slow
def test_make_build_needs_neither_the_system_pip_nor_the_network_once_wheels_are_cached(tmp_path: Path):
    tool("sam", "sam")  # skip (or fail in CI) without `make tools`
    shims = tmp_path / "bin"
    shims.mkdir()
    real = subprocess.run(["sh", "-c", "command -v python3"], capture_output=True, text=True, check=True).stdout
    for name in ("python3", "python"):
        shim = shims / name
        shim.write_text(NO_PIP_PYTHON.format(real=real.strip()))
        shim.chmod(0o755)
    # Fill the wheel cache first (the one step allowed to reach the index), then build with the index unreachable,
    # from a cache holding the wheels only, so that the build must install them (with pip) itself.
    subprocess.run(["make", "-s", "layer-wheels"], cwd=REPO, check=True, capture_output=True, timeout=900)
    wheels = tmp_path / "layer-cache"
    wheels.mkdir()
    for wheel in (REPO / ".cache" / "layer-wheels").glob("*.whl"):
        shutil.copy2(wheel, wheels / wheel.name)
    offline = {
        "LAYER_CACHE": str(wheels),
        **os.environ,
        "PATH": f"{shims}:{os.environ['PATH']}",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",  # nothing listens on the discard port
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "__SAM_CLI_APP_DIR": str(tmp_path / "sam-app-dir"),
    }
    out = tmp_path / "build"
    completed = subprocess.run(
        ["make", "build", f"BUILD_DIR={out}"], cwd=REPO, env=offline, capture_output=True, text=True, timeout=900
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    layer = out / "CommonLayer" / "python"
    assert (layer / "faceswap" / "__init__.py").exists()
    assert (layer / "requests" / "__init__.py").exists(), "the layer's dependencies are missing"
    assert list(wheels.glob("site-*/.complete")), "the build did not install the cached wheels itself"
