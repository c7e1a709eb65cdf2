"""FrameSampler: one camera's keyframes, decoded at a bounded rate, for health and detection.

A thread per camera reads its own fan-out subscription (so a slow decode never slows the
reader or the recorder), decodes at most one keyframe per `interval_s`, and offers the
downscaled result to every mailbox subscribed. After a Gap or a new stream it waits for the
next keyframe, as every consumer of encoded video must.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from camera_adapters.packets import EncodedPacket
from hub.ingest.fanout import Gap, PacketFanout, StreamStarted, StreamStopped, Subscription

from .decoder import DecodeError, KeyframeDecoder
from .frames import FrameMailbox, SampledFrame
from .timing import StreamTiming

__all__ = ["FrameSampler"]

log = logging.getLogger(__name__)

_POLL_S: Final = 1.0  # how often an idle sampler checks whether it should stop
# Packets the sampler may fall behind: it only needs keyframes, so ~4 s at 25 fps is plenty.
_QUEUE_PACKETS: Final = 100


class FrameSampler:
    def __init__(
        self,
        camera_id: str,
        fanout: PacketFanout,
        *,
        interval_s: float,
        width: int = 320,
        color_width: int = 160,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.camera_id = camera_id
        self.interval_s = interval_s
        self.timing = StreamTiming()
        self.decoded = 0
        self.decode_errors = 0
        self._fanout = fanout
        self._width, self._color_width = width, color_width
        self._now = now
        self._mailboxes: tuple[FrameMailbox, ...] = ()
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._decoder: KeyframeDecoder | None = None
        self._next_at = 0.0

    def subscribe(self, name: str, maxsize: int = 4) -> FrameMailbox:
        mailbox = FrameMailbox(f"{self.camera_id}:{name}", maxsize)
        self._mailboxes = (*self._mailboxes, mailbox)
        return mailbox

    def start(self) -> None:
        if self._thread is not None:
            return
        self._sub = self._fanout.subscribe("sampler", _QUEUE_PACKETS)
        self._thread = threading.Thread(
            target=self._run, name=f"{self.camera_id}:sampler", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Blocking: close the subscription and join the thread (call via to_thread)."""
        sub, thread = self._sub, self._thread
        self._sub = self._thread = None
        if sub is not None:
            sub.close()
        if thread is not None:
            thread.join(timeout)

    @property
    def dropped_packets(self) -> int:
        sub = self._sub
        return 0 if sub is None else sub.dropped

    def _run(self) -> None:
        sub = self._sub
        assert sub is not None
        while True:
            item = sub.get(timeout=_POLL_S)
            if item is None:
                if sub.closed:
                    return
                continue
            if isinstance(item, EncodedPacket):
                self._packet(item)
            elif isinstance(item, StreamStarted):
                self._start_stream(item)
            elif isinstance(item, StreamStopped | Gap):
                self.timing.restart()  # lost packets: timing must not span the hole

    def _start_stream(self, item: StreamStarted) -> None:
        self.timing.restart()
        self._next_at = 0.0
        try:
            self._decoder = KeyframeDecoder(
                item.info, width=self._width, color_width=self._color_width
            )
        except DecodeError as exc:
            self._decoder = None
            log.warning("%s: cannot sample this stream: %s", self.camera_id, exc)

    def _packet(self, packet: EncodedPacket) -> None:
        arrival = self._now()
        self.timing.add(packet, arrival)
        if not packet.is_keyframe or self._decoder is None or arrival < self._next_at:
            return
        self._next_at = arrival + self.interval_s
        try:
            gray, color, size = self._decoder.decode(packet)
        except DecodeError as exc:
            self.decode_errors += 1
            level = logging.WARNING if self.decode_errors == 1 else logging.DEBUG
            log.log(level, "%s: keyframe not decoded: %s", self.camera_id, exc)
            return
        self.decoded += 1
        frame = SampledFrame(self.camera_id, packet.wall_time, gray, color, size)
        for mailbox in self._mailboxes:
            mailbox.offer(frame)
