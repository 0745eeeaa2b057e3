"""The tool list's cost: the bytes of `tools/list` and the tokens of the part a model reads, for the previous release
(the `tools/list` snapshot at git commit 1cf855a) and the current tree, side by side.

- bytes: the `tools/list` result (`{"tools": [...]}`) as compact UTF-8 JSON, the way it travels;
- model-visible: each tool's `name`, `description` and `inputSchema` (what hosts show a model), and the same with
  `outputSchema` for hosts that show that too, counted as compact JSON.

Tokens are counted offline with OpenAI's o200k_base encoding, whose ranks ship inside the npm package js-tiktoken
(`npm ci --prefix benchmarks/tokenizer`, run with the machine's Node). Without Node or that package the count is the
documented rule of thumb of about four characters per token, and the report says which it used. Targets: bytes at
most half the previous release's and under 20 KB; model-visible tokens under 2,500. Sizes only: nothing is timed, so
a loaded machine gives the same figures.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from benchmarks.measure import FULL, Report, Scale, Target, cli
from kyc_mcp.config import Settings
from kyc_mcp.server.app import build_server

ROOT = Path(__file__).parents[1]
PREVIOUS = "1cf855a"  # the previous release
SNAPSHOT = "tests/server/snapshots/tools.json"
TOKENIZER = Path(__file__).with_name("tokenizer")
VISIBLE = ("name", "description", "inputSchema")
TARGET_BYTES, TARGET_TOKENS = 20_000, 2_500


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def previous_tools() -> list[dict[str, Any]] | None:
    """The previous release's tools/list, from its snapshot in git (None in a clone without that commit)."""
    try:
        shown = subprocess.run(
            ["git", "show", f"{PREVIOUS}:{SNAPSHOT}"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    tools: list[dict[str, Any]] = json.loads(shown.stdout)
    return tools


async def current_tools() -> list[dict[str, Any]]:
    """The current tree's tools/list, as a client sees it with the default settings (as the snapshot is made)."""
    async with Client(build_server(Settings())) as client:
        listed = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed.tools]


def tokenizer() -> str | None:
    """The command that counts tokens offline, when Node and js-tiktoken are installed."""
    node = shutil.which("node")
    if node is None or not (TOKENIZER / "node_modules" / "js-tiktoken").is_dir():
        return None
    return node


def count_tokens(texts: list[str]) -> tuple[list[int], str]:
    """Each text's token count, and how it was counted."""
    node = tokenizer()
    if node is not None:
        try:
            counted = subprocess.run(
                [node, str(TOKENIZER / "count.mjs")],
                input=json.dumps(texts),
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            return json.loads(counted.stdout), "o200k_base (js-tiktoken 1.0.21, offline)"
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    approximate = [math.ceil(len(text) / 4) for text in texts]
    return approximate, "approximate: characters / 4 (js-tiktoken not installed: npm ci --prefix benchmarks/tokenizer)"


def figures(tools: list[dict[str, Any]]) -> tuple[int, str, str]:
    """The list's bytes, and its model-visible text without and with the output schemas."""
    visible = [{key: tool[key] for key in VISIBLE if key in tool} for tool in tools]
    with_output = [{key: tool[key] for key in (*VISIBLE, "outputSchema") if key in tool} for tool in tools]
    return len(compact({"tools": tools}).encode()), compact(visible), compact(with_output)


def run(scale: Scale = FULL) -> Report:  # the scale does not matter: sizes are counted, not timed
    variants = {f"previous release ({PREVIOUS})": previous_tools(), "current tree": anyio.run(current_tools)}
    measured = {name: (tools, figures(tools)) for name, tools in variants.items() if tools is not None}
    texts = [text for _, (_, visible, with_output) in measured.values() for text in (visible, with_output)]
    counts, how = count_tokens(texts)
    report = Report(
        "The tool list: tools/list bytes and model-visible tokens",
        ["tools/list", "tools", "bytes", "model-visible bytes", "model-visible tokens", "tokens with outputSchema"],
    )
    tokens: dict[str, tuple[int, int]] = {}
    for index, (name, (tools, (size, visible, _))) in enumerate(measured.items()):
        tokens[name] = (counts[2 * index], counts[2 * index + 1])
        report.rows.append([name, len(tools), size, len(visible.encode()), *tokens[name]])
    current = measured["current tree"][1][0]
    report.targets.append(Target("tools/list bytes (current)", current, TARGET_BYTES))
    report.targets.append(Target("model-visible tokens (current)", tokens["current tree"][0], TARGET_TOKENS))
    if len(measured) == 2:
        before = next(iter(measured.values()))[1][0]
        report.targets.append(Target("tools/list bytes, current / previous release", current / before, 0.5))
    else:
        report.notes.append(f"the previous release's snapshot is not in this clone (git show {PREVIOUS}:{SNAPSHOT})")
    report.notes.append(f"tokens: {how}")
    report.notes.append("model-visible: each tool's name, description and inputSchema as compact JSON")
    return report


if __name__ == "__main__":
    cli(run)
