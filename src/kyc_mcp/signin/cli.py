"""`kyc-mcp login`, `kyc-mcp logout` and `kyc-mcp whoami`: sign in once on this computer, and see or forget it.

- `login` asks for the email (or takes `--email`) and the password (without echo, or the first line of standard
  input with `--password-stdin`), logs in to the platform (`AIOT_API_BASE_URL`), and saves the tokens in the
  credential store (`store.py`: the system keychain, else a 0600 file). It never makes the attempt that would
  lock the account (`platform.Attempts`) unless told `--last-attempt`.
- `logout` forgets the stored login of the base URL. The platform documents no revocation endpoint, so nothing is
  sent upstream, and it says so.
- `whoami` says who is signed in, where the credentials come from (the variables win over the store), and when
  the access token expires.

No token and no password is ever printed, not even in part. Exit status: 0 done, 1 refused (rejected, locked,
stopped, unavailable, not signed in, a store failure), 2 a usage or configuration error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TextIO

import anyio
from pydantic import SecretStr

from kyc_mcp.config import Settings
from kyc_mcp.durations import duration
from kyc_mcp.guard.auth import claims
from kyc_mcp.signin.platform import LOCKOUT_WARNING, Attempts, LoginFailed, Tokens, log_in
from kyc_mcp.signin.store import CredentialStore, StoredLogin, StoreError, digest, open_credential_store
from kyc_mcp.upstream import Upstream

COMMANDS = ("login", "logout", "whoami")
INTERACTIVE_TRIES = 3  # passwords asked for in one interactive run (the lockout stop may end it sooner)
NOT_SIGNED_IN = "not signed in: run `kyc-mcp login`"
NO_REVOCATION = (
    "The platform documents no endpoint to revoke a token, so nothing was sent to it: the access and refresh "
    "tokens it issued for this sign-in stay valid until they expire."
)


class Usage(Exception):
    """A command used wrongly (exit status 2); the message says how to use it."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The three commands' parsers, on the `kyc-mcp` command line."""
    login = commands.add_parser("login", help="sign in to the platform once and keep the tokens on this computer")
    login.add_argument("--email", default=None, help="the account's email (asked for when left out)")
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking (one try)",
    )
    login.add_argument(
        "--last-attempt",
        action="store_true",
        help="try even after four failed sign-ins in a row, although a fifth failure locks the account",
    )
    commands.add_parser("logout", help="forget the stored sign-in of the platform (nothing is revoked upstream)")
    whoami = commands.add_parser("whoami", help="who is signed in, from where, and until when (prints no token)")
    whoami.add_argument("--json", action="store_true", help="print it as JSON")


def run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    """Run `login`, `logout` or `whoami`; its exit status."""
    try:
        if command == "login":
            return login(settings, email=args.email, password_stdin=args.password_stdin, last_attempt=args.last_attempt)
        if command == "logout":
            return logout(settings, sys.stdout)
        return whoami(settings, sys.stdout, as_json=args.json)
    except Usage as exc:
        _say(str(exc))
        return 2
    except StoreError as exc:
        _say(str(exc))
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        _say("interrupted; not signed in" if command == "login" else "interrupted")
        return 130
    except EOFError:
        print(file=sys.stderr)
        _say("standard input ended before the answer; nothing was sent, not signed in")
        return 1


def _say(message: str) -> None:
    print(f"kyc-mcp: {message}", file=sys.stderr, flush=True)


def _store(settings: Settings) -> CredentialStore:
    return open_credential_store(settings.credential_store)


# ------------------------------------------------------------------------------------------------ login


