"""How the guard remembers what a principal uploaded and validated: stored file paths, parsed as the upstream
parses them, and hashes of document numbers (never the numbers)."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")  # a file reference's host: a name or IPv4 address, a port
REMEMBERED = 100  # uploaded paths and validated document numbers kept per principal


def remember(values: list[str], value: str) -> None:
    """Append, keeping only the newest `REMEMBERED` values, so a principal's state stays small however long it
    runs (an older upload or validation must then be repeated)."""
    values.append(value)
    del values[:-REMEMBERED]


def document_key(document_type: str, number_id: str) -> str:
    """How a validated document number is remembered: a hash, never the number."""
    return hashlib.sha256(f"{document_type.lower()}:{number_id.strip()}".encode()).hexdigest()


def stored_path(value: str) -> str | None:
    """A file reference as the upstream stores it, parsed as the upstream parses it (the sandbox's
    `_object_path`): the path of `urlsplit`, without its leading '/'; None when it does not parse."""
    try:
        return urlsplit(value.strip()).path.lstrip("/")
    except ValueError:
        return None


def unambiguous(value: str) -> bool:
    """Whether URL parsers agree on the reference's path: a bare path (no ':', no leading '//'), or an http(s)
    URL with a plain host name (no user name); no backslash, control character or space, no percent-encoding and
    no '.' or '..' segment in the path."""
    text = value.strip()
    if "\\" in text or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if (parts.scheme or parts.netloc) and not (parts.scheme in ("http", "https") and parts.netloc):
        return False
    if not parts.scheme and (":" in parts.path or text.startswith("//")):  # read as a scheme or host elsewhere
        return False
    host_ok = not parts.netloc or HOST.fullmatch(parts.netloc) is not None
    return host_ok and "%" not in parts.path and not {".", ".."} & set(parts.path.split("/"))
