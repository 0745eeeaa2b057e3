"""kyc-sandbox: a local stand-in for the MasterPay KYC and Cardholder KYC APIs (see docs/sandbox.md).

It depends on nothing of the kyc-mcp server, and the server's wheel holds none of it.
"""

from .app import create_app
from .config import ConfigError, SandboxSettings
from .runner import RunningSandbox, serve_in_background

__all__ = ["ConfigError", "RunningSandbox", "SandboxSettings", "create_app", "serve_in_background"]
