"""The command line and the sample fetcher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from faceengine.__main__ import main

from tests.unit.engine.conftest import REPO_ROOT, decode


def test_cli_writes_result_and_report(tmp_path: Path, samples: Path) -> None:
    output, report = tmp_path / "out.png", tmp_path / "report.json"
    code = main(
        [str(samples / "astronaut.png"), str(samples / "grace_hopper.jpg"), "-o", str(output), "--report",
         str(report), "--warp", "delaunay", "--blend", "alpha"]
    )  # fmt: skip
    assert code == 0
    assert decode(output.read_bytes()).shape == (512, 512, 3)
    data = json.loads(report.read_text())
    assert data["engine"]["warp"] == "delaunay" and data["swaps"][0]["blend_used"] == "alpha"


def test_cli_reports_face_errors_as_json(tmp_path: Path, samples: Path, capsys) -> None:
    code = main([str(samples / "astronaut.png"), str(samples / "grace_hopper.jpg"), "-o", str(tmp_path / "x.png"),
                 "--face-index", "4"])  # fmt: skip
    assert code == 2
    error = json.loads(capsys.readouterr().err.strip().splitlines()[-1])["error"]
    assert error["code"] == "ERROR_FACE_COUNT_INVALID" and error["image"] == "target"
    assert not (tmp_path / "x.png").exists()


def test_fetch_samples_skips_files_already_present(samples: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "fetch_samples.py"), "--dest", str(samples)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "fetched" not in completed.stdout
    assert completed.stdout.count("ok ") == 3
