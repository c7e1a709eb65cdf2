"""Which spooled files to give up when the spool outgrows its quota during a store outage.

Only continuous recordings are ever dropped, oldest first; violation clips and snapshots are
evidence and stay whatever the quota says. Dropping goes down to a low-water mark below the
quota so the next few segments do not trigger another drop at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from storage.spool import SegmentMeta

DROPPABLE_PREFIX: Final = "recordings/"
LOW_WATER: Final = 0.9  # drop down to 90 % of the quota


def choose_drops(
    ready: Sequence[SegmentMeta], *, usage_bytes: int, quota_bytes: int
) -> list[SegmentMeta]:
    """The oldest droppable segments whose removal brings usage under the low-water mark."""
    if usage_bytes <= quota_bytes:
        return []
    target = int(quota_bytes * LOW_WATER)
    drops = []
    for meta in sorted(ready, key=lambda m: m.start_at):
        if usage_bytes <= target:
            break
        if meta.object_key.startswith(DROPPABLE_PREFIX):
            drops.append(meta)
            usage_bytes -= meta.bytes
    return drops
