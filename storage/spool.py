"""The local spool: every recording is on local disk before the object store sees it.

Layout under the spool root:
    parts/<camera>/<start>.part.mp4 (+ .json)   segment being recorded (fragmented MP4)
    ready/<object key> (+ .json sidecar)        finished segment waiting for upload
    damaged/<camera>/<start>.part.mp4           a crash left nothing recoverable; kept for review
A part is removed only after its finished file and sidecar are on disk, and a ready file only
after the database says the object store has it, so a crash at any step loses nothing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from storage.keys import segment_key
from storage.mp4 import Mp4Error, finalize

log = logging.getLogger(__name__)

_PART_SUFFIX = ".part.mp4"


@dataclass(frozen=True, slots=True)
class SegmentMeta:
    """Everything the database needs about a finished segment (the ready file's sidecar)."""

    camera_id: str
    school_id: str
    object_key: str
    start_at: datetime
    end_at: datetime
    bytes: int
    sha256: str
    codec: str
    width: int
    height: int
    recovered: bool

    def to_json(self) -> str:
        data = asdict(self)
        data["start_at"] = self.start_at.isoformat()
        data["end_at"] = self.end_at.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> SegmentMeta:
        data = json.loads(text)
        data["start_at"] = datetime.fromisoformat(data["start_at"])
        data["end_at"] = datetime.fromisoformat(data["end_at"])
        return cls(**data)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Spool:
    def __init__(self, root: Path, *, tz: ZoneInfo) -> None:
        self.root = Path(root)
        self.tz = tz
        self.parts_dir = self.root / "parts"
        self.ready_dir = self.root / "ready"
        self.damaged_dir = self.root / "damaged"

    def new_part(self, camera_id: str, school_id: str, start_at: datetime) -> Path:
        """Reserve the part file of a segment starting at `start_at` (its metadata first)."""
        stamp = start_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        part = self.parts_dir / camera_id / f"{stamp}{_PART_SUFFIX}"
        part.parent.mkdir(parents=True, exist_ok=True)
        meta = {"camera_id": camera_id, "school_id": school_id, "start_at": start_at.isoformat()}
        _write_atomically(_part_meta(part), json.dumps(meta))
        return part

    def finish_part(
        self, part: Path, *, recovered: bool = False, ends_at: datetime | None = None
    ) -> SegmentMeta:
        """Finalize a part into the ready area with its sidecar; remove the part.

        `ends_at` is the start of the segment that follows (the keyframe it was cut at), so
        consecutive segments meet exactly even when the camera's timestamps wobble; without
        it the end is the start plus the media's own duration.
        """
        info = json.loads(_part_meta(part).read_text(encoding="utf-8"))
        start_at = datetime.fromisoformat(info["start_at"])
        key = segment_key(info["school_id"], info["camera_id"], start_at, self.tz)
        dest = self.ready_path(key)
        done = finalize(part, dest)
        meta = SegmentMeta(
            camera_id=info["camera_id"],
            school_id=info["school_id"],
            object_key=key,
            start_at=start_at,
            end_at=ends_at or start_at + timedelta(seconds=done.duration_s),
            bytes=done.bytes,
            sha256=done.sha256,
            codec=done.codec,
            width=done.width,
            height=done.height,
            recovered=recovered,
        )
        _write_atomically(_sidecar(dest), meta.to_json())
        self.discard_part(part)
        return meta

    def discard_part(self, part: Path) -> None:
        part.unlink(missing_ok=True)
        _part_meta(part).unlink(missing_ok=True)

    def ready_path(self, key: str) -> Path:
        return self.ready_dir / key

    def remove_ready(self, key: str) -> None:
        path = self.ready_path(key)
        path.unlink(missing_ok=True)
        _sidecar(path).unlink(missing_ok=True)

    def ready_segments(self) -> list[SegmentMeta]:
        """Finished segments still on local disk, oldest first."""
        metas = []
        for sidecar in self.ready_dir.rglob("*.mp4.json"):
            try:
                metas.append(SegmentMeta.from_json(sidecar.read_text(encoding="utf-8")))
            except (ValueError, TypeError, KeyError) as exc:
                log.error("unreadable spool sidecar %s: %s", sidecar, exc)
        return sorted(metas, key=lambda m: m.start_at)

    def recover_parts(self) -> tuple[list[SegmentMeta], list[Path]]:
        """After a crash: finalize every part left behind, or move it to damaged/.

        Call before any recorder starts. Returns (recovered segments, damaged files).
        """
        recovered: list[SegmentMeta] = []
        damaged: list[Path] = []
        for part in sorted(self.parts_dir.rglob(f"*{_PART_SUFFIX}")):
            try:
                recovered.append(self.finish_part(part, recovered=True))
                log.warning("recovered interrupted segment %s", part.name)
            except (Mp4Error, OSError, ValueError, KeyError) as exc:
                damaged.append(self._quarantine(part))
                log.error("interrupted segment %s could not be recovered: %s", part, exc)
        # Metadata files whose part never got a byte written.
        for orphan_meta in self.parts_dir.rglob("*.part.json"):
            if not orphan_meta.with_name(orphan_meta.name[: -len(".json")] + ".mp4").exists():
                orphan_meta.unlink(missing_ok=True)
        return recovered, damaged

    def _quarantine(self, part: Path) -> Path:
        dest = self.damaged_dir / part.parent.name / part.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(part, dest)
        meta = _part_meta(part)
        if meta.exists():
            shutil.move(meta, _part_meta(dest))
        return dest

    def usage_bytes(self) -> int:
        if not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def _part_meta(part: Path) -> Path:
    return part.with_name(part.name.removesuffix(".mp4") + ".json")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")
