"""Footage exports for inspections: one copy-mode MP4 for a camera and a time range.

An export copies, without re-encoding, the packets of every segment overlapping the range
(from the object store, or from the spool while not uploaded yet) into one faststart MP4 that
starts at the keyframe at or before the requested start. It is uploaded as
exports/<school>/<camera>/<id>.mp4 and recorded (Export row and audit entry); an identical
request reuses it until it expires.

The export's timeline follows the wall clock: every segment sits at its recorded start
relative to the first keyframe, so media time t is `media_start_at + t`, and a recording gap
is a gap in timestamps. MP4 stores it as the frame before the gap lasting until the next one:
browsers hold that frame and play on without stalling, the seek bar stays true to the clock (an
inspector relates what is seen to times in a report), and the gap is reported in `gaps`.
Closing gaps instead would show every later moment at a wrong time.

Errors (one tree, ExportError):
    InvalidRange, UnknownCamera, NoFootage: the request itself; nothing was read or written.
    ExportFailed: footage could not be read, remuxed or stored; `retriable` says whether a
        later attempt may succeed. Nothing is left behind either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar

from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import AuditEntry, Export, Segment, SegmentStatus
from storage.export_plan import (
    ExportError,
    ExportFailed,
    ExportGap,
    ExportResult,
    GapReason,
    InvalidRange,
    NoFootage,
    UnknownCamera,
    check_range,
    export_key,
    find_gaps,
    gap_from_json,
    gap_to_json,
    gaps_in,
    split_at_stream_change,
)
from storage.mp4 import Mp4Error, sha256_of
from storage.objectstore import ObjectStore, ObjectStoreError
from storage.remux import Concatenator, StreamChanged

__all__ = [  # the export API, with the plan's types re-exported for callers
    "ExportError",
    "ExportFailed",
    "ExportGap",
    "ExportResult",
    "FootageExporter",
    "GapReason",
    "InvalidRange",
    "NoFootage",
    "UnknownCamera",
    "check_range",
    "export_key",
    "find_gaps",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# An export made soon after its range ended may miss footage still being recorded or indexed
# (segments are up to an hour long): only later exports with gaps are reused.
_REUSE_SETTLE: Final = timedelta(seconds=3600 + 300)
_MAX_URL_S: Final = 7 * 24 * 3600  # presigned URLs cannot live longer (SigV4)
_EXPIRE_BATCH: Final = 200
_PARALLEL_EXPORTS: Final = 2  # remuxing is disk- and CPU-bound; more only slows recording

SpoolPaths = Callable[[str], Path]  # object key -> where the spool keeps it (Spool.ready_path)


class FootageExporter:
    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        *,
        work_dir: Path,
        max_range_s: float = 4 * 3600,
        cache_ttl_s: float = 24 * 3600,
        spool: SpoolPaths | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._store = store
        self._work_dir = Path(work_dir)
        self._max_range_s = max_range_s
        self._ttl = timedelta(seconds=cache_ttl_s)
        self._spool = spool
        self._now = now
        self._slots = asyncio.Semaphore(_PARALLEL_EXPORTS)
        self._same_request: dict[tuple[str, datetime, datetime], _KeyedLock] = {}

    async def export(
        self, camera_id: str, start: datetime, end: datetime, *, actor: str
    ) -> ExportResult:
        """One MP4 of [start, end) for `camera_id`; raises an ExportError subclass."""
        check_range(start, end, now=self._now(), max_range_s=self._max_range_s)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        request = (camera_id, start, end)
        lock = self._same_request.setdefault(request, _KeyedLock())
        lock.users += 1
        try:
            async with lock.lock:  # an identical request waits, then gets the cached result
                return await self._export(camera_id, start, end, actor=actor)
        finally:
            lock.users -= 1
            if not lock.users:
                del self._same_request[request]

    async def get(self, export_id: str) -> ExportResult | None:
        """An unexpired export by id (for the web API), with a fresh download URL."""
        async with self._db.session() as session:
            row = await session.get(Export, export_id)
        if row is None or row.expires_at <= self._now():
            return None
        return await self._result(row, cached=True)

    async def expire(self, now: datetime | None = None) -> int:
        """Delete exports whose time is up, object first, then row; returns how many."""
        now = now or self._now()
        deleted = 0
        while True:
            async with self._db.session() as session:
                rows = await repo.expired_exports(session, now, limit=_EXPIRE_BATCH)
            for row in rows:
                await self._store.delete(row.object_key)
                async with self._db.session() as session:
                    await repo.delete_export(session, row.id)
                    session.add(_audit(now, "system", "export_expire", row, "expired"))
            deleted += len(rows)
            if len(rows) < _EXPIRE_BATCH:
                break
        if deleted:
            log.info("deleted %d expired export(s)", deleted)
        return deleted

    # --- one request --------------------------------------------------------------------

    async def _export(
        self, camera_id: str, start: datetime, end: datetime, *, actor: str
    ) -> ExportResult:
        now = self._now()
        async with self._db.session() as session:
            school_id = await repo.camera_school(session, camera_id)
            if school_id is None:
                raise UnknownCamera(f"there is no camera {camera_id!r}")
            earlier = await repo.exports_for_range(session, camera_id, start, end, now=now)
            segments = [
                s
                for s in await repo.segments_between(session, camera_id, start, end)
                if s.status in (SegmentStatus.STORED, SegmentStatus.SPOOLED)
            ]
        for row in earlier:
            if _reusable(row, now) and await self._still_stored(row.object_key):
                async with self._db.session() as session:
                    session.add(_audit(now, actor, "export", row, "cached " + _range(row)))
                return await self._result(row, cached=True)
        if not segments:
            raise NoFootage(f"camera {camera_id!r} recorded nothing from {start} to {end}")
        async with self._slots:
            return await self._make(school_id, camera_id, start, end, segments, actor=actor)

    async def _still_stored(self, key: str) -> bool:
        try:
            return await self._store.stat(key) is not None
        except ObjectStoreError as exc:
            raise ExportFailed(f"cannot reach the store: {exc}", retriable=exc.retriable) from exc

    async def _make(
        self,
        school_id: str,
        camera_id: str,
        start: datetime,
        end: datetime,
        segments: list[Segment],
        *,
        actor: str,
    ) -> ExportResult:
        segments, changed = split_at_stream_change(segments)
        await asyncio.to_thread(self._work_dir.mkdir, parents=True, exist_ok=True)
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="export-", dir=self._work_dir))
        try:
            dest = work / "export.mp4"
            built = await self._concatenate(segments, start, end, dest)
            if built.changed is not None:
                changed = built.changed
            if built.packets == 0:
                raise NoFootage(f"camera {camera_id!r} recorded nothing from {start} to {end}")
            gaps = gaps_in(segments, start, end, changed)
            size = (await asyncio.to_thread(dest.stat)).st_size
            digest = await asyncio.to_thread(sha256_of, dest)
            export_id = secrets.token_hex(16)
            now = self._now()
            row = Export(
                id=export_id,
                camera_id=camera_id,
                start_at=start,
                end_at=end,
                media_start_at=built.media_start_at,
                media_end_at=built.media_start_at + timedelta(seconds=built.duration_s),
                object_key=export_key(school_id, camera_id, export_id),
                bytes=size,
                sha256=digest,
                gaps=json.dumps([gap_to_json(g) for g in gaps]),
                created_at=now,
                expires_at=now + self._ttl,
            )
            await self._store_export(row, dest, actor=actor, now=now)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        log.info("exported %s (%d bytes, %d gap(s))", row.object_key, size, len(gaps))
        return await self._result(row, cached=False)

    async def _store_export(self, row: Export, path: Path, *, actor: str, now: datetime) -> None:
        try:
            await self._store.put_file(row.object_key, path, content_type="video/mp4")
        except ObjectStoreError as exc:
            await self._forget_object(row.object_key)
            raise ExportFailed(f"cannot store the export: {exc}", retriable=exc.retriable) from exc
        try:
            async with self._db.session() as session:
                session.add(row)
                session.add(_audit(now, actor, "export", row, _range(row)))
        except BaseException:
            await self._forget_object(row.object_key)
            raise

    async def _forget_object(self, key: str) -> None:
        try:
            await asyncio.shield(self._store.delete(key))  # finishes even if we are cancelled
        except ObjectStoreError as exc:
            log.warning("could not remove the unrecorded export %s: %s", key, exc)

    async def _concatenate(
        self, segments: list[Segment], start: datetime, end: datetime, dest: Path
    ) -> _Built:
        """Remux segment after segment in a worker thread; the next one downloads meanwhile."""
        concat = Concatenator(dest, start=start, end=end)
        changed: Segment | None = None
        fetches = (self._fetch_task(s, dest.parent) for s in [*segments[1:], None])
        fetching: asyncio.Task[tuple[Path, bool]] | None = self._fetch_task(
            segments[0], dest.parent
        )
        try:
            for segment in segments:
                assert fetching is not None
                path, temporary = await fetching
                fetching = next(fetches)  # the next download runs while this one is remuxed
                try:
                    await _finish_in_thread(concat.add, path, segment.start_at)
                except StreamChanged:
                    changed = segment
                    break
                except Mp4Error as exc:
                    raise ExportFailed(
                        f"segment {segment.object_key} is unreadable: {exc}", retriable=False
                    ) from exc
                finally:
                    if temporary:
                        await asyncio.to_thread(path.unlink, missing_ok=True)
            try:
                await _finish_in_thread(concat.close)
            except Mp4Error as exc:
                raise ExportFailed(f"cannot write the export: {exc}", retriable=False) from exc
        finally:
            if fetching is not None:  # let a download finish so no file lands after cleanup
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(fetching)
            await _finish_in_thread(concat.abort)
        return _Built(
            packets=concat.packets,
            media_start_at=concat.media_start_at or start,
            duration_s=concat.duration_s,
            changed=changed,
        )

    def _fetch_task(
        self, segment: Segment | None, work: Path
    ) -> asyncio.Task[tuple[Path, bool]] | None:
        if segment is None:
            return None
        return asyncio.create_task(
            self.local_copy(segment, work), name=f"{segment.camera_id}:export-fetch"
        )

    async def local_copy(self, segment: Segment, work: Path) -> tuple[Path, bool]:
        """A readable local file of the segment (in the spool, the local store, or copied into
        `work`), and whether it is a temporary copy; ExportFailed if it cannot be read."""
        key = segment.object_key
        if segment.status == SegmentStatus.SPOOLED and self._spool is not None:
            spooled = self._spool(key)
            if await asyncio.to_thread(spooled.is_file):
                return spooled, False
            # Uploaded (and removed from the spool) since the query: the store has it.
        try:
            local = await self._store.open_local(key)
            if local is not None:
                return local, False
            copy = work / f"segment-{segment.id}.mp4"
            await self._store.get_file(key, copy)
        except ObjectStoreError as exc:
            where = "in the spool nor in" if segment.status == SegmentStatus.SPOOLED else "in"
            raise ExportFailed(
                f"segment {key} is not {where} the store: {exc}", retriable=exc.retriable
            ) from exc
        return copy, True

    async def _result(self, row: Export, *, cached: bool) -> ExportResult:
        remaining = int((row.expires_at - self._now()).total_seconds())
        try:
            url = await self._store.presigned_get_url(
                row.object_key, expires_s=max(1, min(remaining, _MAX_URL_S))
            )
        except ObjectStoreError as exc:
            raise ExportFailed(f"cannot sign a download URL: {exc}", retriable=True) from exc
        return ExportResult(
            id=row.id,
            camera_id=row.camera_id,
            object_key=row.object_key,
            start_at=row.start_at,
            end_at=row.end_at,
            media_start_at=row.media_start_at,
            media_end_at=row.media_end_at,
            duration_s=(row.media_end_at - row.media_start_at).total_seconds(),
            bytes=row.bytes,
            sha256=row.sha256,
            gaps=tuple(gap_from_json(g) for g in json.loads(row.gaps)),
            expires_at=row.expires_at,
            cached=cached,
            download_url=url,
        )


@dataclass(slots=True)
class _KeyedLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(frozen=True, slots=True)
class _Built:
    packets: int
    media_start_at: datetime
    duration_s: float
    changed: Segment | None  # the first segment whose stream could not be appended


async def _finish_in_thread(fn: Callable[..., T], /, *args: object) -> T:
    """Run `fn` in a thread; if cancelled, wait for the thread before re-raising, so cleanup
    never races a writer (one segment's remux takes well under a second)."""
    task: Awaitable[T] = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def _reusable(row: Export, now: datetime) -> bool:
    return row.expires_at > now and (
        row.gaps == "[]" or row.created_at - row.end_at >= _REUSE_SETTLE
    )


def _range(row: Export) -> str:
    return f"{row.start_at.isoformat()} to {row.end_at.isoformat()}"


def _audit(now: datetime, actor: str, action: str, row: Export, detail: str) -> AuditEntry:
    return AuditEntry(
        at=now,
        actor=actor,
        action=action,
        camera_id=row.camera_id,
        object_key=row.object_key,
        detail=detail,
    )
