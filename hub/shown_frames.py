"""Frames the console showed someone to box a missed violation (漏报) on.

The live picture moves on within a second, so a miss keeps the very frame it was drawn on:
the frame route keeps each JPEG it serves here for a while, and the miss names it by id.
Kept in memory only: after a restart the console simply fetches a new frame.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ShownFrame", "ShownFrames"]


@dataclass(frozen=True, slots=True)
class ShownFrame:
    camera_id: str
    at: datetime  # when the camera saw it
    jpeg: bytes  # unannotated, at the camera's resolution
    shown_at: float  # monotonic


class ShownFrames:
    def __init__(
        self,
        *,
        keep_s: float = 30 * 60,
        max_frames: int = 64,  # ~200 kB each at 720p: a few MB at most
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keep_s = keep_s
        self._max_frames = max_frames
        self._now = now
        self._frames: OrderedDict[str, ShownFrame] = OrderedDict()

    def put(self, camera_id: str, at: datetime, jpeg: bytes) -> str:
        """Keep the frame; returns its id (random, so nobody guesses another's frame)."""
        frame_id = secrets.token_hex(16)
        self._frames[frame_id] = ShownFrame(camera_id, at, jpeg, self._now())
        while len(self._frames) > self._max_frames:
            self._frames.popitem(last=False)
        return frame_id

    def get(self, frame_id: str) -> ShownFrame | None:
        """The frame, or None when unknown or older than `keep_s`."""
        frame = self._frames.get(frame_id)
        if frame is None or self._now() - frame.shown_at > self._keep_s:
            return None
        return frame
