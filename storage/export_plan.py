"""What an export covers: request checks, gaps, results and the errors of the export tree.

Pure functions and frozen types, kept apart from the I/O in storage/export.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from storage.db.models import Segment

GAP_TOLERANCE: Final = timedelta(seconds=2.5)  # one GOP: shorter holes are boundary jitter


class ExportError(Exception):
    """An export could not be made; the message says why, for the person who asked."""


class InvalidRange(ExportError, ValueError):
    """Reversed, empty, in the future, longer than allowed, or without a time zone."""


class UnknownCamera(ExportError, LookupError):
    pass


class NoFootage(ExportError):
    """Nothing was recorded in the range."""


class ExportFailed(ExportError):
    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable


class GapReason(StrEnum):
    NO_RECORDING = "no_recording"  # camera offline, hub down, or footage dropped
    STREAM_CHANGED = "stream_changed"  # codec parameters changed: the export stops there


@dataclass(frozen=True, slots=True)
class ExportGap:
    start: datetime
    end: datetime
    reason: GapReason = GapReason.NO_RECORDING
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ExportResult:
    id: str
    camera_id: str
    object_key: str
    start_at: datetime  # as requested
    end_at: datetime
    media_start_at: datetime  # the keyframe the video starts at; media time 0
    media_end_at: datetime
    duration_s: float
    bytes: int
    sha256: str
    gaps: tuple[ExportGap, ...]
    expires_at: datetime
    cached: bool
    download_url: str | None  # presigned (S3); None: serve store.open_local(object_key)


def check_range(start: datetime, end: datetime, *, now: datetime, max_range_s: float) -> None:
    """Raise InvalidRange unless [start, end) is a sane, past range of allowed length."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRange("export times need a time zone")
    if end < start:
        raise InvalidRange(f"the range is reversed: it ends ({end}) before it starts ({start})")
    if end == start:
        raise InvalidRange(f"the range is empty: it starts and ends at {start}")
    if end > now:
        raise InvalidRange(f"the range ends in the future ({end}, now is {now})")
    if (end - start).total_seconds() > max_range_s:
        raise InvalidRange(
            f"the range is {span_text(end - start)} long; "
            f"at most {span_text(max_range_s)} is allowed"
        )


def find_gaps(
    covered: Iterable[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    *,
    tolerance: timedelta = GAP_TOLERANCE,
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no covered interval touches, if longer than `tolerance`."""
    gaps = []
    cursor = start
    for s, e in sorted(covered):
        if s >= end:
            break
        if s - cursor > tolerance:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
    if end - cursor > tolerance:
        gaps.append((cursor, end))
    return gaps


def export_key(school_id: str, camera_id: str, export_id: str) -> str:
    return f"exports/{school_id}/{camera_id}/{export_id}.mp4"


def stream_of(segment: Segment) -> tuple[str, int, int]:
    return segment.codec, segment.width, segment.height


def describe_stream(stream: tuple[str, int, int]) -> str:
    codec, width, height = stream
    return f"{codec} {width}x{height}"


def split_at_stream_change(segments: list[Segment]) -> tuple[list[Segment], Segment | None]:
    """The leading segments with the first one's codec and size, and the one that differs."""
    first = stream_of(segments[0])
    for i, segment in enumerate(segments):
        if stream_of(segment) != first:
            return segments[:i], segment
    return segments, None


def gaps_in(
    segments: list[Segment], start: datetime, end: datetime, changed: Segment | None
) -> list[ExportGap]:
    stop = end if changed is None else max(start, min(end, changed.start_at))
    used = [s for s in segments if s.start_at < stop]
    gaps = [
        ExportGap(s, e) for s, e in find_gaps(((s.start_at, s.end_at) for s in used), start, stop)
    ]
    if changed is not None:
        detail = (
            f"{describe_stream(stream_of(segments[0]))} -> {describe_stream(stream_of(changed))}"
        )
        if stream_of(changed) == stream_of(segments[0]):
            detail = "codec parameters changed"
        gaps.append(ExportGap(stop, end, GapReason.STREAM_CHANGED, detail))
    return gaps


def gap_to_json(gap: ExportGap) -> list[str]:
    return [gap.start.isoformat(), gap.end.isoformat(), gap.reason.value, gap.detail]


def gap_from_json(item: list[str]) -> ExportGap:
    start, end, *rest = item  # [start, end] or [start, end, reason, detail]
    reason = GapReason(rest[0]) if rest else GapReason.NO_RECORDING
    return ExportGap(
        datetime.fromisoformat(start), datetime.fromisoformat(end), reason, rest[1] if rest else ""
    )


def span_text(value: timedelta | float) -> str:
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
