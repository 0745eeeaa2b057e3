"""The docs stay usable: the README stays short (the details live in docs/), every relative link in the
README, PRIVACY.md, docs/*.md and the packages' READMEs points to a file of this repository (and, with a
#fragment, to one of its headings), and so does every link of the bundle manifest and registry entry into it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 150
DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "PRIVACY.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "packages").glob("*/README.md")]
)
REPOSITORY_FILE = re.compile(r"https://github\.com/kyc-mcp/kyc-mcp/blob/main/([^#?]+)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.MULTILINE | re.DOTALL)


def links(text: str) -> list[str]:
    """The targets of the inline links outside code."""
    return LINK.findall(CODE.sub("", text))


def anchors(path: Path) -> set[str]:
    """The fragments GitHub gives a markdown file's headings (lower case, punctuation dropped, spaces as `-`,
    a repeated heading numbered)."""
    seen: dict[str, int] = {}
    for line in CODE.sub("", path.read_text(encoding="utf-8")).splitlines():
        if match := re.match(r"#{1,6} +(.*?) *#* *$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            if count:
                seen[f"{slug}-{count}"] = 1
    return set(seen)


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move details into docs/"


def test_the_link_finder_sees_links_but_not_code() -> None:
    text = "see [a](docs/a.md#x) and [b](https://example.com)\n`[c](c.md)`\n```\n[d](d.md)\n```\n"
    assert links(text) == ["docs/a.md#x", "https://example.com"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(document: Path) -> None:
    broken = []
    for target in links(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...: not a file of this repository
            continue
        name, _, fragment = target.partition("#")
        path = (document.parent / name).resolve() if name else document
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(f"{target}: no such file in the repository")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{target}: {path.relative_to(ROOT)} has no heading #{fragment}")
    assert not broken, f"{document.relative_to(ROOT)}: " + "; ".join(broken)


def strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("name", ["manifest.json", "server.json"])
def test_the_bundle_s_links_into_the_repository_point_to_existing_files(name: str) -> None:
    files = [
        m.group(1)
        for s in strings(json.loads((ROOT / name).read_text(encoding="utf-8")))
        if (m := REPOSITORY_FILE.match(s))
    ]
    assert all((ROOT / file).is_file() for file in files), f"{name} links to missing files: {files}"
