"""Guard fixtures: a sandbox that decides KYC at once (review delay 0), for flows that must reach approval."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clients import Sandbox, running_sandbox


@pytest.fixture(scope="module")
def fast_sandbox() -> Iterator[Sandbox]:
    with running_sandbox(review_delay_seconds=0) as sandbox:
        yield sandbox
