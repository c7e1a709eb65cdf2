"""The simulator's clips: named assets, probing of any .h264 file, JPEG snapshots."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import av
import cv2
import numpy as np

from .errors import SimulatorError

__all__ = [
    "MEDIA_DIR",
    "NAMED_CLIPS",
    "SAMPLE_VIDEOS",
    "ClipInfo",
    "StreamClips",
    "probe_clip",
    "resolve_clips",
]

MEDIA_DIR = Path(__file__).with_name("media")
# The real footage (CC BY 4.0, attribution in its README) the clips are made from; tests and
# the scene generator read it too.
SAMPLE_VIDEOS = MEDIA_DIR / "sample-videos"
# name -> (main clip, sub clip) file names in MEDIA_DIR
NAMED_CLIPS: dict[str, tuple[str, str]] = {"people": ("people-720p.h264", "people-360p.h264")}
DEFAULT_FPS = 25
JPEG_QUALITY = 85
# Picture faults served from a pre-rendered clip of the same size: "black" from the shared
# black-<height>p.h264, the others from the clip's own variant "<stem>.<fault>.h264".
PICTURE_FAULTS = ("black", "blur", "cover", "moved")


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """One raw H.264 clip and the clips that stand in for it under picture faults."""

    path: Path
    width: int
    height: int
    fps: int
    variants: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def black(self) -> Path | None:
        return self.variants.get("black")

    def snapshot_jpeg(self, *, fault: str | None = None) -> bytes:
        """A JPEG of the clip's first picture (or of its variant for a picture fault)."""
        return _first_frame_jpeg(self.variants.get(fault or "", self.path))


@dataclass(frozen=True, slots=True)
class StreamClips:
    main: ClipInfo
    sub: ClipInfo | None


def resolve_clips(
    clip: str | Path, *, sub_stream: bool, sub_clip: str | Path | None = None
) -> StreamClips:
    """Resolve a named asset ("people") or an absolute .h264 path to probed clips.

    A named asset brings its own sub-stream clip; a path has a sub-stream only if ``sub_clip``
    is given.
    """
    sub_path: Path | None = Path(sub_clip) if sub_clip is not None else None
    if isinstance(clip, str) and clip in NAMED_CLIPS:
        main_name, sub_name = NAMED_CLIPS[clip]
        main_path = MEDIA_DIR / main_name
        sub_path = sub_path or MEDIA_DIR / sub_name
    else:
        main_path = Path(clip)
        if not main_path.is_absolute():
            names = ", ".join(sorted(NAMED_CLIPS))
            raise SimulatorError(f"clip {clip!r} is neither a named clip ({names}) nor absolute")
    main = probe_clip(main_path)
    sub = probe_clip(sub_path) if sub_stream and sub_path is not None else None
    if sub_stream and sub is None:
        raise SimulatorError(f"clip {clip!r} has no sub-stream clip; pass sub_clip")
    return StreamClips(main, sub)


@functools.lru_cache(maxsize=32)
def probe_clip(path: Path) -> ClipInfo:
    """Size and frame rate of a raw H.264 file (read from its SPS by FFmpeg)."""
    if not path.is_file():
        raise SimulatorError(f"no such clip: {path}")
    try:
        with av.open(str(path), format="h264") as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.base_rate
    except (av.FFmpegError, IndexError) as exc:
        raise SimulatorError(f"{path} is not a raw H.264 stream: {exc}") from exc
    fps = round(float(rate)) if rate else DEFAULT_FPS
    candidates = {"black": MEDIA_DIR / f"black-{height}p.h264"}
    for fault in PICTURE_FAULTS[1:]:
        candidates[fault] = path.with_name(f"{path.stem}.{fault}{path.suffix}")
    variants = {
        fault: variant
        for fault, variant in candidates.items()
        if variant.is_file() and variant != path and _size(variant) == (width, height)
    }
    return ClipInfo(path, width, height, fps or DEFAULT_FPS, MappingProxyType(variants))


@functools.lru_cache(maxsize=8)
def _size(path: Path) -> tuple[int, int]:
    with av.open(str(path), format="h264") as container:
        ctx = container.streams.video[0].codec_context
        return ctx.width, ctx.height


@functools.lru_cache(maxsize=16)
def _first_frame_jpeg(path: Path) -> bytes:
    with av.open(str(path), format="h264") as container:
        frame = next(container.decode(video=0))
    image: np.ndarray = frame.to_ndarray(format="bgr24")
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise SimulatorError(f"cannot encode a JPEG snapshot of {path}")
    return jpeg.tobytes()
