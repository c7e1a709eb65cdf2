"""Integrity check of the archive: every object the database names, and nothing else.

`verify_storage` compares each stored segment and each export with its row (size, then a
SHA-256 of the bytes, streamed), spooled segments with their spool file, and lists objects
under recordings/ and exports/ that no row names. Memory stays flat on a large archive: rows
are read in pages and listed keys are looked up in batches.

Objects are hashed one at a time; store errors other than "no such object" propagate (a
check that could not finish says nothing). An export uploaded in the instant before its row is
committed may show as orphaned; run it again to confirm.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import SegmentStatus
from storage.export import SpoolPaths
from storage.mp4 import sha256_of
from storage.objectstore import ObjectStore, ObjectStoreError

_PAGE: Final = 500  # rows per query, listed keys per lookup
_CHUNK: Final = 8 * 1024 * 1024  # bytes per ranged read when hashing a remote object
_PREFIXES: Final = ("recordings/", "exports/")
_SHOWN: Final = 50  # keys listed per kind in the human report


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checked: int
    missing: tuple[str, ...]
    corrupt: tuple[str, ...]  # size or SHA-256 differs from the database
    orphaned: tuple[str, ...]  # in the store without a database row

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.orphaned)

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "PROBLEMS FOUND"
        lines = [
            f"storage verify: {verdict}: {self.checked} object(s) checked, "
            f"{len(self.missing)} missing, {len(self.corrupt)} corrupt, "
            f"{len(self.orphaned)} orphaned"
        ]
        for title, keys in (
            ("missing (the database has a row, the store has no object)", self.missing),
            ("corrupt (size or SHA-256 differs from the database)", self.corrupt),
            ("orphaned (an object no database row names)", self.orphaned),
        ):
            if keys:
                lines.append(f"{title}:")
                lines.extend(f"  {key}" for key in keys[:_SHOWN])
                if len(keys) > _SHOWN:
                    lines.append(f"  ... and {len(keys) - _SHOWN} more")
        return "\n".join(lines)


class _Verdict(Enum):
    OK = "ok"
    MISSING = "missing"
    CORRUPT = "corrupt"


async def verify_storage(
    db: Database, store: ObjectStore, *, spool: SpoolPaths | None = None
) -> VerifyReport:
    """Check the archive; `spool` (Spool.ready_path) also checks not yet uploaded segments."""
    checked = 0
    found: dict[_Verdict, list[str]] = {_Verdict.MISSING: [], _Verdict.CORRUPT: []}
    async for key, size, digest, spooled in _expected(db):
        if spooled and spool is None:
            continue
        checked += 1
        verdict = _Verdict.MISSING
        if spooled and spool is not None:
            verdict = await asyncio.to_thread(_check_file, spool(key), size, digest)
        if verdict is _Verdict.MISSING:  # a spooled one may have been uploaded meanwhile
            verdict = await _check_object(store, key, size, digest)
        if verdict is not _Verdict.OK:
            found[verdict].append(key)
    orphaned = [key async for key in _orphans(db, store)]
    return VerifyReport(
        checked=checked,
        missing=tuple(found[_Verdict.MISSING]),
        corrupt=tuple(found[_Verdict.CORRUPT]),
        orphaned=tuple(orphaned),
    )


async def _expected(db: Database) -> AsyncIterator[tuple[str, int, str, bool]]:
    """(key, bytes, sha256, still spooled) of every object the database says exists."""
    after = 0
    while True:
        async with db.session() as session:
            segments = await repo.segments_with_objects(session, after_id=after, limit=_PAGE)
        for s in segments:
            yield s.object_key, s.bytes, s.sha256, s.status == SegmentStatus.SPOOLED
        if len(segments) < _PAGE:
            break
        after = segments[-1].id
    after_export = ""
    while True:
        async with db.session() as session:
            exports = await repo.exports_after(session, after_id=after_export, limit=_PAGE)
        for e in exports:
            yield e.object_key, e.bytes, e.sha256, False
        if len(exports) < _PAGE:
            break
        after_export = exports[-1].id


def _check_file(path: Path, size: int, digest: str) -> _Verdict:
    try:
        if path.stat().st_size != size:
            return _Verdict.CORRUPT
        return _Verdict.OK if sha256_of(path) == digest else _Verdict.CORRUPT
    except FileNotFoundError:
        return _Verdict.MISSING


async def _check_object(store: ObjectStore, key: str, size: int, digest: str) -> _Verdict:
    info = await store.stat(key)
    if info is None:
        return _Verdict.MISSING
    if info.size != size:
        return _Verdict.CORRUPT
    try:
        local = await store.open_local(key)
        if local is not None:
            return await asyncio.to_thread(_check_file, local, size, digest)
        actual = await _remote_sha256(store, key)
    except ObjectStoreError as exc:
        if exc.retriable:
            raise
        return _Verdict.MISSING  # deleted between stat and read
    return _Verdict.OK if actual == digest else _Verdict.CORRUPT


async def _remote_sha256(store: ObjectStore, key: str) -> str:
    sha = hashlib.sha256()
    offset = 0
    while chunk := await store.read_bytes(key, start=offset, length=_CHUNK):
        await asyncio.to_thread(sha.update, chunk)  # hashlib releases the GIL on big buffers
        offset += len(chunk)
    return sha.hexdigest()


async def _orphans(db: Database, store: ObjectStore) -> AsyncIterator[str]:
    for prefix in _PREFIXES:
        batch: list[str] = []
        async for key in store.list_keys(prefix):
            batch.append(key)
            if len(batch) == _PAGE:
                for orphan in await _unknown(db, batch):
                    yield orphan
                batch = []
        for orphan in await _unknown(db, batch):
            yield orphan


async def _unknown(db: Database, keys: list[str]) -> list[str]:
    if not keys:
        return []
    async with db.session() as session:
        known = await repo.known_object_keys(session, keys)
    return [key for key in keys if key not in known]
