"""`python -m benchmarks [--quick | --rounds N ...] [--only NAME,...] [--record]`: the benchmarks, one after
another (`make bench` runs them all at full scale and records).

With `--record`, the figures replace the generated block of `benchmarks/RESULTS.md`, under the machine and the
date; the analysis around that block is written by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from benchmarks import cold_start, guard_cost, http_throughput, redaction, redis_store, replicas, tool_list, upload
from benchmarks.measure import parse_scale, profiled, quiet

# ---------------------------------------------------------------------------------------- the benchmarks
# A benchmark is a module of this package with `run(scale: Scale) -> Report` (see measure.py) that compares
# kyc-mcp with a bare baseline in interleaved rounds, and ends with `if __name__ == "__main__": cli(run)`.
# To add one, put its module in this list: `make bench` runs it and records its figures, and the smoke test
# (tests/test_benchmarks.py) runs it at the QUICK scale in `make test`. (The HTTP throughput benchmark was the
# first one added this way.)
BENCHMARKS: tuple[ModuleType, ...] = (
    guard_cost,
    redaction,
    cold_start,
    upload,
    http_throughput,
    replicas,
    redis_store,
    tool_list,
)
# --------------------------------------------------------------------------------------------------------

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- results:start (python -m benchmarks --record) -->", "<!-- results:end -->"


def name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def machine() -> str:
    """When and where: the date, `nproc`'s CPU count, the CPU model, the Python version and the platform."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    when = subprocess.run(["date", "-u"], capture_output=True, text=True, check=False).stdout.strip()
    when = when or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpus = len(os.sched_getaffinity(0))  # what `nproc` prints
    return f"{when}; nproc {cpus} ({model}); Python {platform.python_version()}; {platform.platform()}"


def main(argv: list[str]) -> int:
    scale, args = parse_scale(argv, __doc__)
    chosen = [m for m in BENCHMARKS if args.only is None or name(m) in args.only.split(",")]
    sections = [f"Measured {machine()}; scale: {scale}.\n"]
    print(sections[0], flush=True)
    with quiet(), profiled(args.profile):
        for module in chosen:
            report = module.run(scale)
            print(report.markdown(), flush=True)
            sections.append(report.markdown())
    if args.record:
        text = RESULTS.read_text(encoding="utf-8")
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        RESULTS.write_text(f"{head}{START}\n{chr(10).join(sections)}\n{END}{tail}", encoding="utf-8")
        print(f"recorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
