"""Verdicts -> a standard YOLO dataset: images/{train,val}, labels/{train,val}, data.yaml,
manifest.csv.

False alarms without corrected boxes become negatives (an empty label file); corrected boxes
and misses become positives. Only verdicts with a kept hard example have an image. The val
side is the held-out verdicts `bkhub evaluate` compares weights on: frames of one camera
within one local hour go to the same side (they are near-duplicates), chosen by a hash so a
later export keeps every earlier verdict on its side.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select

from detectors.datasets.outdir import prepare_out
from detectors.datasets.split import Side, side_of
from detectors.detection import CLASS_NAMES
from storage.db.database import Database
from storage.db.models_verdicts import Verdict
from storage.objectstore import ObjectStore

__all__ = ["OUTPUTS", "export_verdicts"]

OUTPUTS: Final = ("images", "labels", "data.yaml", "manifest.csv")
SIDES: Final[tuple[Side, Side]] = ("train", "val")


def _group(v: Verdict, tz: ZoneInfo) -> str:
    return f"{v.camera_id}/{v.at.astimezone(tz):%Y-%m-%dT%H}"


def _sides(rows: Sequence[Verdict], tz: ZoneInfo, val_fraction: float) -> list[Side]:
    """Each verdict's side. With two groups or more, neither side is empty (the newest group
    is held out, the oldest trained on, if the hash left a side empty), so a fine-tune always
    has verdicts to learn from and to be judged on."""
    groups = [_group(v, tz) for v in rows]
    sides = [side_of(g, val_fraction) for g in groups]
    if 0 < val_fraction < 1 and len(set(groups)) >= 2:
        ends: tuple[tuple[Side, str], ...] = (("val", groups[-1]), ("train", groups[0]))
        for side, group in ends:
            if side not in sides:
                sides = [side if g == group else s for g, s in zip(groups, sides, strict=True)]
    return sides


def _label_text(v: Verdict) -> str:
    return "".join(
        f"{CLASS_NAMES.index(b['cls'])} {(b['x1'] + b['x2']) / 2:.6f} "
        f"{(b['y1'] + b['y2']) / 2:.6f} {b['x2'] - b['x1']:.6f} {b['y2'] - b['y1']:.6f}\n"
        for b in json.loads(v.labels)
    )


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
    val_fraction: float = 0.2,
    force: bool = False,
) -> dict[Side, int]:
    """Write the dataset for verdicts on violations in [start, end); images per side.
    Refuses (OutDirError) a folder holding an earlier export unless `force`."""
    await asyncio.to_thread(prepare_out, out, OUTPUTS, force=force)
    query = select(Verdict).where(
        Verdict.at >= start, Verdict.at < end, Verdict.hard_example_key.is_not(None)
    )
    if school is not None:
        query = query.where(Verdict.school_id == school)
    if types is not None:
        query = query.where(Verdict.type.in_(sorted(types)))
    async with db.session() as s:
        rows = list(await s.scalars(query.order_by(Verdict.at, Verdict.id)))
    for kind in ("images", "labels"):
        for side in SIDES:
            (out / kind / side).mkdir(parents=True, exist_ok=True)
    counts: dict[Side, int] = dict.fromkeys(SIDES, 0)
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        manifest = csv.writer(f)
        manifest.writerow(["image", "split", "camera", "time", "verdict", "reason", "type", "who"])
        for v, side in zip(rows, _sides(rows, tz, val_fraction), strict=True):
            assert v.hard_example_key is not None
            await store.get_file(v.hard_example_key, out / "images" / side / f"{v.id}.jpg")
            (out / "labels" / side / f"{v.id}.txt").write_text(_label_text(v), encoding="utf-8")
            local = v.at.astimezone(tz).isoformat(timespec="seconds")
            manifest.writerow([f"images/{side}/{v.id}.jpg", side, v.camera_id, local, v.kind,
                               v.reason or "", v.type, v.given_by])  # fmt: skip
            counts[side] += 1
    root = await asyncio.to_thread(out.resolve)
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES))
    (out / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}\n",
        encoding="utf-8",
    )
    return counts
