"""A smoke run of every benchmark at a tiny scale: each runs end to end and reports well-formed figures.
Performance targets are checked by `make bench`, not here (these machines are shared and noisy)."""

from __future__ import annotations

import math

import pytest

from benchmarks.__main__ import BENCHMARKS
from benchmarks.measure import QUICK


@pytest.mark.parametrize("module", BENCHMARKS, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_each_benchmark_reports_its_figures_and_targets(module) -> None:
    report = module.run(QUICK)
    assert report.rows and all(len(row) == len(report.columns) for row in report.rows)
    numbers = [value for row in report.rows for value in row if isinstance(value, int | float)]
    assert numbers and all(math.isfinite(value) and value >= 0 for value in numbers)
    assert report.targets and all(math.isfinite(target.value) and target.value > 0 for target in report.targets)
    assert report.markdown().startswith(f"### {report.title}")
