"""The RTSP server child process and its JSON-lines control channel."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from .errors import SimulatorError

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python owns the GStreamer gi bindings
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
READY_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 10.0
QUIT_TIMEOUT_S = 3.0
INSTALL_HINT = (
    "install Debian's GStreamer RTSP server for /usr/bin/python3: apt-get install python3-gi "
    "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-bad"
)


class ServerProcess:
    """One ``rtsp_server.py`` process; commands are serialised, replies read by a thread."""

    def __init__(self, port: int, *, python: str = SYSTEM_PYTHON) -> None:
        self._port = port
        self._python = python
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> int:
        """Spawn the server and wait until it listens; returns the bound port."""
        # -E -s: ignore PYTHONPATH & co. and user site-packages, so the venv cannot leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.pop("VIRTUAL_ENV", None)
        try:
            proc = subprocess.Popen(
                [self._python, "-E", "-s", str(SERVER_SCRIPT), "--port", str(self._port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
                env=env,
            )
        except OSError as exc:
            raise SimulatorError(f"cannot run {self._python}: {exc}; {INSTALL_HINT}") from exc
        self._proc, self._lines = proc, queue.Queue()
        threading.Thread(
            target=self._read_stdout, args=(proc, self._lines), name="rtsp-sim-stdout", daemon=True
        ).start()
        try:
            ready = self._next_reply(READY_TIMEOUT_S)
        except SimulatorError:
            self.kill()
            raise
        if not ready.get("ready"):
            self.kill()
            hint = f"; {INSTALL_HINT}" if ready.get("missing") else ""
            raise SimulatorError(f"RTSP simulator: {ready.get('error', ready)}{hint}")
        self._port = int(ready["port"])
        return self._port

    def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Send one command; returns the reply or raises SimulatorError."""
        with self._lock:
            if self._proc is None or self._proc.stdin is None or not self.alive:
                raise SimulatorError("the RTSP simulator process is not running")
            try:
                self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
                self._proc.stdin.flush()
            except OSError as exc:
                raise SimulatorError(f"RTSP simulator process gone: {exc}") from exc
            reply = self._next_reply(COMMAND_TIMEOUT_S)
        if not reply.get("ok"):
            raise SimulatorError(f"{cmd}: {reply.get('error', reply)}")
        return reply

    def stop(self) -> None:
        """Ask the server to quit; kill it if it does not."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # EOF is the quit signal
            proc.wait(QUIT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        self._close_pipes(proc)

    def kill(self) -> None:
        """SIGKILL, as a crashing or power-cycled camera would vanish."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        self._close_pipes(proc)

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the process exits (or timeout); returns its exit code."""
        proc = self._proc
        if proc is None:  # killed on purpose: nothing to wait for, but do not spin the caller
            time.sleep(timeout or 0.0)
            return None
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def _next_reply(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise SimulatorError(f"RTSP simulator did not answer within {timeout:.0f} s") from None
        if line is None:
            code = self._proc.poll() if self._proc is not None else None
            raise SimulatorError(f"RTSP simulator process exited (code {code})")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SimulatorError(f"RTSP simulator said {line!r}") from exc
        if not isinstance(reply, dict):
            raise SimulatorError(f"RTSP simulator said {line!r}")
        return reply

    @staticmethod
    def _read_stdout(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        with proc.stdout:  # this thread owns stdout; closing it elsewhere races the read
            for line in proc.stdout:
                lines.put(line)
        lines.put(None)  # EOF: the process is gone

    @staticmethod
    def _close_pipes(proc: subprocess.Popen[str]) -> None:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):  # broken pipe flushing to a dead process
                proc.stdin.close()
