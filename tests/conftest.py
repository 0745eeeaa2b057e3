"""Fixtures shared by every suite.

- `sandbox`: one in-process sandbox for the whole session, with decisions only through the admin API
  (review delay -1), so a submitted KYC stays pending until a test decides it. Tests must not change its
  settings: use `sandbox_factory` for that.
- `user`: a fresh, logged-in user on `sandbox` (phone and email verified), so tests never share state.
- `sandbox_factory`: starts function-scoped sandboxes with given `SandboxSettings` keywords.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import Sandbox, User, running_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(review_delay_seconds=-1) as sb:
        yield sb


@pytest.fixture
def user(sandbox: Sandbox) -> User:
    return sandbox.new_user()


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    with contextlib.ExitStack() as stack:

        def start(**settings: Any) -> Sandbox:
            return stack.enter_context(running_sandbox(**settings))

        yield start
