"""Moves finished segments from the spool into the object store, indexed in the database.

Order of durable steps for each segment: sidecar in the spool -> database row (spooled) ->
object uploaded -> row marked stored -> spool copy removed. Each step is idempotent, so after a
crash or an object-store outage the archive simply carries on from what the disk and the
database say, and every segment ends up in the store exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import UTC, datetime
from typing import Final

from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import AuditEntry, Segment, SegmentStatus
from storage.objectstore import ObjectStore, ObjectStoreError
from storage.quota import choose_drops
from storage.spool import SegmentMeta, Spool

log = logging.getLogger(__name__)

_RETRY_INITIAL_S: Final = 1.0
_RETRY_MAX_S: Final = 60.0
_IDLE_RESCAN_S: Final = 30.0  # pick up anything a failed step left, even without a new segment
_STOP_GRACE_S: Final = 10.0  # how long stop() waits for the upload under way


def segment_row(
    meta: SegmentMeta,
    *,
    now: datetime,
    status: SegmentStatus = SegmentStatus.SPOOLED,
    node: str | None = None,
) -> Segment:
    """The database row of a finished segment, as its sidecar describes it."""
    return Segment(
        camera_id=meta.camera_id,
        start_at=meta.start_at,
        end_at=meta.end_at,
        bytes=meta.bytes,
        sha256=meta.sha256,
        object_key=meta.object_key,
        status=status,
        recovered=meta.recovered,
        codec=meta.codec,
        width=meta.width,
        height=meta.height,
        created_at=now,
        spool_node=node if status == SegmentStatus.SPOOLED else None,
    )


class SegmentArchive:
    def __init__(
        self,
        db: Database,
        spool: Spool,
        store: ObjectStore,
        *,
        quota_bytes: int | None = None,
        node: str | None = None,
    ) -> None:
        self._db = db
        # In a cluster every node has its own spool and uploads only what is in it.
        self._node = node
        self._spool = spool
        self._store = store
        self._quota_bytes = quota_bytes
        self._incoming: deque[SegmentMeta] = deque()
        self._kick = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.damaged_parts = 0
        self.uploaded = 0
        self.dropped = 0  # segments given up to the spool quota
        self.last_drop_at: datetime | None = None
        self.failing_since: datetime | None = None  # set while the object store refuses uploads
        self._store_ready = False  # the bucket/directory exists (checked once it is reachable)
        self._stopping = False

    async def start(self) -> None:
        """Recover what a crash left in the spool, then start uploading. Call before recorders."""
        self._loop = asyncio.get_running_loop()
        recovered, damaged = await asyncio.to_thread(self._spool.recover_parts)
        self.damaged_parts = len(damaged)
        for meta in await asyncio.to_thread(self._spool.ready_segments):
            self._incoming.append(meta)
        if recovered:
            log.warning("recovered %d interrupted segment(s) from the spool", len(recovered))
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="archive:uploader")
        self._kick.set()

    async def stop(self) -> None:
        """Let the upload under way finish (a bounded wait), index what is queued; uploads
        not started stay in the spool for the next start."""
        if self._task is not None:
            self._stopping = True
            self._kick.set()
            try:  # a finished upload left unmarked would wait for the next start's check
                await asyncio.wait_for(asyncio.shield(self._task), _STOP_GRACE_S)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self._index_incoming()

    def segment_finished(self, meta: SegmentMeta) -> None:
        """Thread-safe: a recorder hands over a finished segment."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # the sidecar is on disk; the next start indexes it
        loop.call_soon_threadsafe(self._accept, meta)

    def _accept(self, meta: SegmentMeta) -> None:
        self._incoming.append(meta)
        self._kick.set()

    async def _run(self) -> None:
        delay = _RETRY_INITIAL_S
        retry_at = 0.0  # loop time before which uploads wait; indexing never waits
        loop = asyncio.get_running_loop()
        while not self._stopping:
            wait_s = _IDLE_RESCAN_S if retry_at <= loop.time() else retry_at - loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), min(wait_s, _IDLE_RESCAN_S))
            self._kick.clear()
            try:
                # The database learns of every finished segment at once, outage or not.
                await self._index_incoming()
                await self._enforce_quota()
                if loop.time() < retry_at:
                    continue
                if not self._store_ready:
                    await self._store.start()
                    self._store_ready = True
                await self._upload_pending()
            except ObjectStoreError as exc:
                if self.failing_since is None:
                    self.failing_since = datetime.now(UTC)
                    log.warning("object store unavailable, segments stay spooled: %s", exc)
                else:
                    log.debug("object store still unavailable: %s", exc)
                # A person must fix credentials or permissions: wait the longest.
                retry_at = loop.time() + (delay if exc.retriable else _RETRY_MAX_S)
                delay = min(_RETRY_MAX_S, delay * 2)
                continue
            except Exception:
                log.exception("archive step failed; retrying")
                retry_at = loop.time() + delay
                delay = min(_RETRY_MAX_S, delay * 2)
                continue
            if self.failing_since is not None:
                log.warning("object store reachable again")
                self.failing_since = None
            delay = _RETRY_INITIAL_S
            retry_at = 0.0

    async def _index_incoming(self) -> None:
        while self._incoming:
            meta = self._incoming[0]
            async with self._db.session() as session:
                await repo.add_segment(
                    session, segment_row(meta, now=datetime.now(UTC), node=self._node)
                )
            self._incoming.popleft()

    async def _enforce_quota(self) -> None:
        if self._quota_bytes is None:
            return
        usage = await asyncio.to_thread(self._spool.usage_bytes)
        if usage <= self._quota_bytes:
            return
        ready = await asyncio.to_thread(self._spool.ready_segments)
        drops = choose_drops(ready, usage_bytes=usage, quota_bytes=self._quota_bytes)
        if not drops:
            log.error("spool over quota (%d bytes) with nothing droppable", usage)
            return
        now = datetime.now(UTC)
        log.error(
            "spool over quota (%.1f of %.1f GB): dropping %d oldest recording segment(s)",
            usage / 1e9,
            self._quota_bytes / 1e9,
            len(drops),
        )
        async with self._db.session() as session:
            for meta in drops:
                await repo.mark_segment_dropped(session, meta.object_key)
                session.add(
                    AuditEntry(
                        at=now,
                        actor="system",
                        action="spool_drop",
                        camera_id=meta.camera_id,
                        object_key=meta.object_key,
                        detail=f"spool quota {self._quota_bytes} bytes exceeded "
                        f"while the object store was unavailable",
                    )
                )
        for meta in drops:
            await asyncio.to_thread(self._spool.remove_ready, meta.object_key)
        self.dropped += len(drops)
        self.last_drop_at = now

    async def _upload_pending(self) -> None:
        while True:
            async with self._db.session() as session:
                batch = await repo.pending_segments(session, limit=50, node=self._node)
            if not batch:
                return
            for segment in batch:
                if self._stopping:
                    return
                await self._upload(segment)

    async def _upload(self, segment: Segment) -> None:
        path = self._spool.ready_path(segment.object_key)
        if not path.exists():
            # Uploaded by a run that crashed before marking it: the store is the witness.
            info = await self._store.stat(segment.object_key)
            if info is None or info.size != segment.bytes:
                log.error("segment %s is neither spooled nor stored", segment.object_key)
                status = SegmentStatus.DAMAGED
            else:
                status = SegmentStatus.STORED
            async with self._db.session() as session:
                row = await session.get(Segment, segment.id)
                if row is not None:
                    row.status = status
                    row.stored_at = datetime.now(UTC)
            return
        # A crash can fall between a finished upload and the row update: the object is then
        # already there, and uploading it again would store a second version of it.
        existing = await self._store.stat(segment.object_key)
        if existing is None or existing.size != segment.bytes:
            await self._store.put_file(segment.object_key, path, content_type="video/mp4")
        if segment.legal_hold:  # held by an inspection while it waited in the spool
            await self._store.set_legal_hold(segment.object_key, True)
        async with self._db.session() as session:
            await repo.mark_segment_stored(session, segment.id, at=datetime.now(UTC))
        await asyncio.to_thread(self._spool.remove_ready, segment.object_key)
        self.uploaded += 1
