"""A local stand-in for the MasterPay KYC and Cardholder KYC APIs (see the README's sandbox section)."""

from .app import create_app
from .runner import RunningSandbox, serve_in_background

__all__ = ["RunningSandbox", "create_app", "serve_in_background"]
