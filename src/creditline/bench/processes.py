"""The real processes a bench runs against: `creditline serve` and `creditline worker events`.

Each starts with the bench's database and the given CREDITLINE_* settings, is waited for
(the server until /healthz answers), and is stopped with SIGTERM when the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

SERVER_START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "creditline.entrypoints.cli", *args]


def _env(database_url: str, settings: Mapping[str, str]) -> dict[str, str]:
    extra = {f"CREDITLINE_{name.upper()}": value for name, value in settings.items()}
    return {**os.environ, "CREDITLINE_DATABASE_URL": database_url, **extra}


@contextmanager
def server(database_url: str, *, workers: int, settings: Mapping[str, str]) -> Iterator[str]:
    """A `creditline serve` on a free local port; yields its base URL. It runs in
    development mode: a loopback server on a scratch database, with the local verifier."""
    port = free_port()
    local = {"mode": "development", "host": "127.0.0.1", "port": str(port)}
    env = _env(database_url, {**local, **settings})
    command = _command("serve", "--workers", str(workers))
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def event_worker(database_url: str, *, settings: Mapping[str, str]) -> Iterator[None]:
    """A `creditline worker events`, stopped (after its batch in flight) at the end."""
    with subprocess.Popen(
        _command("worker", "events"),
        env=_env(database_url, settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=STOP_TIMEOUT_S)


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the benchmark server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError("the benchmark server did not start in time")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
