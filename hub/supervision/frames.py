"""The newest picture of each camera, for one-click evidence snapshots during a round.

Each watched camera's frame sampler offers this a full-resolution frame at its usual rate
(the decode health does anyway); a snapshot encodes the newest one as a JPEG. A frame older
than `max_age_s` is not live any more: the camera is down, and a snapshot of it would be
evidence of a moment nobody saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, tzinfo

from hub.detection.snapshot import SnapshotError, render_snapshot
from hub.sampling.frames import FrameMailbox, SampledFrame

__all__ = ["LatestFrames"]


class LatestFrames:
    def __init__(self, *, max_age_s: float, now: Callable[[], float] = time.time) -> None:
        self._max_age_s = max_age_s
        self._now = now
        self._mailboxes: dict[str, FrameMailbox] = {}
        self._newest: dict[str, SampledFrame] = {}

    def watch(self, camera_id: str, mailbox: FrameMailbox) -> None:
        """Keep the camera's newest frame from `mailbox` (a `full_color` one)."""
        self._mailboxes[camera_id] = mailbox

    def unwatch(self, camera_id: str) -> None:
        """Forget the camera (its sampler is stopped or handed over): no snapshot of it here."""
        self._mailboxes.pop(camera_id, None)
        self._newest.pop(camera_id, None)

    def newest(self, camera_id: str) -> SampledFrame | None:
        """The newest live frame of the camera, or None (not watched, no picture yet, stale)."""
        mailbox = self._mailboxes.get(camera_id)
        if mailbox is None:
            return None
        frames = mailbox.drain()
        if frames:
            self._newest[camera_id] = frames[-1]
        frame = self._newest.get(camera_id)
        if frame is None or self._now() - frame.wall_time > self._max_age_s:
            return None
        return frame

    async def jpeg(self, camera_id: str, tz: tzinfo, *, quality: int) -> bytes | None:
        """A JPEG of the newest live frame, stamped with the camera and local time; None
        when there is no live picture."""
        frame = self.newest(camera_id)
        if frame is None:
            return None
        image = await asyncio.to_thread(frame.full_bgr)
        if image is None:
            return None
        local = datetime.fromtimestamp(frame.wall_time, tz)
        title = f"{camera_id} {local:%Y-%m-%d %H:%M:%S}"  # the font draws ASCII only
        try:
            return await asyncio.to_thread(
                render_snapshot, image, (), (), title=title, quality=quality
            )
        except SnapshotError:
            return None
