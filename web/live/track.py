"""A viewer's video track: a camera's encoded H.264 packets, passed through to aiortc as-is.

aiortc's sender packs an `av.Packet` straight into RTP (the `MediaPlayer(decode=False)` path,
`H264Encoder.pack`), so nothing is decoded or re-encoded here. Each viewer reads its own small
fan-out subscription: when it falls behind, the fan-out drops its backlog and sends a Gap, and
the track waits for the next keyframe (latest wins: live video never lags behind the camera).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final, TypeAlias

import av
import av.stream
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from camera_adapters.packets import EncodedPacket
from hub.ingest.fanout import FanoutItem, Gap, StreamStarted, StreamStopped, Subscription

if TYPE_CHECKING:
    Packet: TypeAlias = av.Packet[av.stream.Stream]
VIDEO_CLOCK: Final = Fraction(1, 90_000)  # RTP clock rate of video (RFC 6184)
_NAL_SPS: Final = 7
_START_CODE: Final = b"\x00\x00\x00\x01"


def annexb_parameter_sets(extradata: bytes) -> bytes:
    """The SPS/PPS of `extradata` as Annex B; RTSP gives Annex B, MP4-style avcC is converted."""
    if not extradata or extradata[0] != 1:
        return extradata  # already Annex B (or nothing)
    try:
        out = bytearray()
        pos = 5
        for _kind in ("sps", "pps"):
            count = extradata[pos] & (0x1F if _kind == "sps" else 0xFF)
            pos += 1
            for _ in range(count):
                size = int.from_bytes(extradata[pos : pos + 2], "big")
                out += _START_CODE + extradata[pos + 2 : pos + 2 + size]
                pos += 2 + size
        return bytes(out)
    except IndexError:
        return b""  # truncated avcC: rely on in-band parameter sets


def has_sps(data: bytes) -> bool:
    """Whether an Annex B access unit carries its own SPS (cameras usually repeat it)."""
    pos = data.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(data):
        if data[pos + 3] & 0x1F == _NAL_SPS:
            return True
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return False


@dataclass(slots=True)
class TrackStats:
    frames_sent: int = 0
    skipped: int = 0  # packets dropped while waiting for a keyframe
    gaps: int = 0  # times this viewer fell behind and restarted at a keyframe
    first_frame_at: float | None = None  # monotonic time the first frame went to the sender


class PassthroughTrack(MediaStreamTrack):
    """Yields encoded H.264 `av.Packet`s with 90 kHz timestamps, starting at a keyframe."""

    kind = "video"

    def __init__(
        self, subscription: Subscription, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._sub = subscription
        self._clock = clock
        self._h264 = False
        self._parameter_sets = b""
        self._need_keyframe = True
        self._origin: float | None = None  # wall time of the first packet sent
        self.stats = TrackStats()

    async def recv(self) -> Packet:
        while self.readyState == "live":
            item = await self._sub.aget()
            if item is None:
                break
            packet = self.accept(item)
            if packet is not None:
                return packet
        self.stop()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._sub.close()

    def accept(self, item: FanoutItem) -> Packet | None:
        """The packet to send for a fan-out item, or None to skip it."""
        if isinstance(item, StreamStarted):
            self._h264 = item.info.codec == "h264"
            self._parameter_sets = annexb_parameter_sets(item.info.extradata)
            self._need_keyframe = True
            return None
        if isinstance(item, StreamStopped | Gap):
            self.stats.gaps += isinstance(item, Gap)
            self._need_keyframe = True  # a decoder cannot continue across missing frames
            return None
        if not self._h264 or (self._need_keyframe and not item.is_keyframe):
            self.stats.skipped += 1
            return None
        self._need_keyframe = False
        return self._to_av(item)

    def _to_av(self, item: EncodedPacket) -> Packet:
        data = item.data
        if item.is_keyframe and self._parameter_sets and not has_sps(data):
            data = self._parameter_sets + data  # a browser cannot start without SPS/PPS
        if self._origin is None:
            self._origin = item.wall_time
            self.stats.first_frame_at = self._clock()
        # Wall time, not the camera's pts: it runs on across reconnects, where pts restart.
        packet = av.Packet(data)
        packet.pts = max(0, round((item.wall_time - self._origin) * VIDEO_CLOCK.denominator))
        packet.time_base = VIDEO_CLOCK
        self.stats.frames_sent += 1
        return packet
