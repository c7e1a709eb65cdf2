"""An ONVIF device stand-in on 127.0.0.1: ipycam's SOAP answers behind a small HTTP server.

Answers what the hub asks a camera: device information, capabilities and services, the main and
sub profiles, their RTSP stream URIs, a snapshot URI that serves a real JPEG, and the system
clock (with an injectable offset, for the clock-drift fault). WS-UsernameToken auth as cameras
do it: wrong credentials get HTTP 400 with a ``ter:NotAuthorized`` SOAP fault; the pre-auth
calls a client makes before it can sign requests (clock, capabilities, services) stay open.
Never starts WS-Discovery (it would multicast off loopback).
"""

from __future__ import annotations

import hmac
import re
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ipycam.config import CameraConfig
from ipycam.onvif import ONVIFService, compute_password_digest

__all__ = ["OnvifDeviceStandIn"]

HOST = "127.0.0.1"
SNAPSHOT_PATH = "snapshot.jpg"
MAIN_TOKEN, SUB_TOKEN = "Profile_Main", "Profile_Sub"  # the tokens ipycam's templates use
# ONVIF Core 5.9.4: calls a device must answer before the client can authenticate.
PRE_AUTH_ACTIONS = frozenset(
    {"GetSystemDateAndTime", "GetCapabilities", "GetServices", "GetWsdlUrl", "GetEndpointReference"}
)
MAX_CREATED_SKEW_S = 300.0  # how far a token's Created may be from the device clock
MAX_BODY_BYTES = 1 << 20
SOAP_ENV_NS = (
    "http://www.w3.org/2003/05/soap-envelope",
    "http://schemas.xmlsoap.org/soap/envelope/",
)
_NOT_AUTHORIZED = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
            xmlns:ter="http://www.onvif.org/ver10/error">
  <s:Body><s:Fault>
    <s:Code><s:Value>s:Sender</s:Value>
      <s:Subcode><s:Value>ter:NotAuthorized</s:Value></s:Subcode></s:Code>
    <s:Reason><s:Text xml:lang="en">Sender not Authorized</s:Text></s:Reason>
  </s:Fault></s:Body>
