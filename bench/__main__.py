"""`make bench`: every benchmark, printed and written to bench/results/*.md (speed goals live here, not in tests)."""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = [
    ("offline engine", "bench.engine_bench"),
    ("offline engine quality", "bench.quality_bench"),
    ("polling policy simulation", "bench.polling_sim"),
    ("cost model", "bench.cost_model"),
    ("cold starts and sizes", "bench.cold_start"),
    ("archive memory", "bench.archive_memory"),
    ("provenance labelling", "bench.provenance_bench"),
    ("local stack throughput and measured cost", "bench.stack_bench"),
    ("webhook latency", "bench.webhook_latency"),
]


def main(argv: list[str]) -> int:
    wanted = set(argv)
    failures = []
    for title, module_name in BENCHMARKS:
        if wanted and not any(name in module_name for name in wanted):
            continue
        print(f"\n=== {title} ({module_name}) ===", flush=True)
        started = time.monotonic()
        try:
            status = importlib.import_module(module_name).main()
        except Exception as error:  # keep going: one broken benchmark must not hide the others
            print(f"{module_name} failed: {error!r}", flush=True)
            status = 1
        print(f"--- {title}: {time.monotonic() - started:.1f} s", flush=True)
        if status:
            failures.append(module_name)
    if failures:
        print(f"\nbenchmarks that failed or missed a target: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
