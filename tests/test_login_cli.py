"""`kyc-mcp login`, `logout` and `whoami`, run as the real command line against the sandbox over HTTP: the tokens
land in the 0600 file or a real keyring backend and are never printed, a wrong password is counted and the run
before the lockout is refused without a request, logout says nothing was revoked, the variables win, and on a
terminal the password is not echoed.

Every run chooses its store explicitly (the file, or `keyrings.alt`'s plaintext keyring in a temporary folder),
so no test touches this machine's keychain; each test has its own state folder (`own_credential_store`)."""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from kyc_mcp.signin.store import StoredLogin
from tests.support.clients import Sandbox, User, log_mark, requests_since
from tests.support.processes import clean_env

LOGIN = "/api/v1/auth/login"
WRONG = "not-the-password-42"


def kyc(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """One run of `python -m kyc_mcp ARGS`, the file store unless `env` says otherwise."""
    return subprocess.run(
        [sys.executable, "-m", "kyc_mcp", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**env),  # the default store: here the file, as the test's keyring backend stores nothing
    )


def login(sandbox: Sandbox, user: User, password: str | None = None, *flags: str, **env: str) -> Any:
    return kyc(
        "login",
        "--email",
        user.email,
        "--password-stdin",
        *flags,
        stdin=(user.password if password is None else password) + "\n",
        **{"AIOT_API_BASE_URL": sandbox.url, **env},
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def stored(state: Path, base_url: str) -> StoredLogin:
    records = json.loads((state / "credentials.json").read_text(encoding="utf-8"))
    login = StoredLogin.loads(records[base_url])
    assert login is not None and login.refresh_token is not None
    return login


def secrets_of(login: StoredLogin) -> list[str]:
    assert login.refresh_token is not None
    return [login.access_token.get_secret_value(), login.refresh_token.get_secret_value()]


def assert_no_secret(outputs: list[str], secrets: list[str]) -> None:
    """No secret, nor a 12-character piece of one (a prefix or a tail), in any output."""
    for text in outputs:
        for secret in secrets:
            assert len(secret) >= 24
            pieces = {secret[i : i + 12] for i in range(0, len(secret) - 11, 6)} | {secret[-12:]}
            assert not [piece for piece in pieces if piece in text], f"part of a secret printed:\n{text}"


def locked(sandbox: Sandbox, email: str) -> bool:
    return bool(sandbox.patch_user(email)["locked"])


# ------------------------------------------------------------------------------------ signing in


def test_login_saves_tokens_that_work_and_whoami_describes_them_without_a_token(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    done = login(sandbox, user)
    assert done.returncode == 0, output(done)
    assert f"Signing in to the platform at {sandbox.url}." in done.stderr
    assert "locks an account after 5 failed sign-ins" in done.stderr
    assert f"Signed in as {user.email} to {sandbox.url}; credentials saved in the file " in done.stdout
    saved = stored(own_credential_store, sandbox.url)
    assert saved.email == user.email and saved.base_url == sandbox.url
    access = saved.access_token.get_secret_value()
    assert sandbox.client(access).get("/api/v1/profile").status_code == 200  # the platform's own, working token

    text = kyc("whoami", AIOT_API_BASE_URL=sandbox.url)
    assert text.returncode == 0, output(text)
    assert f"Signed in as {user.email}" in text.stdout and sandbox.url in text.stdout
    assert f"credentials:   file: the file {own_credential_store / 'credentials.json'}" in text.stdout
    assert " UTC (in " in text.stdout and "refresh token: present" in text.stdout

    as_json = kyc("whoami", "--json", AIOT_API_BASE_URL=sandbox.url)
    assert as_json.returncode == 0, output(as_json)
    report = json.loads(as_json.stdout)
    assert report["signed_in"] is True and report["email"] == user.email and report["base_url"] == sandbox.url
    assert report["source"] == "file" and report["refresh_token"] is True and report["access_token_expired"] is False
    assert 0 < report["access_token_expires_in_seconds"] <= 24 * 3600
    assert report["access_token_expires_at"].endswith("Z")
    assert_no_secret([output(done), output(text), output(as_json)], [*secrets_of(saved), user.password])


def test_the_fallback_file_is_private_and_the_output_says_why_it_is_a_file(
    sandbox: Sandbox, user: User, tmp_path: Path
) -> None:
    state = tmp_path / "not-yet" / "state"  # created by the login, so its mode is the store's own
    done = login(sandbox, user, KYC_MCP_STATE_DIR=str(state))
    assert done.returncode == 0, output(done)
    assert stat.S_IMODE((state / "credentials.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert "no system keychain was found" in done.stdout and "readable only by you" in done.stdout
    assert str(state / "credentials.json") in done.stdout
    saved = stored(state, sandbox.url)
    for name in os.listdir(state):  # the attempt counts and locks hold no secret and not the email
        if name != "credentials.json":
            content = (state / name).read_text(encoding="utf-8", errors="replace")
            assert user.email not in content and user.password not in content
    assert_no_secret([output(done)], [*secrets_of(saved), user.password])


def test_a_real_keyring_backend_holds_the_login_until_logout(
    sandbox: Sandbox, user: User, tmp_path: Path, own_credential_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyrings.alt.file import PlaintextKeyring

    data = tmp_path / "data"
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(data),
        "KYC_MCP_CREDENTIAL_STORE": "keyring",
        "AIOT_API_BASE_URL": sandbox.url,
    }
    done = login(sandbox, user, **env)
    assert done.returncode == 0, output(done)
    assert "credentials saved in the system keychain (keyrings.alt.file.PlaintextKeyring)" in done.stdout
    assert not (own_credential_store / "credentials.json").exists()

    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    keyring = PlaintextKeyring()
    assert Path(keyring.file_path).is_relative_to(data)
    text = keyring.get_password("kyc-mcp", sandbox.url)
    saved = StoredLogin.loads(text or "")
    assert saved is not None and saved.email == user.email and saved.refresh_token is not None
    assert sandbox.client(saved.access_token.get_secret_value()).get("/api/v1/profile").status_code == 200

    who = kyc("whoami", "--json", **env)
    assert who.returncode == 0, output(who)
    report = json.loads(who.stdout)
    assert report["source"] == "keychain" and report["email"] == user.email
    assert "PlaintextKeyring" in report["where"]

    gone = kyc("logout", **env)
    assert gone.returncode == 0, output(gone)
    assert "removed the stored sign-in" in gone.stdout and "system keychain" in gone.stdout
    assert keyring.get_password("kyc-mcp", sandbox.url) is None
    assert kyc("whoami", **env).returncode == 1
    assert_no_secret([output(done), output(who), output(gone)], [*secrets_of(saved), user.password])


# ----------------------------------------------------------------------------- refused sign-ins


def test_a_wrong_password_is_rejected_with_the_attempts_left_and_locks_nothing(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    done = login(sandbox, user, WRONG)
    assert done.returncode == 1, output(done)
    assert "rejected the email or password (1 failed in a row" in done.stderr
    assert "4 more would lock it" in done.stderr
    assert "Signed in" not in output(done) and WRONG not in output(done)
    assert "Traceback" not in done.stderr
    assert not (own_credential_store / "credentials.json").exists()
    assert not locked(sandbox, user.email)
    assert kyc("whoami", AIOT_API_BASE_URL=sandbox.url).returncode == 1


def test_after_four_failures_kyc_mcp_stops_before_the_lockout_until_told_last_attempt(
    sandbox: Sandbox, user: User
) -> None:
    for failures in range(1, 5):
        done = login(sandbox, user, WRONG)
        assert done.returncode == 1, output(done)
        assert f"({failures} failed in a row" in done.stderr and f"so {5 - failures} more" in done.stderr
    assert not locked(sandbox, user.email)

    mark = log_mark(sandbox)
    stopped = login(sandbox, user)  # the right password, but a fifth failure would lock the account
    assert stopped.returncode == 1, output(stopped)
    assert "4 sign-ins to this account failed in a row" in stopped.stderr
    assert "kyc-mcp login --last-attempt" in stopped.stderr
    assert [e for e in requests_since(sandbox, mark) if e["path"] == LOGIN] == []  # nothing was sent
    assert not locked(sandbox, user.email)

    last = login(sandbox, user, None, "--last-attempt")
    assert last.returncode == 0, output(last)
    assert f"Signed in as {user.email}" in last.stdout
    assert [e["status"] for e in requests_since(sandbox, mark) if e["path"] == LOGIN] == [200]
    assert login(sandbox, user).returncode == 0  # the success reset the count


def test_a_locked_account_says_it_is_locked(sandbox: Sandbox, user: User) -> None:
    sandbox.patch_user(user.email, locked=True)
    done = login(sandbox, user)
    assert done.returncode == 1, output(done)
    assert "has locked this account" in done.stderr and "Unlock it with the platform" in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_errors_exit_2_and_send_nothing(sandbox: Sandbox, user: User) -> None:
    mark = log_mark(sandbox)
    empty = login(sandbox, user, "")
    assert empty.returncode == 2 and "empty first line" in empty.stderr
    nothing = kyc("login", "--email", user.email, "--password-stdin", stdin="", AIOT_API_BASE_URL=sandbox.url)
    assert nothing.returncode == 2 and "found nothing on standard input" in nothing.stderr
    no_email = kyc("login", "--password-stdin", stdin="x\n", AIOT_API_BASE_URL=sandbox.url)
    assert no_email.returncode == 2 and "--email" in no_email.stderr
    no_terminal = kyc("login", "--email", user.email, AIOT_API_BASE_URL=sandbox.url)
    assert no_terminal.returncode == 2 and "not a terminal" in no_terminal.stderr
    bad_url = kyc("whoami", AIOT_API_BASE_URL="ftp://nowhere")
    assert bad_url.returncode == 2 and "AIOT_API_BASE_URL" in bad_url.stderr
    no_keychain = kyc("whoami", KYC_MCP_CREDENTIAL_STORE="keyring", AIOT_API_BASE_URL=sandbox.url)
    assert no_keychain.returncode == 1 and "no system keychain is available" in no_keychain.stderr
    for done in (empty, nothing, no_email, no_terminal, bad_url, no_keychain):
        assert "Traceback" not in done.stderr
    assert requests_since(sandbox, mark) == []


# -------------------------------------------------------------------------------- logout, whoami


def test_logout_forgets_the_login_and_says_nothing_was_revoked(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    assert login(sandbox, user).returncode == 0
    saved = stored(own_credential_store, sandbox.url)
    mark = log_mark(sandbox)
    gone = kyc("logout", AIOT_API_BASE_URL=sandbox.url)
    assert gone.returncode == 0, output(gone)
    assert f"Signed out of {sandbox.url}: removed the stored sign-in ({user.email})" in gone.stdout
    assert "documents no endpoint to revoke a token, so nothing was sent" in gone.stdout
    assert "tokens it issued for this sign-in stay valid until they expire" in gone.stdout
    assert requests_since(sandbox, mark) == []
    assert sandbox.url not in json.loads((own_credential_store / "credentials.json").read_text())

    who = kyc("whoami", AIOT_API_BASE_URL=sandbox.url)
    assert who.returncode == 1 and "not signed in: run `kyc-mcp login`" in who.stdout
    again = kyc("logout", AIOT_API_BASE_URL=sandbox.url)
    assert again.returncode == 0 and "nothing to remove" in again.stdout
    # What logout said is true: the refresh token it could not revoke still works upstream.
    assert saved.refresh_token is not None
    refresh = {"refresh_token": saved.refresh_token.get_secret_value()}
    assert sandbox.admin.post("/api/v1/auth/refresh", json=refresh).status_code == 200
    assert_no_secret([output(gone), output(who), output(again)], secrets_of(saved))


def test_the_variables_win_over_the_stored_login(sandbox: Sandbox, user: User, own_credential_store: Path) -> None:
    other = sandbox.new_user()
    assert login(sandbox, other).returncode == 0  # a stored login of someone else
    who = kyc("whoami", "--json", AIOT_API_BASE_URL=sandbox.url, AIOT_ACCESS_TOKEN=user.access_token)
    assert who.returncode == 0, output(who)
    report = json.loads(who.stdout)
    assert report["source"] == "variable" and report["email"] == user.email  # the token's own email claim
    assert report["refresh_token"] is False and "unused while the variables are set" in report["note"]
    text = kyc("whoami", AIOT_API_BASE_URL=sandbox.url, AIOT_ACCESS_TOKEN=user.access_token)
    assert "credentials:   variable: AIOT_ACCESS_TOKEN" in text.stdout and "variables win" in text.stdout
    assert_no_secret(
        [output(who), output(text)], [user.access_token, *secrets_of(stored(own_credential_store, sandbox.url))]
    )


def test_whoami_says_how_long_ago_a_token_expired(sandbox: Sandbox, user: User) -> None:
    stale = sandbox.issue_token(user.email, -300)
    who = kyc("whoami", AIOT_API_BASE_URL=sandbox.url, AIOT_ACCESS_TOKEN=stale)
    assert who.returncode == 0, output(who)
    assert " UTC (5 min ago)" in who.stdout and "access token:  expired " in who.stdout
    expires = jwt.decode(stale, options={"verify_signature": False})["exp"]
    before = time.time()
    report = json.loads(kyc("whoami", "--json", AIOT_API_BASE_URL=sandbox.url, AIOT_ACCESS_TOKEN=stale).stdout)
    after = time.time()  # the command's own clock read lies in between, however slow the machine is
    seconds = report["access_token_expires_in_seconds"]
    assert report["access_token_expired"] is True and expires - after - 1 <= seconds <= expires - before + 1
    assert_no_secret([output(who)], [stale])


# ------------------------------------------------------------------------------ on a terminal

# The CLI on a pseudo-terminal that is its controlling terminal (getpass turns the echo off on /dev/tty): a
# new session, the terminal claimed, then the real command line in place of this trampoline.
TRAMPOLINE = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'kyc_mcp', *sys.argv[1:]])"
)


class Terminal:
    """`kyc-mcp ARGS` on a pseudo-terminal: what it shows (echo included) and what is typed into it."""

    def __init__(self, *args: str, **env: str) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TRAMPOLINE, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=clean_env(**env),  # the default store: here the file, as the test's keyring backend stores nothing
        )
        os.close(slave)
        self.screen = ""
        self.seen = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the program ended and closed the terminal
            return False
        self.screen += chunk.decode(errors="replace")
        return bool(chunk)

    def expect(self, text: str, timeout: float = 30.0) -> None:
        """Wait for `text` to appear after what the previous `expect` matched."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[self.seen :] and time.monotonic() < deadline:
            if not self._read(0.1):
                break
        found = self.screen.find(text, self.seen)
        assert found >= 0, f"{text!r} never appeared:\n{self.screen}"
        self.seen = found + len(text)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1):
            pass
        code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code


pty_only = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pty_only
def test_on_a_terminal_the_password_is_asked_again_and_never_echoed(
    sandbox: Sandbox, user: User, own_credential_store: Path
) -> None:
    term = Terminal("login", AIOT_API_BASE_URL=sandbox.url)
    term.expect("Email: ")
    term.type(user.email + "\n")
    term.expect("Password: ")
    term.type(WRONG + "\n")
    term.expect("Try the password again")
    term.expect("Password: ")
    term.type(user.password + "\n")
    assert term.finish() == 0, term.screen
    assert user.email in term.screen.split("Password: ")[0]  # what is typed is echoed, except the password
    assert "rejected the email or password (1 failed in a row" in term.screen
    assert f"Signed in as {user.email}" in term.screen
    assert WRONG not in term.screen and user.password not in term.screen
    assert_no_secret([term.screen], secrets_of(stored(own_credential_store, sandbox.url)))


@pty_only
def test_ctrl_c_and_end_of_input_at_a_prompt_end_cleanly(sandbox: Sandbox, user: User) -> None:
    mark = log_mark(sandbox)
    term = Terminal("login", "--email", user.email, AIOT_API_BASE_URL=sandbox.url)
    term.expect("Password: ")
    term.type("half-typed\x03")
    assert term.finish() == 130, term.screen
    assert "interrupted; not signed in" in term.screen and "Traceback" not in term.screen
    assert "half-typed" not in term.screen

    term = Terminal("login", AIOT_API_BASE_URL=sandbox.url)
    term.expect("Email: ")
    term.type("\x04")
    assert term.finish() == 1, term.screen
    assert "standard input ended" in term.screen and "Traceback" not in term.screen
    assert requests_since(sandbox, mark) == []
