"""The audit log: one redacted JSON line per tool call, off unless `KYC_MCP_AUDIT_LOG` names a file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from kyc_mcp.guard.redact import Redactor


def principal_hash(principal: str | None) -> str | None:
    return hashlib.sha256(principal.encode()).hexdigest()[:16] if principal else None


class AuditLog:
    def __init__(self, path: Path | None, redactor: Redactor) -> None:
        self._path = path
        self._redactor = redactor
        self._lock = threading.Lock()

    def write(
        self,
        *,
        principal: str | None,
        tool: str,
        decision: str,
        code: str | None,
        upstream_status: int | None,
        latency_ms: float,
        via: str = "mcp",
    ) -> None:
        """One line; `via`: "mcp" (a tool call) or "page" (the user's own submission on the capture page)."""
        if self._path is None:
            return
        record: dict[str, Any] = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "principal": principal_hash(principal),
            "tool": tool,
            "decision": decision,
            "code": code,
            "upstream_status": upstream_status,
            "latency_ms": round(latency_ms, 1),
            "via": via,
        }
        line = json.dumps(self._redactor.value(record), ensure_ascii=False)
        with self._lock, self._path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
