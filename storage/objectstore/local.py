"""The embedded default object store: a directory tree on local disk."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from storage.objectstore.base import (
    ObjectInfo,
    ObjectStore,
    ObjectStoreError,
    check_key,
    check_lifecycle,
    check_prefix,
    check_range,
)


def _copy_atomically(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with src.open("rb") as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
        fout.flush()
        os.fsync(fout.fileno())
    os.replace(tmp, dest)  # readers see the whole object or none of it


def _read_range(path: Path, start: int, length: int | None) -> bytes:
    with path.open("rb") as f:
        f.seek(start)
        return f.read(-1 if length is None else length)


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(f"cannot create {self.root}: {exc}") from exc

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        try:
            await asyncio.to_thread(_copy_atomically, Path(path), self._path(key))
        except OSError as exc:
            raise ObjectStoreError(f"cannot store {key}: {exc}") from exc

    async def get_file(self, key: str, dest: Path) -> None:
        try:
            await asyncio.to_thread(_copy_atomically, self._path(key), Path(dest))
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"no object {key}", retriable=False) from exc
        except OSError as exc:
            raise ObjectStoreError(f"cannot read {key}: {exc}") from exc

    async def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None
        return ObjectInfo(key=key, size=size)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        # Walk only the prefix's folder, not the whole archive.
        folder = self.root / check_prefix(prefix).rpartition("/")[0]

        def walk() -> list[str]:
            if not folder.is_dir():
                return []
            keys = (
                p.relative_to(self.root).as_posix()
                for p in folder.rglob("*")
                if p.is_file() and not p.name.startswith(".")
            )
            return sorted(k for k in keys if k.startswith(prefix))

        for key in await asyncio.to_thread(walk):
            yield key

    async def read_bytes(self, key: str, *, start: int = 0, length: int | None = None) -> bytes:
        check_range(start, length)
        try:
            return await asyncio.to_thread(_read_range, self._path(key), start, length)
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"no object {key}", retriable=False) from exc
        except OSError as exc:
            raise ObjectStoreError(f"cannot read {key}: {exc}") from exc

    def describe(self) -> str:
        return self.root.absolute().as_uri()

    async def presigned_get_url(self, key: str, *, expires_s: int) -> str | None:
        check_key(key)
        return None  # the web API streams the file itself (open_local)

    async def set_legal_hold(self, key: str, on: bool) -> bool:
        check_key(key)
        return False  # a directory cannot refuse deletes; the database flag is authoritative

    async def apply_lifecycle(self, rules: Mapping[str, int]) -> bool:
        check_lifecycle(rules)
        return False  # the hub's retention job expires local objects

    async def open_local(self, key: str) -> Path | None:
        path = self._path(key)
        if not await asyncio.to_thread(path.is_file):
            raise ObjectStoreError(f"no object {key}", retriable=False)
        return path
