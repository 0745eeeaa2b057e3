"""Redaction of Python logging: a filter on every handler, fed with every secret the process learns."""

from __future__ import annotations

import logging
import re

from kyc_mcp.guard.redact import Redactor

PROCESS_REDACTOR = Redactor()  # the secrets of every server in this process, for log lines
# A one-time page's link is a capability: an access log line of `GET /capture/<link>` must not hold it
CAPABILITY_PATH = re.compile(r"(/(?:capture|signin)/)[A-Za-z0-9_-]{20,}")


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through the redactor (fail closed: a generic line on error)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = CAPABILITY_PATH.sub(r"\1[link]", PROCESS_REDACTOR.text(record.getMessage()))
        except Exception:
            message = "[log line withheld: it could not be redacted]"
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = PROCESS_REDACTOR.text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install() -> None:
    """Add the filter to every handler of the root logger and of every configured logger (idempotent)."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
