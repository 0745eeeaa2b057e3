"""A bounded load run: mixed calls from 20 concurrent clients (one user each) over streamable HTTP against the
sandbox for 60 seconds (`KYC_MCP_LOAD_SECONDS`), with no failed call and the server's memory growing by less
than 10% after warm-up. The warm-up is an amount of work (10 rounds per client, about 5 s here), not a time, so
a slow machine cannot take the baseline before the server has warmed up, nor end the run before it."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.hosted.clients import connect_http
from tests.hosted.conftest import StartServer
from tests.support.clients import Sandbox, User
from tests.support.files import JPEG_BYTES, b64
from tests.support.mcp_client import ok
from tests.support.payloads import unique_number

pytestmark = pytest.mark.anyio
CLIENTS = 20
SECONDS = float(os.environ.get("KYC_MCP_LOAD_SECONDS", "60"))
WARM_UP_ROUNDS = 10  # per client, before the memory baseline; every client also does two rounds after it
NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis", "Frances"]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _one_round(client: Client, rng: random.Random) -> list[str]:
    """One user's mixed round: reads, profile writes, and the cardholder steps up to validation."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_profile", {}),
        ("get_kyc_metadata", {}),
        ("update_profile", {"english_first_name": rng.choice(NAMES), "city": "Singapore"}),
        ("get_kyc_status", {}),
        ("get_document", {}),
        ("upload_kyc_file", {"file_data": b64(JPEG_BYTES), "file_name": "front.jpg", "mime_type": "image/jpeg"}),
        ("validate_kyc_document", {"document_type": "passport", "number_id": unique_number()}),
    ]
    rng.shuffle(calls[3:5])
    for tool, arguments in calls:
        await ok(client, tool, arguments)
    return [tool for tool, _ in calls]


@pytest.mark.skipif(SECONDS <= 0, reason="KYC_MCP_LOAD_SECONDS=0 turns the load run off")
async def test_mixed_load_from_20_clients_for_a_minute(start_server: StartServer, hosted_sandbox: Sandbox) -> None:
    server = start_server()
    users: list[User] = [hosted_sandbox.new_user() for _ in range(CLIENTS)]
    done: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + SECONDS
    baseline: list[int] = []
    warmed_up: list[int] = []

    async def client_loop(index: int) -> None:
        rng = random.Random(index)
        async with connect_http([server.url], users[index].access_token) as (client, _):
            await ok(client, "create_masterpay_user")
            rounds = 0
            while rounds < WARM_UP_ROUNDS + 2 or time.monotonic() < deadline:
                done.update(await _one_round(client, rng))
                rounds += 1
                if rounds == WARM_UP_ROUNDS:
                    warmed_up.append(index)
                    if len(warmed_up) == CLIENTS:  # the last client to warm up takes the baseline
                        baseline.append(rss_bytes(server.proc.pid))

    async with anyio.create_task_group() as group:
        for index in range(CLIENTS):
            group.start_soon(client_loop, index)
    elapsed = time.monotonic() - started
    final = rss_bytes(server.proc.pid)
    total = sum(done.values())
    print(f"\nload: {total} calls in {elapsed:.1f} s ({total / elapsed:.0f}/s) from {CLIENTS} clients; {dict(done)}")
    print(f"server RSS after warm-up {baseline[0] / 2**20:.1f} MiB, at the end {final / 2**20:.1f} MiB")
    assert total >= CLIENTS * 7 and min(done.values()) > 0
    assert final < baseline[0] * 1.10, f"memory grew from {baseline[0]} to {final} bytes"
