"""An event's snapshot, frame and clip: written to the local spool first, then the object store.

Nothing is lost while the store is down: a file that does not upload stays in
`<spool>/events/` with a sidecar naming its event and column; a retry loop uploads it later
and only then writes its key on the event row (the database says where every object is).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final

from sqlalchemy import update

from storage.db.database import Database
from storage.db.models import Event
from storage.mp4 import FinalizedFile, FragmentedWriter, Mp4Error, finalize
from storage.objectstore import ObjectStore, ObjectStoreError

from .ring import ClipPackets

__all__ = ["EventMedia", "media_key", "write_clip"]

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT_S: Final = 10.0  # a store that hangs must not hold up the event row
RETRY_EVERY_S: Final = 30.0
_SIDECAR: Final = ".pending.json"


def media_key(
    kind: str, school_id: str, camera_id: str, at: datetime, tz: tzinfo, name: str, ext: str
) -> str:
    """clips|snapshots|frames/<school>/<camera>/<YYYY-MM-DD>/<YYYYMMDDTHHMMSS+0800>-<name>.<ext>"""
    local = at.astimezone(tz)
    stamp = local.strftime("%Y%m%dT%H%M%S%z")
    return f"{kind}/{school_id}/{camera_id}/{local:%Y-%m-%d}/{stamp}-{name}.{ext}"


def write_clip(clip: ClipPackets, dest: Path) -> FinalizedFile:
    """Copy-mode: the packets into a faststart MP4 (blocking; raises Mp4Error)."""
    part = dest.with_name(f".{dest.name}.part")
    try:
        writer = FragmentedWriter(part, clip.info, clip.packets[0])
        try:
            for packet in clip.packets:
                writer.write(packet)
        finally:
            writer.close()
        return finalize(part, dest)
    except OSError as exc:
        raise Mp4Error(f"{dest}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class _Pending:
    event_id: str
    column: str  # "snapshot_key", "frame_key" or "clip_key"
    key: str
    content_type: str


class EventMedia:
    def __init__(self, db: Database, store: ObjectStore, spool_dir: Path) -> None:
        self._db = db
        self._store = store
        self.root = spool_dir / "events"
        self.failures = 0  # uploads that failed (each retried later)
        self._warned = False

    def local_path(self, key: str) -> Path:
        return self.root / key

    def save(self, key: str, data: bytes) -> Path:
        """Blocking: the bytes on local disk under their future key."""
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    async def upload(self, key: str, content_type: str) -> bool:
        """Put the local file in the store and remove it; False (logged) when the store fails."""
        path = self.local_path(key)
        try:
            async with asyncio.timeout(UPLOAD_TIMEOUT_S):
                await self._store.put_file(key, path, content_type=content_type)
        except (ObjectStoreError, TimeoutError, OSError) as exc:
            self.failures += 1
            level = logging.DEBUG if self._warned else logging.ERROR
            self._warned = True
            log.log(level, "event media %s not stored (kept locally, retried): %s", key, exc)
            return False
        self._warned = False
        path.unlink(missing_ok=True)
        return True

    async def defer(self, event_id: str, column: str, key: str, content_type: str) -> None:
        """Remember a file that did not upload: the retry loop stores it and sets the column."""
        text = json.dumps(asdict(_Pending(event_id, column, key, content_type)))
        sidecar = self.local_path(key).with_name(self.local_path(key).name + _SIDECAR)
        await asyncio.to_thread(sidecar.write_text, text, "utf-8")

    async def retry_forever(self) -> None:
        while True:
            await asyncio.sleep(RETRY_EVERY_S)
            await self.retry_pending()

    async def retry_pending(self) -> int:
        """Upload what is waiting; returns how many went through."""
        sidecars = await asyncio.to_thread(lambda: sorted(self.root.rglob(f"*{_SIDECAR}")))
        done = 0
        for sidecar in sidecars:
            try:
                pending = _Pending(**json.loads(sidecar.read_text("utf-8")))
            except (OSError, ValueError, TypeError):
                log.exception("event media: unreadable %s; left for review", sidecar)
                continue
            # A missing local file was uploaded on an earlier round whose row update failed.
            exists = await asyncio.to_thread(self.local_path(pending.key).exists)
            if exists and not await self.upload(pending.key, pending.content_type):
                return done  # the store is still down: try again next round
            try:
                async with self._db.session() as session:
                    await session.execute(
                        update(Event)
                        .where(Event.id == pending.event_id)
                        .values({pending.column: pending.key})
                    )
            except Exception:
                log.exception("event media: %s stored but not recorded", pending.key)
                continue  # the sidecar stays; uploading again is harmless
            with contextlib.suppress(OSError):
                sidecar.unlink()
            done += 1
        if done:
            log.info("event media: %d deferred file(s) stored", done)
        return done
