"""A keyring backend for tests that counts how often a process looked for it (`keyring.get_keyring()` builds
the backend it finds): `keyrings.alt`'s plaintext file keyring, in the folder `XDG_DATA_HOME` names."""

from __future__ import annotations

from typing import Any

from keyrings.alt.file import PlaintextKeyring


class CountingKeyring(PlaintextKeyring):
    made = 0
    priority = 1  # type: ignore[assignment]  # a real store's priority: kyc-mcp trusts it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)
