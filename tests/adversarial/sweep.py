"""The exhaustive mixture sweep: every planted text case (`TEXT_CASES`) joined to every ordinary text
(`corpus.ORDINARY_TEXTS`) by each joiner, in both orders, checked with the corpus test's own `check_mixture`
(the planted value must be gone). It also counts mixtures whose ordinary text did not survive verbatim
(over-masking), reported apart: a planted value next to it may legitimately take a neighbour's character.

    .venv/bin/python -m tests.adversarial.sweep              # all of it (about 3 million mixtures, minutes)
    .venv/bin/python -m tests.adversarial.sweep --sample 20000   # a fixed deterministic subset, seconds

`sweep(sample)` returns the counts, for tests."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.adversarial.corpus import ORDINARY_TEXTS, Case
from tests.adversarial.test_redactor_corpus import TEXT_CASES, check_mixture, redactor_for

JOINERS = (" ", ". ", "\n", ", ", "; ", " | ", "\t")
ORDERS = ("planted first", "ordinary first")
SEED = 20261201  # the sample is the same subset on every run
EXAMPLES = 3  # failing mixtures shown per class


@dataclass
class Result:
    tried: int = 0
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)  # (planted kind, ordinary text) -> count
    altered: Counter[str] = field(default_factory=Counter)  # ordinary text -> mixtures where it did not survive
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def total() -> int:
    return len(TEXT_CASES) * len(ORDINARY_TEXTS) * len(JOINERS) * len(ORDERS)


def mixture(index: int) -> tuple[str, Case, str]:
    """The mixture at `index` of the sweep's fixed order: (text, planted case, ordinary text)."""
    index, order = divmod(index, len(ORDERS))
    index, joiner = divmod(index, len(JOINERS))
    case_index, ordinary_index = divmod(index, len(ORDINARY_TEXTS))
    case, ordinary = TEXT_CASES[case_index], ORDINARY_TEXTS[ordinary_index]
    parts = (case.payload, ordinary) if order == 0 else (ordinary, case.payload)
    return JOINERS[joiner].join(parts), case, ordinary


def indices(sample: int | None) -> Iterator[int]:
    """Every mixture, or `sample` of them chosen the same way on every run, stratified: each (planted kind,
    ordinary text, joiner, order) gets its share, so a rare class (a card after a digit run) is not left to luck."""
    if sample is None or sample >= total():
        return iter(range(total()))
    rng = random.Random(SEED)
    by_kind: dict[str, list[int]] = {}
    for case_index, case in enumerate(TEXT_CASES):
        by_kind.setdefault(case.kind, []).append(case_index)
    strata = len(by_kind) * len(ORDINARY_TEXTS) * len(JOINERS) * len(ORDERS)
    share = -(-sample // strata)
    chosen: list[int] = []
    for cases in by_kind.values():
        for ordinary in range(len(ORDINARY_TEXTS)):
            for joiner in range(len(JOINERS)):
                for order in range(len(ORDERS)):
                    for case_index in rng.sample(cases, min(share, len(cases))):
                        chosen.append(_index(case_index, ordinary, joiner, order))
    if len(chosen) > sample:
        chosen = rng.sample(chosen, sample)
    return iter(sorted(chosen))


def _index(case_index: int, ordinary: int, joiner: int, order: int) -> int:
    """The inverse of `mixture`'s decoding."""
    return ((case_index * len(ORDINARY_TEXTS) + ordinary) * len(JOINERS) + joiner) * len(ORDERS) + order


def sweep(sample: int | None = None) -> Result:
    result, started = Result(), time.perf_counter()
    for index in indices(sample):
        text, case, ordinary = mixture(index)
        result.tried += 1
        try:
            check_mixture(text, [case], [ordinary], True)
        except AssertionError as failure:
            key = (case.kind, ordinary)
            result.failures[key] += 1
            shown = result.examples.setdefault(key, [])
            if len(shown) < EXAMPLES:
                shown.append(f"{case.name} | {text!r} -> {str(failure)[:300]}")
            continue
        if ordinary not in redactor_for([case]).text(text):
            result.altered[ordinary] += 1
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=None, help="run a fixed deterministic subset of N mixtures")
    args = parser.parse_args(argv)
    result = sweep(args.sample)
    print(f"{result.tried:,} mixtures of {total():,}; {result.failed:,} failures; {result.seconds:.1f} s")
    print(f"ordinary text altered (over-masking, not a failure): {sum(result.altered.values()):,}")
    for ordinary, count in result.altered.most_common():
        print(f"  {count:6,}  {ordinary!r}")
    for (kind, ordinary), count in result.failures.most_common():
        print(f"{count:6,}  {kind} + {ordinary!r}")
        for example in result.examples[(kind, ordinary)]:
            print(f"        {example}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