def login(settings: Settings, *, email: str | None, password_stdin: bool, last_attempt: bool) -> int:
    base_url = settings.api_base_url
    if password_stdin and not email:
        raise Usage("--password-stdin reads the password from standard input, so give the email with --email")
    if password_stdin and sys.stdin.isatty():
        raise Usage(
            "--password-stdin reads a password piped in, and standard input is a terminal (it would echo); leave "
            "--password-stdin out to be asked without echo"
        )
    if not password_stdin and not sys.stdin.isatty():
        raise Usage(
            "standard input is not a terminal, so kyc-mcp cannot ask for the password without echo; pipe it in "
            "with `--email EMAIL --password-stdin`"
        )
    store = _store(settings)
    attempts = Attempts(store.folder)
    print(f"Signing in to the platform at {base_url}.", file=sys.stderr)
    print(LOCKOUT_WARNING, file=sys.stderr, flush=True)
    email = (email or _ask("Email: ")).strip()
    if not email:
        raise Usage("no email given; run `kyc-mcp login` again and type the account's email")
    tries = 1 if password_stdin or last_attempt else INTERACTIVE_TRIES
    tokens: Tokens | None = None
    for attempt in range(1, tries + 1):
        password = _stdin_password() if password_stdin else getpass.getpass("Password: ", stream=sys.stderr)
        if not password:
            raise Usage("the password is empty; nothing was sent")
        try:
            tokens = anyio.run(_log_in, settings, attempts, email, password, last_attempt)
        except LoginFailed as failed:
            _say(failed.message)
            if failed.kind != "rejected":
                return 1
            if attempt == tries:
                _say("not signed in; check the email and password, then run `kyc-mcp login` again")
                return 1
            print("Try the password again (Ctrl-C to stop).", file=sys.stderr, flush=True)
            continue
        finally:
            del password
        break
    assert tokens is not None
    saved = StoredLogin(
        base_url=base_url,
        email=email,
        access_token=SecretStr(tokens.access),
        refresh_token=SecretStr(tokens.refresh) if tokens.refresh else None,
    )
    anyio.run(_save, store, saved)
    print(f"Signed in as {email} to {base_url}; credentials saved in {store.describe()}.", flush=True)
    if settings.access_token or settings.refresh_token:
        _say(
            "AIOT_ACCESS_TOKEN or AIOT_REFRESH_TOKEN is set in this environment, and the variables win over the "
            "stored sign-in; unset them to use it"
        )
    return 0


def _ask(prompt: str) -> str:
    """A line typed on the terminal, asked for on standard error (standard output stays the command's own)."""
    print(prompt, end="", file=sys.stderr, flush=True)
    return input()


def _stdin_password() -> str:
    line = sys.stdin.readline()
    if not line:
        raise Usage("--password-stdin found nothing on standard input; pipe the password in (its first line)")
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise Usage(
            "--password-stdin read an empty first line; pipe the password in (its first line); nothing was sent"
        )
    return password


async def _log_in(settings: Settings, attempts: Attempts, email: str, password: str, last_attempt: bool) -> Tokens:
    async with Upstream(settings) as upstream:
        return await log_in(upstream, attempts, settings.api_base_url, email, password, last_attempt=last_attempt)


async def _save(store: CredentialStore, saved: StoredLogin) -> None:
    """Saved under the cross-process lock, so a server refreshing the previous login cannot write over it."""
    async with store.refresh_lock(saved.base_url):
        await anyio.to_thread.run_sync(store.save, saved)


# ----------------------------------------------------------------------------------------------- logout


def logout(settings: Settings, out: TextIO) -> int:
    base_url = settings.api_base_url
    store = _store(settings)
    previous, removed = anyio.run(_forget, store, base_url)
    if removed:
        who = f" ({previous.email})" if previous is not None and previous.email else ""
        print(f"Signed out of {base_url}: removed the stored sign-in{who} from {store.describe()}.", file=out)
    else:
        print(f"No stored sign-in for {base_url} in {store.describe()}; nothing to remove.", file=out)
    print(NO_REVOCATION if removed else "Nothing was sent to the platform.", file=out)
    if settings.access_token or settings.refresh_token:
        print(
            "AIOT_ACCESS_TOKEN or AIOT_REFRESH_TOKEN is still set in this environment; kyc-mcp keeps using it until "
            "it is removed.",
            file=out,
        )
    return 0


async def _forget(store: CredentialStore, base_url: str) -> tuple[StoredLogin | None, bool]:
    async with store.refresh_lock(base_url):
        previous = await anyio.to_thread.run_sync(store.load, base_url)
        return previous, await anyio.to_thread.run_sync(store.delete, base_url)


