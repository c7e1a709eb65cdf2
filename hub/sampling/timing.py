"""Per-packet stream timing for health: keyframe intervals and the stream clock's drift.

StatsMeter (hub.ingest) gives the mean keyframe interval; health also needs how irregular
the intervals are, and whether the camera's media clock runs at the speed of the hub's wall
clock. Updated by the sampler thread for every packet, so each update is a few operations.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Final

from camera_adapters.packets import EncodedPacket

__all__ = ["StreamTiming", "TimingSnapshot"]

KEYFRAMES_KEPT: Final = 16  # intervals kept: 32-64 s of a 2-4 s GOP
CLOCK_WINDOW_S: Final = 300.0  # drift is measured over up to 5 minutes of keyframes
JUMP_S: Final = 5.0  # media time and arrival disagreeing this much at once is a jump


@dataclass(frozen=True, slots=True)
class TimingSnapshot:
    keyframe_intervals: tuple[float, ...]  # seconds of media time, oldest first
    clock_span_s: float  # arrival time covered by the drift measurement
    clock_drift_s: float  # media time elapsed minus arrival time elapsed over that span
    timestamp_jumps: int  # discontinuities since the stream started


class StreamTiming:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._intervals: deque[float] = deque(maxlen=KEYFRAMES_KEPT)
        self._anchors: deque[tuple[float, float]] = deque()  # (arrival, media) per keyframe
        self._last_key_media: float | None = None
        self._last: tuple[float, float] | None = None
        self._jumps = 0

    def restart(self) -> None:
        """A new connection or lost packets: earlier timestamps no longer compare."""
        with self._lock:
            self._intervals.clear()
            self._anchors.clear()
            self._last_key_media = None
            self._last = None
            self._jumps = 0

    def add(self, packet: EncodedPacket, arrival: float) -> None:
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None:
            return
        media = float(ts * packet.time_base)
        with self._lock:
            if self._last is not None:
                arrival_step, media_step = arrival - self._last[0], media - self._last[1]
                if media_step < 0 or abs(media_step - arrival_step) > JUMP_S:
                    self._jumps += 1  # measure afresh from here
                    self._anchors.clear()
                    self._last_key_media = None
            self._last = (arrival, media)
            if not packet.is_keyframe:
                return
            if self._last_key_media is not None:
                self._intervals.append(media - self._last_key_media)
            self._last_key_media = media
            self._anchors.append((arrival, media))
            while self._anchors and arrival - self._anchors[0][0] > CLOCK_WINDOW_S:
                self._anchors.popleft()

    def snapshot(self) -> TimingSnapshot:
        with self._lock:
            span = drift = 0.0
            if len(self._anchors) >= 2:
                (a0, m0), (a1, m1) = self._anchors[0], self._anchors[-1]
                span, drift = a1 - a0, (m1 - m0) - (a1 - a0)
            return TimingSnapshot(
                keyframe_intervals=tuple(self._intervals),
                clock_span_s=span,
                clock_drift_s=drift,
                timestamp_jumps=self._jumps,
            )
