"""Persists camera state changes and stream statistics without blocking ingest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from hub.ingest.stats import StreamStats
from hub.ingest.supervisor import CameraStatus
from storage.db import repository as repo
from storage.db.database import Database

log = logging.getLogger(__name__)

_QUEUE_LIMIT: Final = 10_000  # state changes are rare; this is only reached if the DB is stuck
STATS_EVERY_S: Final = 10.0


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class StatusWriter:
    """Receives status changes on the event loop and writes them in order in one task."""

    def __init__(self, db: Database, stats_source: Callable[[], Mapping[str, StreamStats]]) -> None:
        self._db = db
        self._stats_source = stats_source
        self._queue: asyncio.Queue[tuple[str, CameraStatus] | None] = asyncio.Queue(
            _QUEUE_LIMIT + 1  # room for the stop sentinel
        )
        self._changes: asyncio.Task[None] | None = None
        self._stats: asyncio.Task[None] | None = None
        self.dropped = 0

    def status_changed(self, camera_id: str, status: CameraStatus) -> None:
        if self._queue.qsize() < _QUEUE_LIMIT:
            self._queue.put_nowait((camera_id, status))
        else:
            self.dropped += 1
            log.error("%s: status change not persisted (database backlog)", camera_id)

    def start(self) -> None:
        self._changes = asyncio.create_task(self._write_changes(), name="status:changes")
        self._stats = asyncio.create_task(self._write_stats(), name="status:stats")

    async def stop(self) -> None:
        """Write every change queued so far (the final STOPPED states included), then end."""
        if self._stats is not None:
            self._stats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats
        if self._changes is not None:
            self._queue.put_nowait(None)
            await self._changes
        self._changes = self._stats = None

    async def _persist(self, camera_id: str, status: CameraStatus) -> None:
        try:
            async with self._db.session() as session:
                await repo.record_state_change(
                    session,
                    camera_id,
                    state=status.state.value,
                    reason=None if status.reason is None else status.reason.value,
                    detail=status.detail,
                    at=datetime.fromtimestamp(status.since, UTC),
                )
        except Exception:
            log.exception("%s: cannot persist state %s", camera_id, status.state)

    async def _write_changes(self) -> None:
        while (item := await self._queue.get()) is not None:
            await self._persist(*item)

    async def _write_stats(self) -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            now = datetime.now(UTC)
            try:
                async with self._db.session() as session:
                    for camera_id, stats in self._stats_source().items():
                        row = repo.StatsRow(
                            last_packet_at=_utc(stats.last_packet_at),
                            fps=stats.fps,
                            bitrate_kbps=stats.bitrate_kbps,
                            keyframe_interval_s=stats.keyframe_interval_s,
                        )
                        await repo.record_stats(session, camera_id, row, at=now)
            except Exception:
                log.exception("cannot persist stream statistics")
