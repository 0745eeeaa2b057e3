"""The official MCP conformance suite against `kyc-mcp serve --transport http`, compared with expected.json.

    npm ci --prefix tests/conformance          # the suite and the Node >= 22 it needs (npm package `node`)
    .venv/bin/python -m tests.conformance.run  # --markdown prints the table for docs/testing.md

It starts the sandbox (in this process) with a user, and the server as a subprocess: stateful, SSE replies,
platform tokens forwarded and verified with the sandbox's JWT key. The suite cannot send a header, so the server
runs in the test-only mode `KYC_MCP_INSECURE_LOOPBACK_BEARER` (server/insecure.py, docs/testing.md): a loopback
request without a token is served as that user. Then it runs every server scenario of the pinned suite
(`conformance server --url ... --suite all`) and reads each scenario's checks.json: a scenario fails when a check
fails, warns when one warns, and passes otherwise.

Exit status 1 when an applicable scenario does not pass, or the suite's scenarios and the table's differ (a new
scenario must be classified); a scenario that does not apply may do anything, and a change in what it does is
only reported.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.hosted.conftest import AUDIENCE, JWT_SECRET, launch
from tests.support.clients import running_sandbox

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node" / "bin" / "node"
SUITE = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
EXPECTED = HERE / "expected.json"
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
SUITE_TIMEOUT_SECONDS = 300


def suite(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    if not NODE.exists() or not SUITE.exists():
        raise SystemExit("the conformance suite is not installed: npm ci --prefix tests/conformance")
    return subprocess.run([str(NODE), str(SUITE), *args], capture_output=True, text=True, timeout=timeout)


def scenarios() -> list[str]:
    """The suite's server scenarios, from `conformance list --server`."""
    listed = suite("list", "--server")
    if listed.returncode != 0:
        raise SystemExit(f"conformance list failed:\n{listed.stderr}")
    return [m.group(1) for m in re.finditer(r"^\s*- (\S+) \[", listed.stdout, re.MULTILINE)]


@contextmanager
def hosted_server(logs: Path) -> Iterator[str]:
    """The MCP URL of a server on a fresh sandbox, serving tokenless loopback requests as one sandbox user."""
    with running_sandbox(jwt_secret=JWT_SECRET, review_delay_seconds=-1) as sandbox:
        user = sandbox.new_user()
        env = {
            "AIOT_API_BASE_URL": sandbox.url,
            "KYC_MCP_FORWARD_PLATFORM_TOKENS": "1",
            "KYC_MCP_JWT_KEY": JWT_SECRET,
            "KYC_MCP_JWT_AUDIENCE": AUDIENCE,
            "KYC_MCP_INSECURE_LOOPBACK_BEARER": user.access_token,
            "KYC_MCP_MAX_SESSIONS_PER_USER": "200",  # the suite opens a session per scenario and never closes one
        }
        server = launch(logs, env)
        try:
            yield server.mcp_url
        finally:
            server.stop()


def outcome(checks: list[dict[str, Any]]) -> str:
    statuses = {check.get("status") for check in checks}
    return "fail" if "FAILURE" in statuses or not checks else "warn" if "WARNING" in statuses else "pass"


def run_suite(url: str, out: Path) -> dict[str, list[dict[str, Any]]]:
    """Every server scenario against `url`: scenario -> its checks."""
    ran = suite("server", "--url", url, "--suite", "all", "--output-dir", str(out), timeout=SUITE_TIMEOUT_SECONDS)
    results: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted(out.iterdir()):
        if (match := RESULT_DIR.match(folder.name)) and (folder / "checks.json").exists():
            results[match.group("scenario")] = json.loads((folder / "checks.json").read_text())
    if not results:
        raise SystemExit(f"the suite wrote no results (exit {ran.returncode}):\n{ran.stdout}\n{ran.stderr}")
    return results


def why_not(checks: list[dict[str, Any]]) -> str:
    """The first failing or warning check's message."""
    for check in checks:
        if check.get("status") in ("FAILURE", "WARNING"):
            return f"{check.get('id')}: {check.get('errorMessage') or check.get('description')}"
    return ""


def compare(
    table: dict[str, dict[str, Any]], listed: list[str], outcomes: dict[str, str]
) -> tuple[list[str], list[str]]:
    """(problems, notes): what fails the run, and what only changed."""
    problems = [f"{name}: a scenario of the suite missing from expected.json" for name in listed if name not in table]
    problems += [f"{name}: in expected.json, not in the suite" for name in table if name not in listed]
    notes = []
    for name, row in table.items():
        got = outcomes.get(name, "not run")
        if row["applies"] and got != "pass":
            problems.append(f"{name}: applies, but {got}")
        elif got != row["outcome"]:
            notes.append(f"{name}: does not apply; expected.json says it would {row['outcome']}, it did {got}")
    return problems, notes


def markdown(table: dict[str, dict[str, Any]], outcomes: dict[str, str]) -> str:
    lines = ["| scenario | applies | outcome | why |", "| --- | --- | --- | --- |"]
    for name, row in table.items():
        applies = "yes" if row["applies"] else "no"
        lines.append(f"| `{name}` | {applies} | {outcomes.get(name, 'not run')} | {row['why']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.run", description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the outcome table as markdown")
    parser.add_argument("--keep", type=Path, help="keep the suite's results and the server log in this folder")
    args = parser.parse_args(argv)
    expected = json.loads(EXPECTED.read_text())
    table: dict[str, dict[str, Any]] = expected["scenarios"]
    listed = scenarios()
    version = suite("--version").stdout.strip()
    node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True).stdout.strip()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        with hosted_server(work) as url:
            results = run_suite(url, work / "results")
    outcomes = {name: outcome(checks) for name, checks in results.items()}
    problems, notes = compare(table, listed, outcomes)
    seconds = time.monotonic() - started
    if args.markdown:
        print(markdown(table, outcomes))
    else:
        for name, row in table.items():
            got = outcomes.get(name, "not run")
            detail = "" if got == "pass" else f"  ({why_not(results.get(name, []))})"
            print(f"{'applies' if row['applies'] else 'n/a':8} {got:8} {name}{detail if row['applies'] else ''}")
    applicable = [name for name, row in table.items() if row["applies"]]
    passed = sum(outcomes.get(name) == "pass" for name in applicable)
    print(
        f"\nconformance {version} on node {node}: {passed}/{len(applicable)} applicable scenarios pass, "
        f"{len(table) - len(applicable)} do not apply; {seconds:.1f} s",
        file=sys.stderr,
    )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
