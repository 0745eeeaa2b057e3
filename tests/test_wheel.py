"""The server's wheel ships no sandbox: no `kyc_sandbox` or `sandbox` module, no seeded demo credentials, no
canary secrets and no admin routes (`/sandbox/...`). The sandbox is its own distribution (packages/kyc-sandbox).

The forbidden values are read from kyc_sandbox itself, so the check cannot go stale when they change. The wheel
is built as a user would (`pip wheel .`), offline: no dependencies, no build isolation (hatchling comes with
the `test` extra).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kyc_sandbox import app, auth, canaries, envelopes

ROOT = Path(__file__).resolve().parent.parent
# Long enough that finding one in the wheel is no coincidence (the CVV, PIN and OTP are 3-6 digits: a RECORD
# hash or any number could hold them), and the sandbox's own: the 16-digit card is the public Visa test number,
# which the server's redactor quotes in its examples. The 19-digit card is checked digits-only and formatted.
PUBLIC_TEST_VALUES = {canaries.CANARIES["card_16"]}
CANARY_VALUES = sorted(
    {value for value in canaries.CANARIES.values() if len(value) >= 12 and value not in PUBLIC_TEST_VALUES}
    | {canaries.CARD_19}
)
CREDENTIALS = (auth.DEMO_EMAIL, auth.DEMO_PASSWORD, auth.DEMO_PHONE)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run([*command, "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("kyc_mcp-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _files(wheel: zipfile.ZipFile) -> dict[str, bytes]:
    return {name: wheel.read(name) for name in wheel.namelist() if not name.endswith("/")}


def test_the_wheel_is_the_server(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "kyc_mcp/server/cli.py" in names and "kyc_mcp/guard/redact.py" in names
    assert all(name.startswith(("kyc_mcp/", "kyc_mcp-")) for name in names), names


def test_the_wheel_holds_no_sandbox_module(wheel: zipfile.ZipFile) -> None:
    assert [name for name in wheel.namelist() if "sandbox" in name.lower()] == []


def test_the_wheel_holds_no_sandbox_code(wheel: zipfile.ZipFile) -> None:
    """No file of the sandbox, under any name: none has the source of one of kyc_sandbox's modules."""
    package = Path(app.__file__).parent
    sources = {path.name: path.read_bytes() for path in package.glob("*.py") if len(path.read_bytes()) > 200}
    assert len(sources) >= 10
    copies = [(name, module) for name, data in _files(wheel).items() for module, src in sources.items() if src == data]
    assert copies == []


def test_the_wheel_holds_no_seeded_credentials_or_canaries(wheel: zipfile.ZipFile) -> None:
    found = [
        (name, value)
        for name, data in _files(wheel).items()
        if not name.endswith("/METADATA")  # the README, checked below
        for value in (*CREDENTIALS, *CANARY_VALUES)
        if value.encode() in data
    ]
    assert found == []


def test_the_wheel_holds_no_admin_routes(wheel: zipfile.ZipFile) -> None:
    assert envelopes.ADMIN_PREFIX == "/sandbox/"
    assert all(path.startswith(envelopes.ADMIN_PREFIX) for _, path, _ in app.ADMIN_ROUTES)
    found = [name for name, data in _files(wheel).items() if envelopes.ADMIN_PREFIX.encode() in data]
    assert found == []


def test_the_wheels_description_quotes_no_demo_credentials(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert [value for value in (*CREDENTIALS, *CANARY_VALUES) if value in text] == []
