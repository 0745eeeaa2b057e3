"""Subprocesses: free loopback ports, an environment without the caller's KYC/AIOT variables, the sandbox CLI
started and stopped, and any process signalled and waited for."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.support.clients import ssl_context
from tests.support.waiting import wait_until


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any KYC_SANDBOX_* / AIOT_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_SANDBOX_", "AIOT_"))}
    env.update(extra)
    return env


@dataclass
class SandboxProcess:
    """`python -m kyc_mcp sandbox ...` running as a subprocess."""

    proc: subprocess.Popen[bytes]
    url: str
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        with httpx2.Client(base_url=self.url, timeout=2.0, verify=ssl_context()) as client:

            def healthy() -> bool:
                if self.proc.poll() is not None:
                    raise AssertionError(f"sandbox exited with {self.proc.returncode}:\n{self.output()}")
                try:
                    resp = client.get("/sandbox/health")
                except httpx2.TransportError:
                    return False
                return resp.status_code == 200 and resp.json() == {"status": "ok"}

            wait_until(healthy, "the sandbox to be healthy", timeout, interval=0.1, detail=self.output)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        return stop_process(self.proc, self.output, sig, timeout)


def stop_process(
    proc: subprocess.Popen[bytes], output: Callable[[], str], sig: int = signal.SIGTERM, timeout: float = 20.0
) -> int:
    """Signal a process and wait for it; kill it and fail, with its output, if it ignores the signal."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"process {proc.args} ignored signal {sig}:\n{output()}") from None
    return proc.returncode


def start_sandbox_process(
    log_dir: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True
) -> SandboxProcess:
    """Start the sandbox CLI on a free port (`args` are extra flags) and wait for `/sandbox/health`."""
    port = free_port()
    stdout_path = log_dir / f"sandbox-{port}.out"
    stderr_path = log_dir / f"sandbox-{port}.err"
    command = [sys.executable, "-m", "kyc_mcp", "sandbox", "--host", "127.0.0.1", "--port", str(port), *args]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env if env is not None else clean_env())
    process = SandboxProcess(proc, f"http://127.0.0.1:{port}", stdout_path, stderr_path)
    if wait:
        try:
            process.wait_healthy()
        except BaseException:
            kill_process(process)
            raise
    return process


def kill_process(process: SandboxProcess) -> None:
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait()
