"""Benchmark 3: cold start (import and init of every handler module in a fresh process) and deployed sizes.

Each `functions/<name>/app.py` is imported in a new interpreter whose sys.path is the layer
(`layers/common/python`), the function's folder and the venv's site-packages (standing in for the runtime's boto3
and the layer's dependencies), with the environment Powertools reads; the time of `import app` (module-level
Logger/Tracer/Metrics and clients included) is the median of 10 runs. Interpreter start-up is not counted (Lambda
pays it for any handler). The API function's imports are checked against what only other functions need.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bench.report import publish

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "common" / "python"
BUILD = ROOT / ".aws-sam" / "build"
RESULTS = ROOT / "bench" / "results" / "cold_start.md"
RUNS = 10
TARGET_MS = 300.0
# Heavy or workflow-only modules the API function must not load.
API_FORBIDDEN = (
    "PIL",
    "requests",
    "numpy",
    "cv2",
    "faceswap.provider.ailabtools",
    "faceswap.domain.images",
    "faceswap.usecases.workflow_steps",
    "faceswap.adapters.safe_fetch",
    "faceengine",
)
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}

# The floor every handler pays: the AWS SDK and Powertools' Logger, Tracer and Metrics (as each handler creates them).
_FLOOR = r"""
import json, sys, time
start = time.perf_counter()
import boto3  # noqa: F401
from aws_lambda_powertools import Logger, Metrics, Tracer
Logger(); Metrics(); Tracer()
print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "modules": []}))
"""

_CHILD = r"""
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
before = set(sys.modules)
start = time.perf_counter()
import app  # noqa: F401
elapsed = time.perf_counter() - start
print(json.dumps({"ms": elapsed * 1000, "modules": sorted(set(sys.modules) - before)}))
"""


def _child_env(function_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        {
            # What the Lambda runtime sets before importing the handler. The X-Ray SDK checks LAMBDA_TASK_ROOT: outside
            # Lambda it builds a botocore X-Ray client for centralized sampling at import (~0.2 s) Lambda never has.
            "LAMBDA_TASK_ROOT": str(function_dir),
            "AWS_LAMBDA_FUNCTION_NAME": f"faceswap-{function_dir.name}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_SERVICE_NAME": "faceswap",
            "POWERTOOLS_METRICS_NAMESPACE": "FaceSwap",
            "LOG_LEVEL": "INFO",
            "JOBS_TABLE": "faceswap-jobs",
            "BUCKET_NAME": "faceswap-bench",
            "EVENT_BUS_NAME": "faceswap-bus",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def measure(function_dir: Path, child: str = _CHILD) -> tuple[float, list[float], list[str]]:
    """(median ms, all runs, modules the import loaded)."""
    runs: list[float] = []
    modules: list[str] = []
    for _ in range(RUNS):
        completed = subprocess.run(
            [sys.executable, "-c", child, str(LAYER), str(function_dir)],
            capture_output=True,
            text=True,
            env=_child_env(function_dir),
            cwd=function_dir,
            check=False,
            timeout=120,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{function_dir.name}: import failed:\n{completed.stderr[-2000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        runs.append(result["ms"])
        modules = result["modules"]
    return statistics.median(runs), runs, modules


def tree_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file() and "__pycache__" not in item.parts)


def _requirement_names() -> list[str]:
    lines = (ROOT / "layers" / "common" / "requirements.txt").read_text().splitlines()
    return [line.split("==")[0].strip() for line in lines if line.strip() and not line.startswith("#")]


def installed_size(names: list[str]) -> tuple[int, list[str]]:
    """Bytes of the installed distributions and their dependencies (runtime-provided ones excluded)."""
    seen: set[str] = set()
    total = 0
    pending = list(names)
    while pending:
        name = pending.pop().lower().replace("_", "-")
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        seen.add(name)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in distribution.files or []:
            located = Path(str(distribution.locate_file(file)))
            if located.is_file() and "__pycache__" not in located.parts:
                total += located.stat().st_size
        for requirement in distribution.requires or []:
            if "extra ==" in requirement:
                continue
            pending.append(
                requirement.split(";")[0]
                .split("[")[0]
                .split("(")[0]
                .split(">")[0]
                .split("<")[0]
                .split("=")[0]
                .split("!")[0]
                .split("~")[0]
                .strip()
            )
    return total, sorted(seen)


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.2f} MB" if size >= 1_048_576 else f"{size / 1024:.1f} KB"


def main() -> int:
    functions = sorted(path.parent for path in FUNCTIONS.glob("*/app.py"))
    rows = []
    api_modules: list[str] = []
    slow = []
    for function_dir in functions:
        median, runs, modules = measure(function_dir)
        built = BUILD / f"{''.join(part.title() for part in function_dir.name.split('_'))}Function"
        size = tree_size(built) if built.is_dir() else tree_size(function_dir)
        rows.append((function_dir.name, median, min(runs), max(runs), size))
        if median >= TARGET_MS:
            slow.append(function_dir.name)
        if function_dir.name == "api":
            api_modules = modules
        print(
            f"{function_dir.name:18s} median {median:7.1f} ms  (min {min(runs):.1f}, max {max(runs):.1f})", flush=True
        )
    floor, floor_runs, _ = measure(FUNCTIONS / "api", _FLOOR)
    print(f"{'(floor: boto3 + Powertools)':18s} median {floor:7.1f} ms", flush=True)
    layer_built = BUILD / "CommonLayer"
    if layer_built.is_dir():
        layer_note = f"measured from `{layer_built.relative_to(ROOT)}`"
        layer_size = tree_size(layer_built)
        deps_size, deps = 0, list[str]()
    else:
        deps_size, deps = installed_size(_requirement_names())
        layer_size = tree_size(LAYER) + deps_size
        layer_note = (
            "no `.aws-sam/build`: the layer's source plus the installed size in .venv (x86_64 wheels, "
            "Python 3.11; the arm64/3.13 build differs a little) of its requirements and their "
            "dependencies, without boto3/botocore (the runtime provides them)"
        )
    forbidden = [
        name
        for name in API_FORBIDDEN
        if name in api_modules or any(module.startswith(name + ".") for module in api_modules)
    ]
    api_faceswap = sorted(module for module in api_modules if module.startswith("faceswap."))
    api_third_party = sorted(
        {module.split(".")[0] for module in api_modules} - set(sys.stdlib_module_names) - {"faceswap", "app"}
    )
    lines = [
        "# Cold start and deployed size",
        "",
        f"Import-and-init time of each handler module in a fresh interpreter (median of {RUNS}; interpreter start-up "
        f"excluded), on this machine ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}). Target: under "
        f"{TARGET_MS:.0f} ms. Load average when measured: {os.getloadavg()[0]:.1f} (other work on the machine "
        "inflates these numbers). The environment is the Lambda runtime's (`LAMBDA_TASK_ROOT` etc.), so the X-Ray SDK "
        "behaves as in Lambda. Where the time goes (`python -X importtime`): boto3/botocore about half, then "
        "Powertools (Logger, Tracer with aws_xray_sdk, Metrics, the event handler in the API function).",
        "",
        "| function | median ms | min ms | max ms | deployed size |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {median:.0f} | {low:.0f} | {high:.0f} | {_mb(size)} |"
            for name, median, low, high, size in rows
        ],
        f"| layer (`CommonLayer`) | | | | {_mb(layer_size)} |",
        f"| *floor: `import boto3` + Powertools Logger/Tracer/Metrics* | {floor:.0f} | {min(floor_runs):.0f} | "
        f"{max(floor_runs):.0f} | |",
        "",
        f"Function sizes: {'`.aws-sam/build`' if BUILD.is_dir() else 'the source folders (no `.aws-sam/build`)'}. "
        f"Layer size: {layer_note}.",
    ]
    if deps:
        lines.append(f"Layer dependencies counted: {', '.join(deps)} ({_mb(deps_size)}).")
    lines += [
        "",
        f"**Target {'met' if not slow else 'NOT met for ' + ', '.join(slow)}.**"
        + (
            ""
            if not slow
            else f" Every handler needs the AWS SDK and Powertools, whose import alone takes {floor:.0f} "
            "ms here: what is left to each handler is its own code and the pieces of the shared package it loads. "
            "What would meet it: a faster machine (Lambda's arm64 cores), or dropping Powertools' Tracer and event "
            "handler (X-Ray SDK patching, routing) for hand-written equivalents, which this project chose not to do."
        ),
        "",
        "## What the API function imports",
        "",
        f"Third-party top-level packages: {', '.join(api_third_party) or 'none'}.",
        "",
        f"faceswap modules: {', '.join(api_faceswap)}.",
        "",
        (
            f"**Imports only other functions need: {', '.join(forbidden)}.**"
            if forbidden
            else f"None of {', '.join(API_FORBIDDEN)} is imported by the API function."
        ),
    ]
    publish(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