# ----------------------------------------------------------------------------------------------- whoami


@dataclass(frozen=True)
class Identity:
    """Who the configured or stored credentials belong to, without the credentials."""

    base_url: str
    source: str  # variable, keychain or file
    where: str
    email: str | None
    access_token: str | None  # held only to read its claims; never shown
    refresh_token: bool
    note: str | None = None


def _identity(settings: Settings) -> Identity | None:
    base_url = settings.api_base_url
    access = settings.access_token.get_secret_value() if settings.access_token else None
    refresh = settings.refresh_token.get_secret_value() if settings.refresh_token else None
    if access or refresh:
        where = "AIOT_ACCESS_TOKEN" if access else "AIOT_REFRESH_TOKEN"
        identity = Identity(base_url, "variable", where, None, access, bool(refresh))
        try:
            stored = _store(settings).load(base_url)
        except StoreError:
            stored = None
        if refresh and stored is not None and stored.origin == digest(refresh):  # their rotation, saved by a server
            return Identity(
                base_url,
                "variable",
                where,
                stored.email,
                stored.access_token.get_secret_value(),
                stored.refresh_token is not None,
                "renewed since with AIOT_REFRESH_TOKEN; the renewed tokens are kept in the credential store",
            )
        if stored is not None and stored.origin is None:
            return replace(identity, note="a stored sign-in exists too, unused while the variables are set")
        return identity
    store = _store(settings)
    login = store.load(base_url)
    if login is None:
        return None
    return Identity(
        base_url,
        store.source,
        store.describe(),
        login.email,
        login.access_token.get_secret_value(),
        login.refresh_token is not None,
    )


def _report(identity: Identity, now: float) -> dict[str, Any]:
    payload = (claims(identity.access_token) if identity.access_token else None) or {}
    email = identity.email or (payload.get("email") if isinstance(payload.get("email"), str) else None)
    exp = payload.get("exp")
    expires = float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
    return {
        "signed_in": True,
        "email": email,
        "base_url": identity.base_url,
        "source": identity.source,
        "where": identity.where,
        "access_token": identity.access_token is not None,
        "access_token_expires_at": (
            datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            if expires is not None
            else None
        ),
        "access_token_expires_in_seconds": round(expires - now) if expires is not None else None,
        "access_token_expired": expires < now if expires is not None else None,
        "refresh_token": identity.refresh_token,
        "note": identity.note,
    }


def _expiry(report: dict[str, Any]) -> str:
    if not report["access_token"]:
        return "none (the server gets one with the refresh token)"
    left = report["access_token_expires_in_seconds"]
    if left is None:
        return "unknown (the token carries no expiry)"
    when = datetime.fromisoformat(report["access_token_expires_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    if report["access_token_expired"]:
        return f"expired {when} ({duration(left)} ago)"
    return f"expires {when} (in {duration(left)})"


def whoami(settings: Settings, out: TextIO, *, as_json: bool = False) -> int:
    identity = _identity(settings)
    if identity is None:
        if as_json:
            body = {"signed_in": False, "base_url": settings.api_base_url, "message": NOT_SIGNED_IN}
            print(json.dumps(body, indent=2), file=out)
        else:
            print(f"{settings.api_base_url}: {NOT_SIGNED_IN}", file=out)
        return 1
    report = _report(identity, time.time())
    if as_json:
        print(json.dumps(report, indent=2), file=out)
        return 0
    source = identity.source
    if source == "variable":
        where = "AIOT_ACCESS_TOKEN / AIOT_REFRESH_TOKEN (environment variables win over stored credentials)"
    else:
        where = identity.where
    lines = [
        f"Signed in as {report['email'] or 'an unknown email (the token names none)'}",
        f"  platform:      {identity.base_url}",
        f"  credentials:   {source}: {where}",
        f"  access token:  {_expiry(report)}",
        f"  refresh token: {'present' if identity.refresh_token else 'none'}",
    ]
    if identity.note:
        lines.append(f"  note:          {identity.note}")
    print("\n".join(lines), file=out)
    return 0
