"""SQLite storage for the sandbox: in memory by default, a file when a path is given.

One connection guarded by a lock: the sandbox's queries take microseconds, so handlers call it directly.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, email TEXT UNIQUE NOT NULL COLLATE NOCASE,
    password_hash TEXT NOT NULL, phone TEXT, phone_verified INTEGER NOT NULL, email_verified INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS masterpay_users (
    user_id INTEGER PRIMARY KEY, masterpay_user_id TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (user_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identity_documents (
    user_id INTEGER PRIMARY KEY, identity_type TEXT, id_number TEXT);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, user_id INTEGER NOT NULL, api TEXT NOT NULL,
    document_type TEXT, object_path TEXT UNIQUE, file_name TEXT NOT NULL, mime_type TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT NOT NULL, uploaded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, user_id INTEGER NOT NULL, flow TEXT NOT NULL,
    status TEXT NOT NULL, reason_code TEXT, number_id TEXT, data TEXT NOT NULL,
    planned_outcome TEXT, planned_reason TEXT, decide_after REAL,
    submitted_at TEXT NOT NULL, decided_at TEXT);
CREATE INDEX IF NOT EXISTS submissions_user ON submissions (user_id, flow, id);
CREATE INDEX IF NOT EXISTS submissions_number ON submissions (number_id);
CREATE TABLE IF NOT EXISTS cardholders (
    id INTEGER PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, user_id INTEGER NOT NULL, kyc_uuid TEXT NOT NULL,
    status TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wallet_kyc (
    user_id INTEGER PRIMARY KEY, wallet_kyc_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Database:
    def __init__(self, path: Path | None = None):
        target = str(path) if path else ":memory:"
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(sql, args).fetchone()
        return dict(row) if row else None

    def all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, args).fetchall()]

    def run(self, sql: str, *args: Any) -> sqlite3.Cursor:
        """Execute a statement; the cursor tells `lastrowid` and `rowcount`."""
        with self._lock:
            return self._conn.execute(sql, args)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements inside run atomically and no other thread interleaves (check-then-insert).

        Nested use joins the outer transaction."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def meta(self, key: str, default: str) -> str:
        """A persistent value, stored on first read."""
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
            value: str = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
            return value

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
