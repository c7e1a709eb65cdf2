"""Blocking RTSP pull with PyAV: open, probe, and yield encoded packets (no decoding).

Runs in a thread owned by the ingest supervisor; every PyAV error is translated into the
`camera_adapters.errors` tree at this boundary.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

import av
import av.error

from camera_adapters.errors import (
    CameraAuthError,
    CameraError,
    CameraNotFound,
    CameraTimeout,
    CameraUnreachable,
    StreamEnded,
    StreamError,
    UnsupportedStream,
)
from camera_adapters.packets import EncodedPacket, StreamInfo

log = logging.getLogger(__name__)

# Codecs the recorder and the live relay can pass through untouched.
RECORDABLE_CODECS: Final = frozenset({"h264", "hevc"})
# A mapped packet time this far from the arrival time means the camera's timestamps jumped.
_REANCHOR_AFTER_S: Final = 5.0


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """Insert credentials into an rtsp:// URL (kept out of logs by `redact`)."""
    if not username:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, ""))


def redact(url: str) -> str:
    """The URL without its password, for logs and the API."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{parts.username}:***@{host}", parts.path, parts.query, ""))


def translate_av_error(exc: BaseException, url: str) -> CameraError:
    """Map an FFmpeg/PyAV failure onto the camera error tree."""
    name = type(exc).__name__
    text = str(exc)
    where = redact(url)
    code = getattr(exc, "errno", None)
    if "Unauthorized" in name or "401" in text:
        return CameraAuthError(f"{where}: credentials rejected")
    if "NotFound" in name or "404" in text:
        return CameraNotFound(f"{where}: stream not found")
    if code == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
        return CameraUnreachable(f"{where}: connection refused")
    if code in (errno.ETIMEDOUT, errno.EAGAIN) or isinstance(exc, TimeoutError):
        return CameraTimeout(f"{where}: timed out")
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNRESET, errno.EPIPE):
        return CameraUnreachable(f"{where}: {text}")
    if isinstance(exc, (EOFError, av.error.ExitError)):
        return StreamEnded(f"{where}: stream ended")
    return CameraError(f"{where}: {name}: {text}")


class RtspSession:
    """One open RTSP connection: its stream description and a packet iterator."""

    def __init__(
        self,
        url: str,
        *,
        transport: str = "tcp",
        timeout_s: float = 5.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._now = now
        options = {
            "rtsp_transport": transport,
            # Small probe: open in ~0.1 s instead of ~1 s (ENVIRONMENT.md).
            "probesize": "32",
            "analyzeduration": "0",
            # Socket I/O timeout in microseconds, for opening and for every read.
            "timeout": str(int(timeout_s * 1_000_000)),
            "fflags": "nobuffer",
        }
        try:
            self._container = av.open(url, options=options, timeout=timeout_s)
        except Exception as exc:  # PyAV raises many unrelated types; all end up here
            raise translate_av_error(exc, url) from exc
        try:
            videos = self._container.streams.video
            if not videos:
                raise UnsupportedStream(f"{redact(url)}: no video stream")
            self._stream = videos[0]
            codec = self._stream.codec_context.name
            if codec not in RECORDABLE_CODECS:
                raise UnsupportedStream(f"{redact(url)}: codec {codec} is not supported")
            try:
                self.info = StreamInfo.from_stream(self._stream)
            except av.error.FFmpegError as exc:
                # Seen after a reconnect: the short probe found no usable parameters yet.
                raise StreamError(f"{redact(url)}: no usable stream parameters: {exc}") from exc
        except BaseException:
            self._container.close()
            raise

    def packets(self) -> Iterator[EncodedPacket]:
        """Yield packets until the stream ends or fails (then raise a CameraError)."""
        time_base = Fraction(self._stream.time_base or self.info.time_base)
        seconds_per_tick = float(time_base)  # Fraction arithmetic per packet costs ~5 us
        anchor_ts: int | None = None
        anchor_wall = 0.0
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    break
                ts = packet.pts if packet.pts is not None else packet.dts
                now = self._now()
                if ts is None:
                    wall = now
                else:
                    if anchor_ts is not None:
                        wall = anchor_wall + (ts - anchor_ts) * seconds_per_tick
                    if anchor_ts is None or abs(wall - now) > _REANCHOR_AFTER_S:
                        anchor_ts, anchor_wall, wall = ts, now, now
                yield EncodedPacket(
                    data=bytes(packet),
                    pts=packet.pts,
                    dts=packet.dts,
                    duration=int(packet.duration or 0),
                    time_base=time_base,
                    is_keyframe=bool(packet.is_keyframe),
                    wall_time=wall,
                )
        except CameraError:
            raise
        except Exception as exc:
            raise translate_av_error(exc, self._url) from exc
        raise StreamEnded(f"{redact(self._url)}: stream ended")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> RtspSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
