"""The embedded default object store: a directory tree on local disk."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from storage.objectstore.base import ObjectInfo, ObjectStore, ObjectStoreError, check_key


def _copy_atomically(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with src.open("rb") as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
        fout.flush()
        os.fsync(fout.fileno())
    os.replace(tmp, dest)  # readers see the whole object or none of it


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
        def walk() -> list[str]:
            if not self.root.exists():
                return []
            keys = (
                p.relative_to(self.root).as_posix()
                for p in self.root.rglob("*")
                if p.is_file() and not p.name.startswith(".")
            )
            return sorted(k for k in keys if k.startswith(prefix))

        for key in await asyncio.to_thread(walk):
            yield key
