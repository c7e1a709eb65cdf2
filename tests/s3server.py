"""A real S3 API on loopback for tests: moto's server in a child process we can stop and freeze.

The child keeps moto's in-memory state for its whole life and only opens and closes its
listening socket on command, so `stop()` makes clients see "connection refused" and `start()`
listens again on the SAME port with every bucket and object still there. `pause()`/`resume()`
freeze the whole child (SIGSTOP/SIGCONT): the kernel still accepts connections but nothing
answers, which is what a hung S3 looks like to the uploader. `close()` ends the child and its
data.

moto accepts any credentials unless told otherwise; `auth_enforced()` switches on moto's IAM
checks for a block, so wrong keys get the errors a real S3 sends (InvalidAccessKeyId,
SignatureDoesNotMatch, AccessDenied). Presigned URLs do not work under moto's IAM checks, so
keep it off outside such blocks.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Final

import pytest

_REPLY_TIMEOUT_S: Final = 20.0  # child start-up imports moto (~0.5 s); generous for a busy CI box
_HOST: Final = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str


class S3Server:
    """Controls one moto S3 child process; see the module docstring for the states."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._port = 0
        self._paused = False
        self.credentials = Credentials("bkhub-test", "bkhub-test-secret")
        self.unprivileged = Credentials("", "")  # an IAM user without any policy

    @property
    def endpoint(self) -> str:
        """host:port, as S3StoreConfig.endpoint takes it (plain http)."""
        if not self._port:
            raise RuntimeError("S3Server was never started")
        return f"{_HOST}:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self) -> None:
        """Spawn the child, or make a stopped one listen again on the same port."""
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-u", __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            hello = json.loads(self._reply())
            self._port = int(hello["port"])
            self.credentials = Credentials(**hello["credentials"])
            self.unprivileged = Credentials(**hello["unprivileged"])
            return
        self._command("start")

    def stop(self) -> None:
        """Stop listening; data stays in the child for the next `start()`."""
        self._command("stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the child: connections are accepted by the kernel but never answered."""
        proc = self._require()
        proc.send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        proc = self._require()
        proc.send_signal(signal.SIGCONT)
        self._paused = False

    @contextlib.contextmanager
    def auth_enforced(self) -> Iterator[None]:
        """Check signatures and IAM policies (moto's default is to accept anything)."""
        self._command("auth on")
        try:
            yield
        finally:
            self._command("auth off")

    def close(self) -> None:
        """End the child; every bucket goes with it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self._paused:
            proc.send_signal(signal.SIGCONT)
            self._paused = False
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()  # EOF: the child closes its socket and exits
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require(self) -> subprocess.Popen[str]:
        if self._proc is None:
            raise RuntimeError("S3Server is not running")
        return self._proc

    def _command(self, command: str) -> None:
        proc = self._require()
        if self._paused:
            raise RuntimeError(f"S3Server is paused; resume() before {command!r}")
        assert proc.stdin is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        reply = self._reply()
        if reply != "ok":
            raise RuntimeError(f"S3Server {command!r} failed: {reply}")

    def _reply(self) -> str:
        proc = self._require()
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(_REPLY_TIMEOUT_S):
                raise RuntimeError("S3Server child did not answer")
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"S3Server child exited with {proc.wait()}")
        return line.strip()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server for the session; tests use their own buckets and leave it listening."""
    with S3Server() as server:
        yield server


# --- the child process --------------------------------------------------------------------

_ALL_S3_POLICY: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)


def _iam_user(name: str, policy: str | None) -> dict[str, str]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name=name)
    if policy is not None:
        iam.put_user_policy(name, "s3", policy)
    key = iam.create_access_key(user_name=name)
    return {"access_key": key.access_key_id, "secret_key": key.secret_access_key}


def _child_main(out: IO[str]) -> None:
    import threading

    from moto import settings
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import BaseWSGIServer, make_server

    class Handler(MotoRequestHandler):
        # One request per connection: once the socket is closed no pooled keep-alive
        # connection can reach the "stopped" server behind the test's back.
        protocol_version = "HTTP/1.0"

        def log_request(self, *args: object, **kwargs: object) -> None:
            pass

    app = DomainDispatcherApplication(create_backend_app)
    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None
    port = 0

    def listen() -> None:
        nonlocal server, thread, port
        server = make_server(_HOST, port, app, threaded=True, request_handler=Handler)
        port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
        thread.start()

    def close() -> None:
        nonlocal server, thread
        if server is not None and thread is not None:
            server.shutdown()
            server.server_close()  # shutdown() alone keeps the socket listening
            thread.join()
        server = thread = None

    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    hello = {
        "credentials": _iam_user("bkhub", _ALL_S3_POLICY),
        "unprivileged": _iam_user("nobody", None),
    }
    listen()
    out.write(json.dumps({**hello, "port": port}) + "\n")
    out.flush()
    for line in sys.stdin:
        command = line.strip()
        if command == "stop":
            close()
        elif command == "start":
            if server is None:
                listen()
        elif command in ("auth on", "auth off"):
            settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if command == "auth on" else float("inf")
        else:
            out.write(f"unknown command {command!r}\n")
            out.flush()
            continue
        out.write("ok\n")
        out.flush()
    close()


if __name__ == "__main__":
    _child_main(sys.stdout)
