"""A smoke run of every benchmark at a tiny scale: each runs end to end and reports well-formed figures.
Performance targets are checked by `make bench`, not here (these machines are shared and noisy)."""

from __future__ import annotations

import math

import pytest

from benchmarks import redaction, tool_list
from benchmarks.__main__ import BENCHMARKS
from benchmarks.measure import QUICK, Report, cli, parse_scale, percentile


def assert_well_formed(report: Report) -> None:
    assert report.rows and all(len(row) == len(report.columns) for row in report.rows)
    numbers = [value for row in report.rows for value in row if isinstance(value, int | float)]
    assert numbers and all(math.isfinite(value) and value >= 0 for value in numbers)
    assert report.targets and all(math.isfinite(target.value) and target.value > 0 for target in report.targets)
    table = report.markdown()
    assert table.startswith(f"### {report.title}")
    assert table.count("\n| ") == len(report.rows) + 2  # header, separator and one line per row
    assert all(target.line() in table for target in report.targets)


@pytest.mark.parametrize("module", BENCHMARKS, ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_each_benchmark_reports_its_figures_and_targets(module) -> None:
    assert_well_formed(module.run(QUICK))


def test_a_benchmark_runs_alone_at_the_size_and_repeats_given(capsys) -> None:
    report = cli(redaction.run, ["--rounds", "1", "--sizes", "1000,3000"])
    assert_well_formed(report)
    assert [row[0] for row in report.rows][:2] == ["1 KB", "3 KB"]
    assert capsys.readouterr().out.startswith(f"### {report.title}")


def test_the_command_line_overrides_each_part_of_the_scale() -> None:
    scale, _ = parse_scale(["--quick", "--rounds", "3", "--calls", "9", "--seconds", "0.25", "--upload-bytes", "7"])
    assert (scale.rounds, scale.calls, scale.seconds, scale.upload_bytes) == (3, 9, 0.25, 7)
    assert scale.sizes == QUICK.sizes


def test_a_percentile_is_a_nearest_rank_and_of_no_samples_an_error() -> None:
    assert [percentile([0.3, 0.1, 0.2], q) for q in (0, 50, 99, 100)] == [0.1, 0.2, 0.3, 0.3]
    assert percentile([0.5], 99) == 0.5
    with pytest.raises(ValueError, match="no samples"):  # a round that recorded nothing says so
        percentile([], 50)


def test_the_tool_list_benchmark_counts_both_lists_side_by_side() -> None:
    """Sizes, not speed: the current tree's row always; the previous release's where git has its commit; and the
    tokenizer it used named (js-tiktoken's o200k_base, or the approximation without it)."""
    report = tool_list.run(QUICK)
    assert_well_formed(report)
    rows = {row[0]: row for row in report.rows}
    assert "current tree" in rows and len(report.rows) in (1, 2)
    for name, tools, size, visible, tokens, with_output in report.rows:
        assert tools > 0 and size > visible > 0 and with_output > tokens > 0, name
    assert any(note.startswith("tokens: ") for note in report.notes)
    counts, how = tool_list.count_tokens(["hello world"])
    assert counts[0] > 0 and how
