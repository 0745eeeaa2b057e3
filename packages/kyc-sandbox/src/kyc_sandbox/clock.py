"""The sandbox's clock for reviews: real time plus an offset that the admin API advances (`POST /sandbox/clock`).

A submitted KYC is decided once this clock passes its review delay, so a test advances the clock instead of
sleeping through the delay, and never depends on how fast the machine is. The offset only grows (a decision
once made stays made) and is kept in the database, so a restart with `--db` keeps the sandbox's time.
Only reviews follow it (their `decide_after`, `submitted_at` and `decided_at`); tokens, uploads and the
request log keep real time, so advancing the clock expires no token.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from .db import Database

_OFFSET_KEY = "clock_offset_seconds"


class Clock:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._offset = float(db.meta(_OFFSET_KEY, "0"))

    @property
    def offset_seconds(self) -> float:
        """How far ahead of real time the sandbox is."""
        return self._offset

    def now(self) -> float:
        """The sandbox's time, in seconds since the epoch."""
        return time.time() + self._offset

    def iso(self) -> str:
        """The sandbox's time as the APIs write timestamps (UTC, whole seconds, `Z`)."""
        return datetime.fromtimestamp(self.now(), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward; it never goes back."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError("the clock only moves forward, by a finite number of seconds")
        self._offset += seconds
        self._db.set_meta(_OFFSET_KEY, repr(self._offset))
