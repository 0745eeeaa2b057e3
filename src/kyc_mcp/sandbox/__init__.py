"""TEMPORARY alias of `kyc_sandbox` while imports move to it (issue 12 item 3); removed by the import sweep.

The sandbox is its own distribution now (packages/kyc-sandbox). This shim keeps `kyc_mcp.sandbox.X` imports
working for the few commits until every one says `kyc_sandbox.X`.
"""

import importlib
import sys

from kyc_sandbox import *  # noqa: F403

for _name in ("admin", "app", "auth", "canaries", "cardholder", "config", "core", "db", "envelopes", "masterpay"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"kyc_sandbox.{_name}")
for _name in ("reference", "review", "runner", "serving", "uploads", "vocabulary"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"kyc_sandbox.{_name}")
