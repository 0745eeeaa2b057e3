"""The `kyc-mcp` command line (also `python -m kyc_mcp`)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path

from ..config import ConfigError, Settings
from ..signin import cli as signin

# `kyc-mcp sandbox` and `kyc-mcp demo` need the sandbox, a distribution of its own that the server's wheel
# does not contain; without it they say how to install it instead of failing with a traceback.
SANDBOX_MISSING = (
    "kyc-mcp: `kyc-mcp {command}` needs the sandbox, which is not installed; install it with "
    "`pip install -e packages/kyc-sandbox` from a checkout of the repository (or run `make demo`, which does)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kyc-mcp", description="KYC identity verification for MCP hosts.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sandbox = commands.add_parser("sandbox", help="serve both upstream KYC APIs locally")
    sandbox.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=None, help="port (default 8080; 0 picks a free one)")
    sandbox.add_argument("--db", type=Path, default=None, help="SQLite file (default: in memory)")
    sandbox.add_argument(
        "--review-delay",
        type=float,
        default=None,
        help="seconds before a submitted KYC is decided (default 2; negative: only by the admin API)",
    )
    sandbox.add_argument("--auto-approve", action="store_true", default=None, help="decide KYC submissions at once")
    serve = commands.add_parser("serve", help="run the MCP server (stdio, or streamable HTTP for many users)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="transport (default stdio)")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP: interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP: port (default 8000; 0 picks a free one)")
    serve.add_argument(
        "--stateless", action="store_true", help="HTTP: no MCP sessions (for several replicas behind a load balancer)"
    )
    serve.add_argument("--json-response", action="store_true", help="HTTP: answer with JSON instead of SSE streams")
    demo = commands.add_parser("demo", help="walk both KYC flows through MCP against an embedded sandbox")
    demo.add_argument("--json", action="store_true", help="print a machine-readable transcript instead")
    doctor = commands.add_parser("doctor", help="check configuration, reachability and tokens (prints no secret)")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="the transport to check for (http: requests bring their own tokens)",
    )
    signin.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if args.command in ("sandbox", "demo") and importlib.util.find_spec("kyc_sandbox") is None:
        print(SANDBOX_MISSING.format(command=args.command), file=sys.stderr)
        return 2
    try:
        if args.command == "serve" and args.transport == "http":
            from .http import serve

            serve(
                Settings.from_env(),
                host=args.host,
                port=args.port,
                stateless=args.stateless,
                json_response=args.json_response,
            )
            return 0
        if args.command == "serve":
            from .app import build_server

            build_server(Settings.from_env()).run("stdio")
            return 0
        if args.command == "sandbox":
            from kyc_sandbox.cli import settings_from
            from kyc_sandbox.config import ConfigError as SandboxConfigError
            from kyc_sandbox.runner import serve_forever

            try:
                settings = settings_from(args)
            except SandboxConfigError as exc:
                print(f"kyc-mcp: {exc}", file=sys.stderr)
                return 2
            serve_forever(settings)
            return 0
        if args.command == "doctor":
            from .doctor import run as doctor

            return doctor(Settings.from_env(), sys.stdout, as_json=args.json, hosted=args.transport == "http")
        if args.command in signin.COMMANDS:
            return signin.run(args.command, args, Settings.from_env())
        from ..extras import require

        require("rich", "`kyc-mcp demo`")
        from .demo import run

        return run(sys.stdout, as_json=args.json)
    except ConfigError as exc:
        print(f"kyc-mcp: {exc}", file=sys.stderr)
        return 2
