"""Finding planted fragments in an output, however it was rewritten on the way: as is (case-folded), after Unicode
NFKC normalisation, and with every separator removed (each string on its own, so that neighbours cannot join
into a false match). Values are walked iteratively: a 10,000-level output is scanned like any other."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

_SEPARATORS = re.compile(r"[\W_]+")  # anything but letters and digits: spaces, punctuation, format characters


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def compact(text: str) -> str:
    """Letters and digits only, NFKC-normalised and case-folded: `E 123-4567 x` -> `e1234567x`."""
    return _SEPARATORS.sub("", nfkc(text))


def strings(value: Any) -> Iterator[str]:
    """Every dict key, string and number in a JSON-like value, depth first, without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                yield str(key)
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str):
            yield item
        elif isinstance(item, int | float) and not isinstance(item, bool):
            yield str(item)


def leaked(output: Any, forbidden: Iterable[str]) -> list[str]:
    """The fragments of `forbidden` found in `output` (a JSON-like value, or text: scanned line by line)."""
    pieces = output.splitlines() if isinstance(output, str) else list(strings(output))
    whole = "\n".join(pieces)
    folded, normal = whole.casefold(), nfkc(whole)
    compacts = [compact(piece) for piece in pieces]
    found = []
    for fragment in forbidden:
        small = compact(fragment)
        if (
            fragment.casefold() in folded
            or nfkc(fragment) in normal
            or (small and any(small in piece for piece in compacts))
        ):
            found.append(fragment)
    return found