</s:Envelope>"""
_SUB_PROFILE_RE = re.compile(rf'\s*<trt:Profiles token="{SUB_TOKEN}".*?</trt:Profiles>', re.DOTALL)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _soap_action(envelope: ET.Element) -> str | None:
    """The operation name: the local name of the first element in the SOAP Body."""
    for ns in SOAP_ENV_NS:
        body = envelope.find(f"{{{ns}}}Body")
        if body is not None and len(body):
            return _local(body[0].tag)
    return None


def verify_username_token(
    envelope: ET.Element, username: str, password: str, *, device_now: float
) -> bool:
    """Check a WS-Security UsernameToken (digest or text) against the device's own clock."""
    token = next((el for el in envelope.iter() if _local(el.tag) == "UsernameToken"), None)
    if token is None:
        return False
    fields = {_local(child.tag): child for child in token}
    given_user = (fields["Username"].text or "") if "Username" in fields else ""
    pw_el = fields.get("Password")
    if pw_el is None or not hmac.compare_digest(given_user, username):
        return False
    given = pw_el.text or ""
    if pw_el.get("Type", "").endswith("#PasswordText"):
        return hmac.compare_digest(given, password)
    nonce = fields["Nonce"].text if "Nonce" in fields else None
    created = fields["Created"].text if "Created" in fields else None
    if not nonce or not created:
        return False
    try:
        stamp = datetime.fromisoformat(created.strip().replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        expected = compute_password_digest(nonce, created, password)
    except ValueError:
        return False
    if abs(stamp.timestamp() - device_now) > MAX_CREATED_SKEW_S:
        return False
    return hmac.compare_digest(expected, given)


class _Service(ONVIFService):  # type: ignore[misc]  # ipycam ships no type hints
    """ipycam's SOAP answers with our clock, stream URIs and profile set."""

    def __init__(self, config: CameraConfig, device: OnvifDeviceStandIn) -> None:
        super().__init__(config)
        self._device = device

    def get_system_date_time(self) -> str:
        now = time.gmtime(self._device.device_time())
        body = self._render(
            "get_system_date_time",
            hour=now.tm_hour,
            minute=now.tm_min,
            second=now.tm_sec,
            year=now.tm_year,
            month=now.tm_mon,
            day=now.tm_mday,
        )
        return str(self._wrap_envelope(body))

    def get_profiles(self) -> str:
        response = str(super().get_profiles())
        if self._device.rtsp_sub_uri is None:
            response = _SUB_PROFILE_RE.sub("", response)
        return response

    def get_stream_uri(self, body: str) -> str:
        # ipycam picks the sub URI when "Sub" occurs anywhere in the request, which a random
        # WS-Security nonce can contain; select by the ProfileToken element instead.
        match = re.search(r"<(?:\w+:)?ProfileToken>\s*([^<\s]*)\s*<", body)
        token = match.group(1) if match else MAIN_TOKEN
        if token == SUB_TOKEN and self._device.rtsp_sub_uri is not None:
            uri = self._device.rtsp_sub_uri
        elif token == MAIN_TOKEN:
            uri = self._device.rtsp_main_uri
        else:
            return str(self.fault(f"No such profile: {token}"))
        return str(self._wrap_envelope(self._render("get_stream_uri", stream_uri=_xml_escape(uri))))


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not self.path.startswith("/onvif/") or not 0 < length <= MAX_BODY_BYTES:
            self._send(404 if length else 400, b"", "text/plain")
            return
        status, reply = self.server.device.handle_soap(self.rfile.read(length))
        self._send(status, reply.encode(), "application/soap+xml; charset=utf-8")

    def do_GET(self) -> None:
        if self.path.lstrip("/") == SNAPSHOT_PATH:
            self._send(200, self.server.device.snapshot_jpeg, "image/jpeg")
        else:
            self._send(404, b"", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the hub's logs are not the place for a fake camera's access log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    device: OnvifDeviceStandIn


class OnvifDeviceStandIn:
    """A fake ONVIF camera for tests and the demo. ``start()`` binds, ``stop()`` releases."""

    def __init__(
        self,
        name: str,
        rtsp_main_uri: str,
        rtsp_sub_uri: str | None,
        username: str,
        password: str,
        snapshot_jpeg: bytes,
        port: int = 0,
        *,
        main_size: tuple[int, int] = (1280, 720),
        sub_size: tuple[int, int] = (640, 360),
        fps: int = 25,
    ) -> None:
        self.name = name
        self.rtsp_main_uri = rtsp_main_uri
        self.rtsp_sub_uri = rtsp_sub_uri
        self.username = username
        self.password = password
        self.snapshot_jpeg = snapshot_jpeg
        self.clock_offset_s = 0.0  # device clock minus true UTC
        self._requested_port = port
        self._sizes = (main_size, sub_size, fps)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._service: _Service | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"ONVIF stand-in {self.name} is not started")
        return int(self._server.server_address[1])

    @property
    def device_url(self) -> str:
        return f"http://{HOST}:{self.port}/onvif/device_service"

    def device_time(self) -> float:
        return time.time() + self.clock_offset_s

    def start(self) -> OnvifDeviceStandIn:
        if self._server is not None:
            return self
        server = _Server((HOST, self._requested_port), _Handler)
        server.device = self
        (main_w, main_h), (sub_w, sub_h), fps = self._sizes
        config = CameraConfig(
            name=self.name,
            manufacturer="Bright Kitchen Simulator",
            model="SimCam-1",
            serial_number=f"SIM-{self.name}",
            firmware_version="1.0",
            local_ip=HOST,  # never let ipycam probe the network for its address
            onvif_port=int(server.server_address[1]),
            username=self.username,
            password=self.password,
            main_width=main_w,
            main_height=main_h,
            main_fps=fps,
            main_bitrate="1500K",
            sub_width=sub_w,
            sub_height=sub_h,
            sub_fps=fps,
            sub_bitrate="400K",
            snapshot_url=SNAPSHOT_PATH,
        )
        self._service = _Service(config, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"onvif-standin:{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def handle_soap(self, body: bytes) -> tuple[int, str]:
        """Answer one SOAP request: (HTTP status, envelope)."""
        service = self._service
        assert service is not None
        try:
            envelope = ET.fromstring(body)
        except ET.ParseError:
            return 400, service.fault("Malformed SOAP envelope")
        action = _soap_action(envelope)
        if action is None:
            return 400, service.fault("No operation in SOAP Body")
        needs_auth = bool(self.username) and action not in PRE_AUTH_ACTIONS
        if needs_auth and not verify_username_token(
            envelope, self.username, self.password, device_now=self.device_time()
        ):
            return 400, _NOT_AUTHORIZED
        reply = service.handle_action(action, body.decode("utf-8", "replace")) or ""
        return (500 if "Fault>" in reply else 200), reply
