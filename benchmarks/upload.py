"""A 15 MB upload by path: `upload_kyc_document` through the full server (in-memory client) vs a raw `httpx2`
multipart upload of the same file to the same sandbox endpoint. Each upload runs in a fresh process of its own
(`--worker`), which reports its time and the growth of its peak RSS over its RSS just before the upload.
Target: the server's peak RSS growth <= 3x the file size."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from benchmarks.measure import FULL, Report, Scale, Target, cli, sandbox_process, size_label
from tests.support.processes import clean_env

DOCUMENTS_PATH = "/api/v1/masterpay/kyc/documents"


def _memory(field: str) -> int:
    """A `/proc/self/status` memory figure (VmRSS: now, VmHWM: the peak so far), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field}")


def _reset_peak() -> int:
    """Start the peak RSS afresh (Linux: writing 5 to clear_refs resets VmHWM), so that it measures the upload
    only; the RSS now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _memory("VmRSS")


async def _full(url: str, token: str, path: Path) -> tuple[float, int]:
    from mcp import Client

    from kyc_mcp.config import Settings
    from kyc_mcp.server.app import build_server

    server = build_server(Settings(api_base_url=url, access_token=token, upload_roots=(path.parent,), consent="never"))
    async with Client(server) as client:
        await client.call_tool("create_masterpay_user", {})
        before = _reset_peak()
        started = time.perf_counter()
        result = await client.call_tool(
            "upload_kyc_document", {"document_type": "PassportFront", "file_path": str(path)}
        )
        seconds = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(result.content[0].text)
    return seconds, before


async def _raw(url: str, token: str, path: Path) -> tuple[float, int]:
    async with httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        await http.get("/api/v1/profile")  # connected, as the server's pool is
        before = _reset_peak()
        started = time.perf_counter()
        data = path.read_bytes()
        files = {"file": (path.name, data, "image/jpeg")}
        response = await http.post(DOCUMENTS_PATH, files=files, data={"document_type": "PassportFront"})
        seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds, before


def worker(variant: str, url: str, token: str, path: Path) -> None:
    """One upload in this process; prints {seconds, before, peak} as JSON (RSS just before it, and its peak)."""
    seconds, before = anyio.run({"full": _full, "raw": _raw}[variant], url, token, path)
    print(json.dumps({"seconds": seconds, "before": before, "peak": _memory("VmHWM")}))


def _one(variant: str, url: str, token: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.upload", "--worker", variant, url, token, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(PYTHONPATH=os.pathsep.join(sys.path)),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {variant} upload failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def measure(scale: Scale) -> Report:
    size = scale.upload_bytes
    report = Report(
        f"Upload of a {size_label(size)} JPEG by path ({scale.rounds} interleaved rounds, a fresh process each)",
        ["variant", "median s", "median peak RSS growth MB", "growth / file size"],
    )
    with tempfile.TemporaryDirectory() as folder, sandbox_process() as sandbox:
        path = Path(folder) / "passport.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(size - 4))
        token = sandbox.new_user().access_token
        runs: dict[str, list[dict[str, Any]]] = {"full": [], "raw": []}
        for index in range(scale.rounds):
            for variant in ("full", "raw") if index % 2 == 0 else ("raw", "full"):
                runs[variant].append(_one(variant, sandbox.url, token, path))
    growth: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for variant, results in runs.items():
        seconds[variant] = statistics.median(r["seconds"] for r in results)
        growth[variant] = statistics.median(r["peak"] - r["before"] for r in results)
        report.rows.append([variant, seconds[variant], growth[variant] / 1e6, growth[variant] / size])
    report.targets.append(Target("server peak RSS growth / file size", growth["full"] / size, 3.0))
    report.notes.append(f"time, server vs raw httpx2: {seconds['full'] / seconds['raw']:.2f}x")
    return report


def run(scale: Scale = FULL) -> Report:
    return measure(scale)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5]))
    else:
        cli(run)
