"""The hard-example store: a verdict's unannotated frame, copied under its own prefix.

The event's frame (`events.frame_key`) expires with the event's clip; the copy is kept for
`hard_examples_days` (storage.retention) so the verdicts stay usable as training data.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from storage.objectstore import ObjectStore, ObjectStoreError


async def copy_frame(store: ObjectStore, frame_key: str, dest_key: str, scratch: Path) -> bool:
    """Copy the frame to `dest_key`; False when it is gone (past retention). A store that is
    down raises ObjectStoreError (retriable)."""
    await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "frame.jpg"
        try:
            await store.get_file(frame_key, path)
        except ObjectStoreError as exc:
            if exc.retriable:
                raise
            return False
        await store.put_file(dest_key, path, content_type="image/jpeg")
    return True
