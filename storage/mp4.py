"""Copy-mode MP4 files: crash-safe fragmented recording and faststart finalizing.

While recording, a segment is a fragmented MP4 (one fragment per GOP): a crash loses at most
the fragment being written, and what is on disk stays readable. Finalizing remuxes it, without
re-encoding, into a regular MP4 with the index up front so browsers can play and seek it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from camera_adapters.packets import EncodedPacket, StreamInfo

_FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
_FASTSTART = {"movflags": "+faststart"}


class Mp4Error(Exception):
    """A segment file could not be written or read back."""


class FragmentedWriter:
    """Writes one segment's packets, timestamps rebased to start at zero."""

    def __init__(self, path: Path, info: StreamInfo, first: EncodedPacket) -> None:
        self.path = path
        self.start_wall = first.wall_time
        self.end_wall = first.wall_time
        self.packets = 0
        self.skipped = 0  # packets dropped for non-increasing timestamps
        self._offset = first.decode_ts
        self._last_dts: int | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out = av.open(str(path), "w", format="mp4", options=_FRAGMENTED)
        self._stream = info.add_output_stream(self._out)

    def write(self, packet: EncodedPacket) -> None:
        dts = packet.decode_ts - self._offset
        if self._last_dts is not None and dts <= self._last_dts:
            self.skipped += 1  # muxers reject it; cameras emit such packets after a glitch
            return
        av_packet = packet.to_av(self._stream, self._offset)
        if av_packet.dts is None:
            av_packet.dts = dts
        try:
            self._out.mux(av_packet)
        except av.error.FFmpegError as exc:
            raise Mp4Error(f"{self.path}: {exc}") from exc
        self._last_dts = dts
        self.packets += 1
        duration_s = float(packet.duration * packet.time_base) if packet.duration else 0.0
        self.end_wall = max(self.end_wall, packet.wall_time + duration_s)

    def close(self) -> None:
        try:
            self._out.close()
        except av.error.FFmpegError as exc:
            raise Mp4Error(f"{self.path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class FinalizedFile:
    path: Path
    bytes: int
    sha256: str
    duration_s: float
    codec: str
    width: int
    height: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def finalize(part: Path, dest: Path) -> FinalizedFile:
    """Remux a (possibly truncated) fragmented MP4 into a faststart MP4 at `dest`.

    Raises Mp4Error when the part holds no complete fragment to recover.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    first_dts: int | None = None
    last_end = 0
    time_base = Fraction(1, 90000)
    try:
        with av.open(str(part), "r") as src:
            if not src.streams.video:
                raise Mp4Error(f"{part}: no video stream")
            in_stream = src.streams.video[0]
            time_base = Fraction(in_stream.time_base or time_base)
            codec = in_stream.codec_context.name
            width, height = in_stream.codec_context.width, in_stream.codec_context.height
            with av.open(str(tmp), "w", format="mp4", options=_FASTSTART) as out:
                out_stream = out.add_stream_from_template(in_stream)
                for packet in src.demux(in_stream):
                    if packet.dts is None:  # the demuxer's flush packet
                        continue
                    if first_dts is None:
                        first_dts = packet.dts
                    last_end = max(last_end, packet.dts + (packet.duration or 0))
                    packet.stream = out_stream
                    out.mux(packet)
                if first_dts is None:
                    raise Mp4Error(f"{part}: no complete fragment to recover")
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except av.error.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise Mp4Error(f"{part}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return FinalizedFile(
        path=dest,
        bytes=dest.stat().st_size,
        sha256=sha256_of(dest),
        duration_s=float((last_end - first_dts) * time_base),
        codec=codec,
        width=width,
        height=height,
    )
