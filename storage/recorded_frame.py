"""One picture from continuous recording: the frame on screen at a wall-clock moment.

An inspector who finds a violation the detector missed (漏报) in recorded footage boxes it on
this frame; the same frame, unannotated, becomes the miss's hard example. Segment times follow
the recorder: media time t of a segment is `segment.start_at + t`, t counted from its first
packet (storage.remux does the same).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Segment, SegmentStatus

__all__ = ["RecordedFrame", "recorded_frame"]

LocalCopy = Callable[[Segment, Path], Awaitable[tuple[Path, bool]]]  # FootageExporter.local_copy


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    at: datetime  # when the frame was shown (at or just before the moment asked for)
    bgr: npt.NDArray[np.uint8]


async def recorded_frame(
    db: Database, local_copy: LocalCopy, camera_id: str, at: datetime, work: Path
) -> RecordedFrame | None:
    """The camera's recorded frame at `at`, or None where nothing was recorded then.
    Raises storage.export.ExportFailed when the segment cannot be read."""
    async with db.session() as s:
        segments = await repo.segments_between(s, camera_id, at, at + timedelta(microseconds=1))
    segments = [seg for seg in segments if seg.status in (SegmentStatus.SPOOLED,
                                                          SegmentStatus.STORED)]  # fmt: skip
    if not segments:
        return None
    segment = segments[-1]
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    path, temporary = await local_copy(segment, work)
    try:
        offset = Fraction((at - segment.start_at) // timedelta(microseconds=1), 1_000_000)
        found = await asyncio.to_thread(_decode_at, path, offset)
    finally:
        if temporary:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(path.unlink)
    if found is None:
        return None
    rel, bgr = found
    return RecordedFrame(at=segment.start_at + timedelta(seconds=float(rel)), bgr=bgr)


def _decode_at(path: Path, offset: Fraction) -> tuple[Fraction, npt.NDArray[np.uint8]] | None:
    """The last frame whose time (from the first packet) is at or before `offset`."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.time_base is None:
            return None
        tb = Fraction(stream.time_base)
        first = stream.start_time or 0
        # Seek to the keyframe before the moment, then decode forward to it.
        container.seek(first + int(offset / tb), stream=stream, backward=True)
        shown: tuple[Fraction, av.VideoFrame] | None = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            rel = (frame.pts - first) * tb
            if rel > offset and shown is not None:
                break
            shown = (rel, frame)
            if rel > offset:  # the moment lies before the segment's first frame
                break
        if shown is None:
            return None
        return shown[0], shown[1].to_ndarray(format="bgr24").astype(np.uint8, copy=False)
