"""Evidence snapshots into the object store: bytes through a work file, since the store
takes files (a multi-part S3 upload streams from disk)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Final

from storage.objectstore import ObjectStore

__all__ = ["put_jpeg"]

UPLOAD_TIMEOUT_S: Final = 10.0  # a hanging store must not hold the console's request


def _write(work_dir: Path, data: bytes) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=work_dir, suffix=".jpg", delete=False) as f:
        f.write(data)
    return Path(f.name)


async def put_jpeg(store: ObjectStore, key: str, data: bytes, work_dir: Path) -> None:
    """Store the JPEG under `key`; raises ObjectStoreError or TimeoutError."""
    path = await asyncio.to_thread(_write, work_dir, data)
    try:
        async with asyncio.timeout(UPLOAD_TIMEOUT_S):
            await store.put_file(key, path, content_type="image/jpeg")
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
