"""Real receivers on loopback for the alert channels.

`HttpReceiver` stands in for the WeCom and DingTalk robots and a generic webhook endpoint and
checks each request the way the real service does (WeCom: the key and the image md5; DingTalk:
the signed timestamp; webhook: the HMAC header). It can go down (the port refuses connections)
and come back on the same port. `SmtpReceiver` is aiosmtpd.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

WECOM_KEY = "693a91f6-test-key"
DINGTALK_TOKEN = "dt-token"
DINGTALK_SECRET = "SECtestsecret0123456789"
WEBHOOK_SECRET = "hook-secret"


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.time() on arrival


@dataclass
class HttpReceiver:
    """Robots and webhook on 127.0.0.1; `.messages` holds what passed the checks."""

    port: int = 0
    delay_s: float = 0.0  # answer slowly (for kill -9 mid-send)
    status: int = 200  # answer this status on /hook (e.g. 503, 400)
    messages: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # idempotency key -> times seen
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def wecom_url(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def dingtalk_url(self) -> str:
        return f"{self.base}/robot/send?access_token={DINGTALK_TOKEN}"

    @property
    def hook_url(self) -> str:
        return f"{self.base}/hook"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                code, answer = receiver.handle(self.path, dict(self.headers.items()), raw)
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: the port refuses connections until `start()` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = json.loads(raw)
        if parts.path == "/cgi-bin/webhook/send":
            problem = _check_wecom(query, body)
        elif parts.path == "/robot/send":
            problem = _check_dingtalk(query)
        elif parts.path == "/hook":
            if self.status != 200:
                return self.status, {"error": "as told"}
            problem = _check_webhook(headers, raw)
        else:
            return 404, {"error": "no such path"}
        if problem is not None:
            with self._lock:
                self.rejected.append(problem)
            return 200, {"errcode": 93000 if "key" in problem else 310000, "errmsg": problem}
        key = headers.get("Idempotency-Key") or ""
        with self._lock:
            if key:
                self.keys[key] = self.keys.get(key, 0) + 1
            self.messages.append(Received(parts.path, query, headers, body, time.time()))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def unique(self) -> list[Received]:
        """Messages with their first delivery only, as a receiver that dedupes sees them."""
        seen: set[str] = set()
        out = []
        for m in self.messages:
            key = m.headers.get("Idempotency-Key", "")
            if key and key in seen:
                continue
            seen.add(key)
            out.append(m)
        return out


def _check_wecom(query: dict[str, str], body: dict[str, Any]) -> str | None:
    if query.get("key") != WECOM_KEY:
        return "invalid webhook key"
    kind = body.get("msgtype")
    if kind == "markdown":
        content = body["markdown"]["content"]
        return None if len(content.encode()) <= 4096 else "markdown too long"
    if kind == "image":
        image = base64.b64decode(body["image"]["base64"])
        return None if hashlib.md5(image).hexdigest() == body["image"]["md5"] else "bad md5"
    return f"unsupported msgtype {kind}"


def _check_dingtalk(query: dict[str, str]) -> str | None:
    if query.get("access_token") != DINGTALK_TOKEN:
        return "invalid access_token"
    timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600_000:
        return "timestamp missing or more than an hour off"
    digest = hmac.new(
        DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
    ).digest()
    # parse_qs already URL-decoded `sign`; compare against the decoded base64 value.
    expected = base64.b64encode(digest).decode()
    if not hmac.compare_digest(sign, expected):
        return f"sign mismatch (expected {quote_plus(expected)})"
    return None


def _check_webhook(headers: dict[str, str], raw: bytes) -> str | None:
    timestamp = headers.get("X-BKHub-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return "stale or missing timestamp"
    mac = hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    if not hmac.compare_digest(headers.get("X-BKHub-Signature", ""), f"sha256={mac.hexdigest()}"):
        return "bad signature"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _MailBox:
    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=email_policy.default)
        mail["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        mail["X-Arrived"] = repr(time.time())  # for bench/alerts.py
        self.mails.append(mail)
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 in its own thread; `.mails` are the parsed messages."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller  # a test dependency (pyproject dev extra)

        self._box = _MailBox()
        self.port = free_port()
        self._controller = Controller(self._box, hostname="127.0.0.1", port=self.port)

    @property
    def mails(self) -> list[Message]:
        return self._box.mails

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
