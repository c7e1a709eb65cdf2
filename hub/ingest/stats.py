"""Rolling stream statistics, updated by the reader thread, read by the API and health."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Final

from camera_adapters.packets import EncodedPacket

WINDOW_S: Final = 10.0  # long enough to hold several GOPs of a 4 s-GOP camera


@dataclass(frozen=True, slots=True)
class StreamStats:
    fps: float
    bitrate_kbps: float
    keyframe_interval_s: float | None
    last_packet_at: float | None  # UTC epoch seconds
    packets_total: int
    bytes_total: int


class StatsMeter:
    """Frame rate, bitrate and keyframe interval over the last WINDOW_S seconds of packets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: deque[tuple[float, int]] = deque()  # (wall time, bytes)
        self._keyframes: deque[float] = deque()
        self._packets = 0
        self._bytes = 0
        self._last: float | None = None

    def add(self, packet: EncodedPacket, arrived_at: float) -> None:
        with self._lock:
            size = len(packet.data)
            self._packets += 1
            self._bytes += size
            self._last = arrived_at
            self._window.append((packet.wall_time, size))
            if packet.is_keyframe:
                self._keyframes.append(packet.wall_time)
            horizon = packet.wall_time - WINDOW_S
            while self._window and self._window[0][0] < horizon:
                self._window.popleft()
            while len(self._keyframes) > 2 and self._keyframes[0] < horizon:
                self._keyframes.popleft()

    def reset_window(self) -> None:
        """Forget the rates of a finished connection (totals are kept)."""
        with self._lock:
            self._window.clear()
            self._keyframes.clear()

    def snapshot(self) -> StreamStats:
        with self._lock:
            fps = kbps = 0.0
            if len(self._window) >= 2:
                span = self._window[-1][0] - self._window[0][0]
                if span > 0:
                    fps = (len(self._window) - 1) / span
                    kbps = sum(size for _, size in self._window) * 8 / span / 1000
            gop = None
            if len(self._keyframes) >= 2:
                gop = (self._keyframes[-1] - self._keyframes[0]) / (len(self._keyframes) - 1)
            return StreamStats(
                fps=round(fps, 2),
                bitrate_kbps=round(kbps, 1),
                keyframe_interval_s=None if gop is None else round(gop, 2),
                last_packet_at=self._last,
                packets_total=self._packets,
                bytes_total=self._bytes,
            )
