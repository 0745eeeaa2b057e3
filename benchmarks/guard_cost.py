"""Guard cost: the latency of `get_profile` and `submit_kyc` through the full server (validation, auth, flow
order with its evidence reads, recording, next steps, redaction) vs a bare `MCPServer` whose tools forward the
same upstream request with plain `httpx2`. Both run over the SDK's in-memory client against one sandbox process;
target: full/bare <= 1.10 at the median."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.server import MCPServer

from benchmarks.measure import (
    FULL,
    QUICK,
    Report,
    Scale,
    Target,
    interleaved,
    latencies,
    median_ratio,
    percentile,
    sandbox_process,
)
from kyc_mcp.config import Settings
from kyc_mcp.models.masterpay import KycSubmission, Profile
from kyc_mcp.server.app import build_server
from tests.helpers import PDF_BYTES, Sandbox, User

PROFILE_PATH = "/api/v1/profile"
SUBMIT_PATH = "/api/v1/masterpay/kyc/submit"
LATENCIES_MS = (0, 20)  # loopback, and a nearby remote upstream


def bare_server(base_url: str, token: str) -> MCPServer[Any]:
    """The baseline: the same two upstream requests as tools returning the same output models (so the client
    checks the same output schemas), with nothing around them."""
    server: MCPServer[Any] = MCPServer("bare")
    http = httpx2.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    @server.tool()
    async def get_profile() -> Profile:
        return Profile.model_validate((await http.get(PROFILE_PATH)).json()["data"])

    @server.tool()
    async def submit_kyc() -> KycSubmission:
        return KycSubmission.model_validate((await http.post(SUBMIT_PATH)).json()["data"])

    return server


def full_server(base_url: str, token: str) -> MCPServer[Any]:
    return build_server(Settings(api_base_url=base_url, access_token=token, consent="never"))


@asynccontextmanager
async def connected(server: MCPServer[Any]) -> AsyncIterator[Client]:
    async with Client(server) as client:
        yield client


async def _call(client: Client, tool: str) -> None:
    result = await client.call_tool(tool, {})
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content[0].text}")


def ready_to_submit(sandbox: Sandbox) -> User:
    """A user whose profile is complete and whose identity document and proof of address are uploaded."""
    user = sandbox.new_user()
    user.set_complete_profile()
    user.upload_document("PassportFront")
    user.upload_document("ProofOfAddress", PDF_BYTES, "bill.pdf", "application/pdf")
    return user


async def _profile_round(client: Client, calls: int) -> list[float]:
    return await latencies(lambda: _call(client, "get_profile"), calls)


async def _submit_round(sandbox: Sandbox, make: Any, calls: int) -> list[float]:
    """`calls` first submissions, each by a fresh user (a user can have one pending KYC)."""
    users = await anyio.to_thread.run_sync(lambda: [ready_to_submit(sandbox) for _ in range(calls)])
    taken: list[float] = []
    for user in users:
        async with connected(make(sandbox.url, user.access_token)) as client:
            for step in ("create_masterpay_user", "get_profile"):  # the flow's earlier steps, recorded (untimed)
                await client.call_tool(step, {})
            taken += await latencies(lambda client=client: _call(client, "submit_kyc"), 1)
    return taken


async def _scenario(sandbox: Sandbox, scale: Scale, report: Report, latency_ms: int) -> None:
    """Both tools, both variants, with the sandbox answering after `latency_ms` (0: loopback)."""
    sandbox.put_settings(latency_ms=latency_ms)
    calls = max(2, scale.calls // (1 + latency_ms // 5))
    submits = max(2, calls // 5)
    reader = sandbox.new_user()
    async with (
        connected(full_server(sandbox.url, reader.access_token)) as full,
        connected(bare_server(sandbox.url, reader.access_token)) as bare,
    ):
        await _profile_round(full, 3)  # warm both up
        await _profile_round(bare, 3)
        profile = await interleaved(
            scale.rounds, {"full": lambda: _profile_round(full, calls), "bare": lambda: _profile_round(bare, calls)}
        )
    submit = await interleaved(
        scale.rounds,
        {
            "full": lambda: _submit_round(sandbox, full_server, submits),
            "bare": lambda: _submit_round(sandbox, bare_server, submits),
        },
    )
    for tool, samples, count in (("get_profile", profile, calls), ("submit_kyc", submit, submits)):
        flat = {name: [s for run in runs for s in run] for name, runs in samples.items()}
        for variant in ("full", "bare"):
            p50, p99 = percentile(flat[variant], 50) * 1000, percentile(flat[variant], 99) * 1000
            report.rows.append([f"{latency_ms} ms", tool, variant, count * scale.rounds, p50, p99])
        for q in (50, 99):
            ratio = median_ratio(samples["full"], samples["bare"], q)
            report.targets.append(Target(f"{tool} full/bare p{q}, upstream latency {latency_ms} ms", ratio, 1.10))


async def measure(scale: Scale) -> Report:
    report = Report(
        f"Guard cost (in-memory client; {scale.rounds} interleaved rounds; ratios are medians of per-round ratios)",
        ["upstream latency", "tool", "variant", "calls", "p50 ms", "p99 ms"],
    )
    with sandbox_process() as sandbox:
        for latency_ms in LATENCIES_MS:
            await _scenario(sandbox, scale, report, latency_ms)
    return report


def run(scale: Scale = FULL) -> Report:
    return anyio.run(measure, scale)


if __name__ == "__main__":
    print(run(QUICK if "--quick" in sys.argv else FULL).markdown())
