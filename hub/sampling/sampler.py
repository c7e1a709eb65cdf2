"""FrameSampler: one camera's keyframes, decoded at a bounded rate, for health and detection.

A thread per camera reads its own fan-out subscription (so a slow decode never slows the
reader or the recorder), decodes a keyframe when some mailbox is due for a frame (each has
its own interval; the health one `interval_s`), and offers the result to the mailboxes that
are due: thumbnails always, the decoded picture to those that asked for it (converted to BGR
only by a consumer that needs the pixels). One decode serves every consumer. After a Gap or
a new stream it waits for the next keyframe, as every consumer of encoded video must.

Fallback: when a mailbox that allows it (`every_frame`) wants frames more often than the
stream's keyframes come, the sampler decodes every frame of a GOP from its keyframe, and
only as far into the GOP as the next frame anyone wants.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from av.video.frame import VideoFrame

from camera_adapters.packets import EncodedPacket, StreamInfo
from hub.ingest.fanout import (
    BATCH_WAKE,
    Gap,
    PacketFanout,
    StreamStarted,
    StreamStopped,
    Subscription,
)

from .decoder import DecodeError, KeyframeDecoder
from .frames import FrameMailbox, SampledFrame
from .timing import StreamTiming

__all__ = ["FrameSampler"]

log = logging.getLogger(__name__)

_POLL_S: Final = 1.0  # how often an idle sampler checks whether it should stop
# Packets the sampler may fall behind: it only needs keyframes, so ~4 s at 25 fps is plenty.
_QUEUE_PACKETS: Final = 100
# Keyframes this much further apart than a consumer's interval switch to every-frame decoding
# (a 1 s GOP sampled every 1 s must not fall back over timestamp jitter).
_GOP_TOLERANCE: Final = 1.25


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
        self.decoded = 0  # frames published
        self.pictures = 0  # pictures decoded (more than published in every-frame mode)
        self.decode_errors = 0
        self.every_frame = False  # decoding within GOPs now (the fallback)
        self._fanout = fanout
        self._width, self._color_width = width, color_width
        self._now = now
        self._mailboxes: tuple[FrameMailbox, ...] = ()
        self._sub: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._decoder: KeyframeDecoder | None = None
        self._info: StreamInfo | None = None
        self._feeding = False  # every-frame mode: still decoding this GOP
        self._last_key_at = 0.0

    def subscribe(
        self,
        name: str,
        maxsize: int = 4,
        *,
        interval_s: float | None = None,
        full_color: bool = False,
        every_frame: bool = False,
    ) -> FrameMailbox:
        """A consumer's mailbox: a frame at most every `interval_s` (default: the sampler's);
        `full_color` adds the full-resolution picture; `every_frame` allows decoding
        within GOPs when keyframes come less often than `interval_s`. Safe while running:
        the sampler thread reads the mailbox tuple, which is replaced, never changed."""
        mailbox = FrameMailbox(
            f"{self.camera_id}:{name}",
            maxsize,
            interval_s=self.interval_s if interval_s is None else interval_s,
            full_color=full_color,
            every_frame=every_frame,
        )
        self._mailboxes = (*self._mailboxes, mailbox)
        return mailbox

    def start(self) -> None:
        if self._thread is not None:
            return
        # Woken at each keyframe, which is what it decodes, or every BATCH_WAKE packets.
        self._sub = self._fanout.subscribe("sampler", _QUEUE_PACKETS, wake_every=BATCH_WAKE)
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
                self._feeding = False  # the GOP is broken: wait for the next keyframe

    def _start_stream(self, item: StreamStarted) -> None:
        self.timing.restart()
        self._info = item.info
        self._feeding = False
        for mailbox in self._mailboxes:
            mailbox.next_at = 0.0
        self._decoder = self._new_decoder(every_frame=False)

    def _new_decoder(self, *, every_frame: bool) -> KeyframeDecoder | None:
        if self._info is None:
            return None
        try:
            return KeyframeDecoder(
                self._info,
                width=self._width,
                color_width=self._color_width,
                every_frame=every_frame,
            )
        except DecodeError as exc:
            log.warning("%s: cannot sample this stream: %s", self.camera_id, exc)
            return None

    def _packet(self, packet: EncodedPacket) -> None:
        arrival = self._now()
        self.timing.add(packet, arrival)
        if packet.is_keyframe:
            self._keyframe(arrival)
        if self._decoder is None or not (packet.is_keyframe or self._feeding):
            return
        # A keyframe is taken up to a quarter interval early: it is the cheaper picture, and
        # it keeps the samples in step with the GOPs (every-frame decoding then stops early).
        early = 0.25 if packet.is_keyframe else 0.0
        due = [m for m in self._mailboxes if arrival >= m.next_at - m.interval_s * early]
        try:
            if self.every_frame:
                picture = self._decoder.feed(packet)
            elif due:
                picture = self._decoder.decode_keyframe(packet)
            else:
                return
        except DecodeError as exc:
            self.decode_errors += 1
            self._feeding = False  # the rest of this GOP refers to what failed
            # A corrupt frame is this camera's error: said once, then counted (DEBUG).
            level = logging.ERROR if self.decode_errors == 1 else logging.DEBUG
            log.log(level, "%s: frame not decoded (corrupt data?): %s", self.camera_id, exc)
            return
        if picture is not None:
            self.pictures += 1
            if due:
                self._publish(packet, picture, due, arrival)
        if self.every_frame and self._feeding:
            # Decode on only while someone wants a frame before the next keyframe is due.
            gop = self._gop_s()
            wanted = min(
                (m.next_at for m in self._mailboxes if m.every_frame), default=float("inf")
            )
            self._feeding = gop is not None and wanted < self._last_key_at + gop * 0.95

    def _keyframe(self, arrival: float) -> None:
        """At each keyframe: choose keyframe-only or every-frame decoding for this GOP."""
        self._last_key_at = arrival
        gop = self._gop_s()
        needs = [m.interval_s for m in self._mailboxes if m.every_frame]
        every = gop is not None and bool(needs) and gop > min(needs) * _GOP_TOLERANCE
        if every != self.every_frame:
            log.info(
                "%s: keyframes every %.1f s: %s",
                self.camera_id,
                gop or 0.0,
                "decoding every frame" if every else "decoding keyframes only",
            )
            self.every_frame = every
            self._decoder = self._new_decoder(every_frame=every)
        self._feeding = every

    def _gop_s(self) -> float | None:
        intervals = self.timing.snapshot().keyframe_intervals[-4:]
        return sorted(intervals)[len(intervals) // 2] if intervals else None

    def _publish(
        self, packet: EncodedPacket, picture: VideoFrame, due: list[FrameMailbox], arrival: float
    ) -> None:
        assert self._decoder is not None
        gray, color = self._decoder.thumbnails(picture)
        # The picture itself (refcounted, never reused by the decoder): whoever needs its
        # pixels converts them, on its own thread.
        full = picture if any(m.full_color for m in due) else None
        self.decoded += 1
        frame = SampledFrame(
            self.camera_id,
            packet.wall_time,
            gray,
            color,
            (picture.width, picture.height),
            picture=full,
            keyframe=packet.is_keyframe,
        )
        for mailbox in due:
            step = mailbox.interval_s
            if packet.is_keyframe and self.every_frame:
                # In step with the GOP: each GOP is decoded only as far as its next sample.
                mailbox.next_at = arrival + step
            else:
                # On the mailbox's own grid, so the rate holds on average: a keyframe that
                # came late (a loaded box, a burst after a stall) must not push the next one
                # out of its window. Half a step at least: a backlog never bursts samples.
                mailbox.next_at = max(mailbox.next_at + step, arrival + step / 2)
            mailbox.offer(frame)
