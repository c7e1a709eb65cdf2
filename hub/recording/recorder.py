"""Continuous recording of one camera: copy-mode MP4 segments cut on keyframes.

A recorder is a thread that reads its fan-out subscription, writes the current segment as a
fragmented MP4 part in the spool, and cuts at the first keyframe after `segment_seconds`, so
consecutive segments meet exactly at that keyframe: no gap while the camera stays online.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from camera_adapters.packets import EncodedPacket, StreamInfo
from hub.ingest.fanout import Gap, StreamStarted, StreamStopped, Subscription
from storage.mp4 import FragmentedWriter, Mp4Error
from storage.spool import SegmentMeta, Spool

log = logging.getLogger(__name__)

_POLL_S: Final = 1.0  # how often an idle recorder checks whether it should stop


def should_cut(segment_start: float, packet: EncodedPacket, segment_seconds: float) -> bool:
    """Cut before `packet` when it is a keyframe and the segment is long enough."""
    return packet.is_keyframe and packet.wall_time - segment_start >= segment_seconds


class SegmentRecorder:
    def __init__(
        self,
        *,
        camera_id: str,
        school_id: str,
        subscription: Subscription,
        spool: Spool,
        segment_seconds: float,
        on_segment: Callable[[SegmentMeta], None],
    ) -> None:
        self.camera_id = camera_id
        self._school_id = school_id
        self._sub = subscription
        self._spool = spool
        self._segment_seconds = segment_seconds
        self._on_segment = on_segment  # called from the recorder thread
        self._info: StreamInfo | None = None
        self._writer: FragmentedWriter | None = None
        self._part: Path | None = None
        self._thread = threading.Thread(target=self._run, name=f"{camera_id}:recorder", daemon=True)
        self.segments_written = 0
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current segment and end the thread."""
        self._sub.close()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                item = self._sub.get(timeout=_POLL_S)
                if item is None:
                    if self._sub.closed:
                        break
                    continue
                self._handle(item)
        finally:
            self._finish_segment()

    def _handle(self, item: object) -> None:
        if isinstance(item, StreamStarted):
            self._finish_segment()
            self._info = item.info
        elif isinstance(item, (StreamStopped, Gap)):
            if isinstance(item, Gap):
                log.warning(
                    "%s: recorder fell behind, %d packets lost", self.camera_id, item.dropped
                )
            self._finish_segment()
        elif isinstance(item, EncodedPacket):
            self._write(item)

    def _write(self, packet: EncodedPacket) -> None:
        if self._info is None:
            return
        if self._writer is not None and should_cut(
            self._writer.start_wall, packet, self._segment_seconds
        ):
            self._finish_segment(ends_at=packet.wall_time)
        if self._writer is None:
            if not packet.is_keyframe:
                return  # a segment must start with a keyframe to be playable on its own
            self._open_segment(self._info, packet)
        if self._writer is None:
            return
        try:
            self._writer.write(packet)
        except Mp4Error as exc:
            self.errors += 1
            log.error("%s: segment write failed, starting a new one: %s", self.camera_id, exc)
            self._finish_segment()

    def _open_segment(self, info: StreamInfo, first: EncodedPacket) -> None:
        start_at = datetime.fromtimestamp(first.wall_time, UTC)
        try:
            self._part = self._spool.new_part(self.camera_id, self._school_id, start_at)
            self._writer = FragmentedWriter(self._part, info, first)
        except (OSError, Mp4Error) as exc:
            self.errors += 1
            log.error("%s: cannot open a segment in the spool: %s", self.camera_id, exc)
            self._writer = None

    def _finish_segment(self, *, ends_at: float | None = None) -> None:
        """Close the current segment; `ends_at` is where the next one starts, if it does."""
        writer, part = self._writer, self._part
        self._writer = self._part = None
        if writer is None or part is None:
            return
        try:
            writer.close()
            if writer.packets == 0:
                self._spool.discard_part(part)
                return
            end = None if ends_at is None else datetime.fromtimestamp(ends_at, UTC)
            meta = self._spool.finish_part(part, ends_at=end)
        except (OSError, Mp4Error) as exc:
            # The part stays in the spool; start-up recovery finalizes or quarantines it.
            self.errors += 1
            log.error("%s: cannot finalize %s: %s", self.camera_id, part.name, exc)
            return
        self.segments_written += 1
        self._on_segment(meta)
