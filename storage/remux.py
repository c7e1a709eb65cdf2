"""Copy-mode concatenation of segment files into one faststart MP4 on a wall-clock timeline.

Blocking (PyAV): run it in a worker thread. Packets are copied untouched; only their
timestamps move. Media time 0 is the keyframe at or before the requested start, and every
segment is placed at its recorded start relative to it, never overlapping the one before.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from storage.mp4 import Mp4Error

_FASTSTART = {"movflags": "+faststart"}


class StreamChanged(Exception):
    """The segment's codec parameters differ from the export's; nothing of it was written."""


def _seconds(delta: timedelta) -> Fraction:
    return Fraction(delta // timedelta(microseconds=1), 1_000_000)


class Concatenator:
    """Appends the packets of consecutive segments that fall in [start, end) to `dest`."""

    def __init__(self, dest: Path, *, start: datetime, end: datetime) -> None:
        self.dest = dest
        self._start = start
        self._end = end
        self._out: Any = None  # av OutputContainer, opened at the first packet
        self._stream: Any = None
        self._params: tuple[str, int, int, bytes] | None = None
        self.media_start_at: datetime | None = None  # wall time of media time 0
        self.packets = 0
        self._next_dts_s = Fraction(0)  # the next segment may not start before this media time
        self._end_s = Fraction(0)

    @property
    def duration_s(self) -> float:
        return float(self._end_s)

    def add(self, path: Path, segment_start: datetime) -> None:
        """Append one segment; raises StreamChanged or Mp4Error."""
        try:
            with av.open(str(path)) as src:
                if not src.streams.video:
                    raise Mp4Error(f"{path}: no video stream")
                self._add(src.streams.video[0], src, segment_start)
        except av.error.FFmpegError as exc:
            raise Mp4Error(f"{path}: {exc}") from exc

    def _add(self, in_stream: Any, src: Any, segment_start: datetime) -> None:
        ctx = in_stream.codec_context
        params = (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))
        if self._params is None:
            self._params = params
        elif params != self._params:
            raise StreamChanged(f"{self._params[:3]} -> {params[:3]}")
        tb = Fraction(in_stream.time_base)
        until = _seconds(self._end - segment_start)  # segment-relative, like packet times
        begin = _seconds(self._start - segment_start)
        first_pts: int | None = None
        shift: int | None = None  # ticks added to (ts - first_pts); fixed at the first write
        gop: list[Any] = []  # first segment: the GOP in progress before the start
        for packet in src.demux(in_stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            if first_pts is None:
                first_pts = pts
            rel = (pts - first_pts) * tb
            if rel >= until:
                break
            if self.media_start_at is None:  # still looking for the starting keyframe
                if packet.is_keyframe and (rel <= begin or not gop):
                    gop = [packet]
                elif gop:
                    gop.append(packet)
                if rel < begin or not gop:  # (a segment always starts with a keyframe)
                    continue
                shift = self._begin(gop[0], first_pts, tb, segment_start)
                for held in gop:
                    self._write(held, in_stream, first_pts, shift)
                gop = []
                continue
            if shift is None:
                shift = self._shift(packet, first_pts, tb, segment_start)
            self._write(packet, in_stream, first_pts, shift)
        if gop and first_pts is not None:  # the start lies within this segment's last frame
            shift = self._begin(gop[0], first_pts, tb, segment_start)
            for held in gop:
                self._write(held, in_stream, first_pts, shift)

    def _begin(self, keyframe: Any, first_pts: int, tb: Fraction, segment_start: datetime) -> int:
        offset: int = (keyframe.pts if keyframe.pts is not None else keyframe.dts) - first_pts
        self.media_start_at = segment_start + timedelta(seconds=float(offset * tb))
        return -offset

    def _shift(self, packet: Any, first_pts: int, tb: Fraction, segment_start: datetime) -> int:
        assert self.media_start_at is not None
        shift = round(_seconds(segment_start - self.media_start_at) / tb)
        late = self._next_dts_s - (packet.dts - first_pts + shift) * tb
        if late > 0:  # clock jitter at the boundary: never overlap the previous segment
            shift += math.ceil(late / tb)
        return shift

    def _write(self, packet: Any, in_stream: Any, first_pts: int, shift: int) -> None:
        if self._out is None:
            self._out = av.open(str(self.dest), "w", format="mp4", options=_FASTSTART)
            self._stream = self._out.add_stream_from_template(in_stream)
        tb = Fraction(in_stream.time_base)
        if packet.pts is not None:
            packet.pts = packet.pts - first_pts + shift
        packet.dts = packet.dts - first_pts + shift
        duration = packet.duration or 0
        packet.stream = self._stream
        self._out.mux(packet)
        self.packets += 1
        self._next_dts_s = max(self._next_dts_s, (packet.dts + max(duration, 1)) * tb)
        pts = packet.pts if packet.pts is not None else packet.dts
        self._end_s = max(self._end_s, (pts + duration) * tb)

    def close(self) -> None:
        """Finish the file (the faststart pass moves the index to the front)."""
        out, self._out = self._out, None
        if out is None:
            return
        try:
            out.close()
        except av.error.FFmpegError as exc:
            raise Mp4Error(f"{self.dest}: {exc}") from exc

    def abort(self) -> None:
        """Release the output after a failure; the caller removes the file."""
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(av.error.FFmpegError):
                out.close()
