"""The MCP Bundle's entry point (manifest.json `server.entry_point`): `kyc-mcp serve` from the bundled `server/lib`.

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

LIB = Path(__file__).resolve().parent / "lib"
PLACEHOLDER = re.compile(r"\$\{user_config\.[^}]*\}")


def main(argv: list[str]) -> int:
    for name, value in list(os.environ.items()):
        if PLACEHOLDER.fullmatch(value):
            del os.environ[name]
    roots = [arg for arg in argv if arg.strip() and not PLACEHOLDER.fullmatch(arg)]
    if roots:
        os.environ["KYC_MCP_UPLOAD_ROOTS"] = os.pathsep.join(roots)
    sys.path.insert(0, str(LIB))
    from kyc_mcp.server.cli import main as cli

    return cli(["serve"])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
