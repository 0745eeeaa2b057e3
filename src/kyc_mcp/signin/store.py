"""Where a signed-in user's platform tokens live between launches: the operating system's credential store
through `keyring` (macOS Keychain, Windows Credential Locker, Secret Service), or, where no such backend exists
(headless Linux), a JSON file readable only by the user (0600) in the user's state folder.

One record per platform base URL. Every write is whole and atomic (the keychain replaces an entry; the file is
written beside and renamed over). `refresh_lock` serialises refreshes across processes: two servers holding the
same refresh token would otherwise both spend it, and the platform rotates it on use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import filelock
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

SERVICE = "kyc-mcp"
LOCK_TIMEOUT_SECONDS = 30.0
Source = Literal["keychain", "file"]
StoreChoice = Literal["auto", "keyring", "file"]


class StoreError(RuntimeError):
    """The credential store cannot be read or written; the message says which and what to do."""


class StoredLogin(BaseModel):
    """A signed-in user's tokens for one platform base URL."""

    model_config = ConfigDict(frozen=True)

    base_url: str
    email: str | None = None
    access_token: SecretStr
    refresh_token: SecretStr | None = None
    saved_at: float = 0.0
    origin: str | None = None  # digest of the configured refresh token these descend from (variables' rotations)

    def dumps(self) -> str:
        data = self.model_dump(mode="json")
        data["access_token"] = self.access_token.get_secret_value()
        data["refresh_token"] = self.refresh_token.get_secret_value() if self.refresh_token else None
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> StoredLogin | None:
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return None


def digest(secret: str) -> str:
    """A stored reference to a secret that is not the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def state_dir() -> Path:
    """The user's state folder for kyc-mcp (`KYC_MCP_STATE_DIR` overrides)."""
    if override := os.environ.get("KYC_MCP_STATE_DIR", "").strip():
        return Path(override).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / SERVICE
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / SERVICE
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / SERVICE


class Backend(Protocol):
    source: Source
    where: str

    def read(self, base_url: str) -> str | None: ...

    def write(self, base_url: str, text: str) -> None: ...

    def erase(self, base_url: str) -> bool: ...


class KeychainBackend:
    """The OS credential store, through `keyring`: one entry per base URL under the service `kyc-mcp`."""

    source: Source = "keychain"

    def __init__(self, keyring_backend: Any) -> None:
        self._keyring = keyring_backend
        self.where = f"{type(keyring_backend).__module__}.{type(keyring_backend).__name__}"

    def read(self, base_url: str) -> str | None:
        value = self._call(self._keyring.get_password, SERVICE, base_url)
        return value if isinstance(value, str) else None

    def write(self, base_url: str, text: str) -> None:
        self._call(self._keyring.set_password, SERVICE, base_url, text)

    def erase(self, base_url: str) -> bool:
        import keyring.errors

        try:
            self._keyring.delete_password(SERVICE, base_url)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise StoreError(f"the credential store ({self.where}) failed: {type(exc).__name__}") from None
        return True

    def _call(self, method: Any, *args: str) -> Any:
        import keyring.errors

        try:
            return method(*args)
        except keyring.errors.KeyringError as exc:
            raise StoreError(
                f"the credential store ({self.where}) failed: {type(exc).__name__}; unlock it, or set "
                "KYC_MCP_CREDENTIAL_STORE=file to keep credentials in a private file instead"
            ) from None


class FileBackend:
    """A JSON file of records by base URL, mode 0600 in a 0700 folder, replaced atomically on every write."""

    source: Source = "file"

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        self.where = str(path)
        self.why = why  # why a file and not the keychain

    def _records(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"{self.path} cannot be read ({type(exc).__name__}); delete it and sign in again"
            ) from None
        return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}

    def read(self, base_url: str) -> str | None:
        return self._records().get(base_url)

    def write(self, base_url: str, text: str) -> None:
        self._replace({**self._records(), base_url: text})

    def erase(self, base_url: str) -> bool:
        records = self._records()
        if records.pop(base_url, None) is None:
            return False
        self._replace(records)
        return True

    def _replace(self, records: dict[str, str]) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=folder)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(records, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _usable_keyring() -> Any | None:
    """The keyring backend to trust: a real OS store (priority >= 1), or one the user chose explicitly."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    chosen = bool(os.environ.get("PYTHON_KEYRING_BACKEND"))
    return backend if chosen or getattr(backend, "priority", 0) >= 1 else None


class CredentialStore:
    """Load, save and remove the stored login of a base URL, in the backend chosen once: when first used, since
    finding the keychain (`keyring`'s scan of installed backends) took 80-110 ms of a server's start."""

    def __init__(self, backend: Backend | Callable[[], Backend], folder: Path) -> None:
        self._choose = backend if callable(backend) else (lambda: backend)
        self.folder = folder

    @cached_property
    def backend(self) -> Backend:
        return self._choose()

    @property
    def source(self) -> Source:
        return self.backend.source

    def describe(self) -> str:
        if isinstance(self.backend, FileBackend):
            return f"the file {self.backend.where} (readable only by you; {self.backend.why})"
        return f"the system keychain ({self.backend.where})"

    def load(self, base_url: str) -> StoredLogin | None:
        text = self.backend.read(base_url)
        login = StoredLogin.loads(text) if text else None
        return login if login is not None and login.base_url == base_url else None

    def save(self, login: StoredLogin) -> None:
        self.backend.write(login.base_url, login.model_copy(update={"saved_at": time.time()}).dumps())

    def delete(self, base_url: str) -> bool:
        return self.backend.erase(base_url)

    @contextlib.asynccontextmanager
    async def refresh_lock(self, base_url: str, timeout: float = LOCK_TIMEOUT_SECONDS) -> AsyncIterator[None]:
        """Held across processes while one of them spends the refresh token of `base_url` (or saves a login)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = filelock.FileLock(self.folder / f"refresh-{digest(base_url)[:16]}.lock", thread_local=False)
        try:
            await anyio.to_thread.run_sync(partial(lock.acquire, timeout=timeout))
        except filelock.Timeout:
            raise StoreError(f"another kyc-mcp process held the sign-in lock for {timeout:.0f} s; try again") from None
        try:
            yield
        finally:
            lock.release()


def open_credential_store(choice: StoreChoice = "auto", folder: Path | None = None) -> CredentialStore:
    """The keychain when one is usable (or demanded), else the private file in the state folder."""
    folder = folder or state_dir()
    if choice == "file":
        return CredentialStore(FileBackend(folder / "credentials.json", "KYC_MCP_CREDENTIAL_STORE=file"), folder)
    if choice == "keyring":  # demanded: its absence is said at once
        backend = _usable_keyring()
        if backend is None:
            raise StoreError(
                "KYC_MCP_CREDENTIAL_STORE=keyring, but no system keychain is available here; install and unlock "
                "one (Secret Service on Linux), or set KYC_MCP_CREDENTIAL_STORE=file"
            )
        return CredentialStore(KeychainBackend(backend), folder)
    return CredentialStore(partial(_keychain_or_file, folder), folder)


def _keychain_or_file(folder: Path) -> Backend:
    backend = _usable_keyring()
    if backend is not None:
        return KeychainBackend(backend)
    return FileBackend(folder / "credentials.json", "no system keychain was found")
