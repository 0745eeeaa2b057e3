"""How long something lasts or has been over, in words a person reads at a glance (doctor's checks, `login`'s
status)."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """`seconds` (its sign dropped) in the largest unit that keeps it readable: "45 s", "12 min", "3.5 h",
    "30 days"."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
