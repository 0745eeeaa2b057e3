"""The Redis flow-state store's cost per guarded write (issue 18), on a `redis-server` of its own on loopback:
Redis round trips (writes to a socket) and the commands Redis ran for one call's state update, the bytes stored
per principal after get_kyc_metadata, and, as a side note, the wall time of a guarded write (the read before the
call and the update after it) beside the in-memory store's.

Standalone (`python -m benchmarks.redis_store [--writes N]`; needs `redis-server` on the PATH). It uses only what
every revision of the store has (`get`, `update`), so the same file measures an older tree too:
`PYTHONPATH=<that tree>/src python -m benchmarks.redis_store`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import redis as redis_py
from redis.asyncio.connection import AbstractConnection

from kyc_mcp.flow import effects
from kyc_mcp.flow.facts import Fact
from kyc_mcp.guard.redis_store import RedisStore
from kyc_mcp.guard.state import FlowState, MemoryStore
from kyc_mcp.operations import TABLE
from kyc_mcp.vocabulary import OCCUPATIONS
from kyc_sandbox.reference import COUNTRIES

SANDBOX_COUNTRIES = [{"code": code, "name": name} for code, name in COUNTRIES.items()]
# As many countries as ISO 3166 has (249): two-letter codes and names of a realistic length.
WORLD_COUNTRIES = [{"code": chr(65 + i // 26) + chr(65 + i % 26), "name": f"Country number {i}"} for i in range(249)]


def metadata(countries: list[dict[str, str]]) -> dict[str, Any]:
    return {"occupations": list(OCCUPATIONS), "nationalities": countries, "countries": countries}


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis_py.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis_py.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


SENT = [0]
_send = AbstractConnection.send_packed_command


async def _counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
    SENT[0] += 1
    await _send(self, command, check_health)


AbstractConnection.send_packed_command = _counted  # type: ignore[method-assign]


def commands(raw: redis_py.Redis) -> dict[str, int]:
    stats: dict[str, Any] = raw.info("commandstats")  # type: ignore[assignment]
    raw.config_resetstat()
    ran = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
    return {name: calls for name, calls in sorted(ran.items()) if name not in ("info", "config|resetstat")}


def adding(fact: Fact) -> Callable[[FlowState], None]:
    return lambda state: state.facts.add(fact)


def read_metadata(data: dict[str, Any]) -> Callable[[FlowState], None]:
    op = TABLE.by_name["get_kyc_metadata"]
    change = effects.Change("masterpay", {}, data, FlowState())
    return lambda latest: effects.apply(op.effects, replace(change, state=latest))


async def guarded_write(store: Any, principal: str, change: Callable[[FlowState], None]) -> None:
    """What the guard does for a call that records something: read the state before, update it after."""
    await store.get(principal)
    await store.update(principal, change)


async def run(writes: int) -> None:
    with redis_server() as url:
        raw = redis_py.Redis.from_url(url)
        store = RedisStore(url)
        await store.ping()
        await guarded_write(store, "sub:warm", adding(Fact.MASTERPAY_USER))  # connected, script loaded

        print("## round trips and commands of one guarded write (a principal's second call)")
        await guarded_write(store, "sub:ada", adding(Fact.MASTERPAY_USER))
        commands(raw)
        SENT[0] = 0
        await store.get("sub:ada")
        read = SENT[0]
        await store.update("sub:ada", adding(Fact.METADATA))
        print(f"- read before the call: {read} round trip(s); update: {SENT[0] - read} round trip(s)")
        print(f"- commands Redis ran for both (a script's own counted too): {commands(raw)}")

        print("\n## bytes stored per principal (STRLEN of its state) after create_masterpay_user and the metadata")
        before = 0
        for label, countries in (("the sandbox's metadata", SANDBOX_COUNTRIES), ("249 countries", WORLD_COUNTRIES)):
            for index in range(3):
                principal = f"sub:{label}:{index}"
                await guarded_write(store, principal, adding(Fact.MASTERPAY_USER))
                await guarded_write(store, principal, read_metadata(metadata(countries)))
            sizes = [raw.strlen(store._key(f"sub:{label}:{index}")) for index in range(3)]
            shared = sum(int(raw.strlen(key)) for key in raw.scan_iter("kyc-mcp:flow:choices:*")) - before
            before += shared
            print(f"- {label}: {sizes} B per principal; stored once for all of them: {shared} B")

        print(f"\n## wall time of a guarded write (read + update), median of {writes} (side note)")
        memory = MemoryStore()
        for name, target in (("memory", memory), ("redis", store)):
            samples = []
            for index in range(writes):
                started = time.perf_counter()
                await guarded_write(target, f"sub:timed:{index % 50}", adding(Fact.METADATA))
                samples.append(time.perf_counter() - started)
            print(f"- {name}: {statistics.median(samples) * 1e6:.0f} us")
        await store.aclose()
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=2000, help="guarded writes timed per store")
    asyncio.run(run(parser.parse_args().writes))


if __name__ == "__main__":
    main()
