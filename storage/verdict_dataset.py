"""Verdicts -> a standard YOLO dataset: images/, labels/, data.yaml, manifest.csv.

False alarms without corrected boxes become negatives (an empty label file); corrected boxes
and misses become positives. Only verdicts with a kept hard example have an image.
"""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from detectors.detection import CLASS_NAMES
from storage.db.database import Database
from storage.db.models_verdicts import Verdict
from storage.objectstore import ObjectStore


async def export_verdicts(
    db: Database,
    store: ObjectStore,
    out: Path,
    *,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    school: str | None = None,
    types: frozenset[str] | None = None,
) -> int:
    """Write the dataset for verdicts on violations in [start, end); returns images written."""
    query = select(Verdict).where(
        Verdict.at >= start, Verdict.at < end, Verdict.hard_example_key.is_not(None)
    )
    if school is not None:
        query = query.where(Verdict.school_id == school)
    async with db.session() as s:
        rows = [v for v in await s.scalars(query.order_by(Verdict.at, Verdict.id))
                if types is None or v.type in types]  # fmt: skip
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        manifest = csv.writer(f)
        manifest.writerow(["image", "camera", "time", "verdict", "reason", "type", "who"])
        for v in rows:
            assert v.hard_example_key is not None
            await store.get_file(v.hard_example_key, out / "images" / f"{v.id}.jpg")
            lines = [
                f"{CLASS_NAMES.index(b['cls'])} {(b['x1'] + b['x2']) / 2:.6f} "
                f"{(b['y1'] + b['y2']) / 2:.6f} {b['x2'] - b['x1']:.6f} {b['y2'] - b['y1']:.6f}"
                for b in json.loads(v.labels)
            ]
            text = "".join(f"{line}\n" for line in lines)
            (out / "labels" / f"{v.id}.txt").write_text(text, encoding="utf-8")
            local = v.at.astimezone(tz).isoformat(timespec="seconds")
            manifest.writerow([f"images/{v.id}.jpg", v.camera_id, local, v.kind,
                               v.reason or "", v.type, v.given_by])  # fmt: skip
    root = await asyncio.to_thread(out.resolve)
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES))
    (out / "data.yaml").write_text(
        f"path: {root}\ntrain: images\nval: images\nnames:\n{names}\n", encoding="utf-8"
    )
    return len(rows)
