"""`python -m benchmarks [--quick] [--record]` (`make bench` records): every benchmark, one after another.

With `--record`, the figures replace the generated block of `benchmarks/RESULTS.md`, under the machine and the
date; the analysis around that block is written by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import sys
from pathlib import Path

from benchmarks import cold_start, guard_cost, http_throughput, redaction, upload
from benchmarks.measure import FULL, QUICK

BENCHMARKS = (guard_cost, redaction, cold_start, http_throughput, upload)  # add a module here to add a benchmark
RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- results:start (python -m benchmarks --record) -->", "<!-- results:end -->"


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when}; {os.cpu_count()} CPUs ({model}); Python {platform.python_version()}; {platform.platform()}"


def main(argv: list[str]) -> int:
    logging.disable(logging.INFO)  # the SDK's and httpx2's request logs
    scale = QUICK if "--quick" in argv else FULL
    sections = [f"Measured {machine()}.\n"]
    for module in BENCHMARKS:
        report = module.run(scale)
        print(report.markdown(), flush=True)
        sections.append(report.markdown())
    if "--record" in argv:
        text = RESULTS.read_text(encoding="utf-8")
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        RESULTS.write_text(f"{head}{START}\n{chr(10).join(sections)}\n{END}{tail}", encoding="utf-8")
        print(f"recorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
