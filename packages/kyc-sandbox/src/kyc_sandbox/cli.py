"""The `kyc-sandbox` command line (also `python -m kyc_sandbox`): serve both upstream APIs in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import ConfigError, SandboxSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `kyc-sandbox`; each wins over its `KYC_SANDBOX_*` variable."""
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: in memory)")
    parser.add_argument(
        "--review-delay",
        type=float,
        default=None,
        help="seconds before a submitted KYC is decided (default 2; negative: only by the admin API)",
    )
    parser.add_argument("--auto-approve", action="store_true", default=None, help="decide KYC submissions at once")


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    """The settings the parsed flags and the environment give (raises ConfigError)."""
    return SandboxSettings.from_env(
        host=args.host,
        port=args.port,
        db_path=args.db,
        review_delay_seconds=args.review_delay,
        auto_approve=args.auto_approve,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kyc-sandbox", description="A local sandbox of the two upstream KYC APIs.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        print(f"kyc-sandbox: {exc}", file=sys.stderr)
        return 2
    from .runner import serve_forever

    serve_forever(settings)
    return 0
