"""The MCP Bundle's entry point (manifest.json `server.entry_point`): `kyc-mcp serve` from the bundled `src/`.

The host runs it with `uv run --directory <bundle> server/main.py`: uv installs the dependencies the bundle's
`pyproject.toml` names into the bundle's own environment, and this launcher puts the package's sources (`src/`,
beside `server/`, as in the repository) first on the path. Only the standard library is imported before that.

The host passes settings as environment variables, and the chosen document folders as arguments (one per
folder: a `multiple` value cannot be substituted into a variable), which become `KYC_MCP_UPLOAD_ROOTS`. A value
the user left unset can arrive as its literal `${user_config.KEY}` placeholder: it is dropped, so the setting's
default applies.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

SOURCES = Path(__file__).resolve().parent.parent / "src"
PLACEHOLDER = re.compile(r"\$\{user_config\.[^}]*\}")


def main(argv: list[str]) -> int:
    for name, value in list(os.environ.items()):
        if PLACEHOLDER.fullmatch(value):
            del os.environ[name]
    roots = [arg for arg in argv if arg.strip() and not PLACEHOLDER.fullmatch(arg)]
    if roots:
        os.environ["KYC_MCP_UPLOAD_ROOTS"] = os.pathsep.join(roots)
    sys.path.insert(0, str(SOURCES))
    from kyc_mcp.server.cli import main as cli

    return cli(["serve"])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
