"""The capture page's routes (being written)."""

from __future__ import annotations

from starlette.routing import Route

from kyc_mcp.capture.desk import CaptureDesk


def capture_routes(desk: CaptureDesk) -> list[Route]:
    return []
