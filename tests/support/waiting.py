"""Waiting for something to happen instead of sleeping for a guessed time: poll a condition until it holds,
with a deadline generous enough for a loaded machine (the deadline only bounds a failing wait; a passing one
returns as soon as the condition holds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.05


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout: float = DEADLINE_SECONDS,
    interval: float = POLL_SECONDS,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call `condition` until it returns something true and return that; after `timeout`, fail naming `what`
    (and adding `detail()`, e.g. a process's output). An exception from `condition` ends the wait at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout, detail))
        time.sleep(interval)


async def eventually(
    condition: Callable[[], T],
    what: str,
    timeout: float = DEADLINE_SECONDS,
    interval: float = POLL_SECONDS,
    detail: Callable[[], str] | None = None,
) -> T:
    """`wait_until` for async tests: `condition` (which may block, e.g. on HTTP) runs in a worker thread, so the
    event loop (an MCP client, an in-process server) keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = await anyio.to_thread.run_sync(condition)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout, detail))
        await anyio.sleep(interval)


def _timed_out(what: str, timeout: float, detail: Callable[[], str] | None) -> str:
    return f"waited {timeout:g} s for {what}" + (f":\n{detail()}" if detail else "")
