"""Pre-roll: each camera's last seconds of encoded packets, whole GOPs, for event clips.

A thread per camera reads its own fan-out subscription (like the recorder: no decoding, a
few list operations per packet) and keeps whole GOPs covering at least `keep_s`. A clip
request takes the GOPs from the keyframe at or before its start, then collects the packets
that follow until its end: the clip is ready when a packet past the end arrives, or earlier,
cut short, when the stream stops, restarts or loses packets (a gap cannot be muxed over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from camera_adapters.packets import EncodedPacket, StreamInfo
from hub.ingest.fanout import (
    BATCH_WAKE,
    Gap,
    PacketFanout,
    StreamStarted,
    StreamStopped,
    Subscription,
)

__all__ = ["ClipPackets", "PacketRing"]

log = logging.getLogger(__name__)

_POLL_S: Final = 1.0  # how often an idle ring checks whether it should stop
_QUEUE_PACKETS: Final = 250  # ~10 s of 25 fps: the ring does almost nothing per packet


@dataclass(frozen=True, slots=True)
class ClipPackets:
    """What a clip is made of: the stream's parameters and its packets from a keyframe on."""

    info: StreamInfo
    packets: tuple[EncodedPacket, ...]
    complete: bool  # False: the stream stopped or broke before the requested end

    @property
    def start(self) -> float:
        return self.packets[0].wall_time

    @property
    def end(self) -> float:
        return self.packets[-1].wall_time


@dataclass(eq=False, slots=True)
class _Collector:
    end: float
    info: StreamInfo
    packets: list[EncodedPacket]
    future: asyncio.Future[ClipPackets | None]
    loop: asyncio.AbstractEventLoop
    done: bool = field(default=False)

    def finish(self, complete: bool) -> None:
        if self.done:
            return
        self.done = True
        result = ClipPackets(self.info, tuple(self.packets), complete) if self.packets else None

        def settle() -> None:
            if not self.future.done():
                self.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            self.loop.call_soon_threadsafe(settle)


class PacketRing:
    def __init__(self, camera_id: str, fanout: PacketFanout, *, keep_s: float) -> None:
        self.camera_id = camera_id
        self.keep_s = keep_s
        self._fanout = fanout
        self._lock = threading.Lock()
        self._gops: deque[list[EncodedPacket]] = deque()
        self._info: StreamInfo | None = None
        self._collectors: list[_Collector] = []
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._sub = self._fanout.subscribe("preroll", _QUEUE_PACKETS, wake_every=BATCH_WAKE)
        self._thread = threading.Thread(
            target=self._run, name=f"{self.camera_id}:preroll", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Blocking: stop reading; waiting clips end with what they have (call via to_thread)."""
        sub, thread = self._sub, self._thread
        self._sub = self._thread = None
        if sub is not None:
            sub.close()
        if thread is not None:
            thread.join(timeout)
        self._restart(None)

    @property
    def dropped_packets(self) -> int:
        sub = self._sub
        return 0 if sub is None else sub.dropped

    @property
    def span_s(self) -> float:
        """Seconds of video held now."""
        with self._lock:
            if not self._gops:
                return 0.0
            return self._gops[-1][-1].wall_time - self._gops[0][0].wall_time

    def clip(self, start: float, end: float) -> asyncio.Future[ClipPackets | None]:
        """Packets from the keyframe at or before `start` (or the oldest held) to `end`.

        Call from the event loop; the future resolves once the video up to `end` has arrived
        (None when there is no video at all).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ClipPackets | None] = loop.create_future()
        with self._lock:
            gops = list(self._gops)
            first = 0
            for i, gop in enumerate(gops):
                if gop[0].wall_time <= start:
                    first = i
            held = [p for gop in gops[first:] for p in gop]
            if self._info is None or not held:
                future.set_result(None)
                return future
            collector = _Collector(end, self._info, held, future, loop)
            if held[-1].wall_time > end:
                collector.packets = [p for p in held if p.wall_time <= end]
                collector.finish(True)
            else:
                self._collectors.append(collector)
        return future

    def cut_before(self, wall_time: float) -> None:
        """Drop what came before `wall_time` (the picture changed size there)."""
        with self._lock:
            while self._gops and self._gops[0][-1].wall_time < wall_time:
                self._gops.popleft()

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
                self._restart(item.info)
            elif isinstance(item, StreamStopped | Gap):
                self._restart(self._info)  # nothing muxes across a hole

    def _restart(self, info: StreamInfo | None) -> None:
        with self._lock:
            self._gops.clear()
            self._info = info
            collectors, self._collectors = self._collectors, []
        for collector in collectors:
            collector.finish(False)

    def _packet(self, packet: EncodedPacket) -> None:
        finished: list[_Collector] = []
        with self._lock:
            if packet.is_keyframe:
                self._gops.append([packet])
            elif self._gops:
                self._gops[-1].append(packet)
            else:
                return  # waiting for the first keyframe
            while (
                len(self._gops) > 1 and packet.wall_time - self._gops[1][0].wall_time >= self.keep_s
            ):
                self._gops.popleft()
            for collector in self._collectors:
                if packet.wall_time > collector.end:
                    finished.append(collector)
                else:
                    collector.packets.append(packet)
            if finished:
                self._collectors = [c for c in self._collectors if c not in finished]
        for collector in finished:
            collector.finish(True)
