"""The protocol features beside tools, prompts and resources: `logging` and `completions`.

`logging/setLevel` (protocol 2025-11-25 and earlier) sets the level of the connection's log notifications
(`guard/outgoing.py`); on 2026-07-28 the method is gone and the SDK sends a request's log notifications only when
the request opts in with a level in its `_meta`. `completion/complete` offers the values of the listed prompts'
arguments and of the resource templates' (`resources.templates`, registered here with it): flow names, document
types and answers from the vocabulary, never user data (`prompts.Completions`). The SDK declares each capability
because its handler is registered, so `completions` is declared only when there is something to complete.

The other declarations follow from what is registered and stay true: `prompts`, `resources` and `tools` with
`listChanged: false` on 2025-11-25 (the lists are fixed for the server's life) and `resources.subscribe: false`
(there is no `resources/subscribe`); on 2026-07-28 the SDK derives `listChanged` and `subscribe` from
`subscriptions/listen`, which is served (status changes are pushed there; the lists never change, so no list
event is ever sent).
"""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.types import SetLevelRequestParams

from kyc_mcp.config import Settings
from kyc_mcp.guard.outgoing import set_log_level
from kyc_mcp.prompts import Completions, listed
from kyc_mcp.server.resources import add_templates, templates
from kyc_mcp.tools import ServerContext


def declare(server: MCPServer[ServerContext], settings: Settings) -> None:
    """Serve `logging/setLevel`, the resource templates and `completion/complete` on `server`, which then
    declares `logging` and (when there is something to complete) `completions`."""
    # MCPServer has no setter for the logging handler: the SDK points to its low-level server's registration
    # (the way to re-provide a method the 2026 revision removed; its surface gate keeps it off 2026-07-28).
    server._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_log_level)
    add_templates(server, settings)
    choices = {template.uri_template: template.choices for template in templates(settings)}
    complete = Completions(listed(settings.toolsets, settings.read_only), choices)
    if complete.offers:
        server.completion()(complete)  # type: ignore[no-untyped-call]  # the SDK leaves the decorator unannotated
