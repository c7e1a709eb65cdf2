"""Build the simulator's H.264 clips from the CC BY 4.0 sample footage.

Deterministic (single-threaded x264, fixed frame mapping). Run from the repository root:

    .venv/bin/python -m camera_adapters.simulator.make_media [--source PATH]

Output: raw Annex-B elementary streams in ``media/``: main profile, no B-frames, 25 fps, a closed
2 s GOP with SPS/PPS in front of every IDR, as a typical canteen camera sends them. Beside each
footage clip, its tamper variants (``people-720p.blur.h264`` ...): the same footage blurred,
covered, or seen from a moved camera, which the simulator serves for those faults.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .h264_annexb import split_access_units
from .media import MEDIA_DIR, SAMPLE_VIDEOS

DEFAULT_SOURCE = SAMPLE_VIDEOS / "one-by-one-person-detection.mp4"
FPS = 25
GOP_FRAMES = 2 * FPS
# 48-72 s: empty room, a person walks in, reads at the table, walks out, empty room again,
# so the loop seam is invisible.
SEGMENT_START_S = 48.0
SEGMENT_S = 24.0
BLACK_S = 2.0
# Tamper variants are shorter loops of the same footage: 4 GOPs keep the repository small.
VARIANT_S = 8.0
VARIANT_START_S = SEGMENT_START_S + 8.0  # a person is in the room: the picture moves
# A defocused lens: Gaussian sigma as a fraction of the width (~6 px at 1280).
BLUR_SIGMA = 6 / 1280
# A hand or cloth over the lens: a dim, nearly uniform picture (not black) with sensor noise.
COVER_LEVEL, COVER_CONTRAST, COVER_NOISE = 70.0, 0.12, 2.0
# Someone turned the camera: the view pans right and down and zooms in by 1.25.
MOVED_CROP = (0.2, 0.2)  # left and top fractions cut away


@dataclass(frozen=True, slots=True)
class Rendition:
    width: int
    height: int
    bitrate: int


MAIN = Rendition(1280, 720, 1_500_000)
SUB = Rendition(640, 360, 400_000)


def encode_clip(
    frames: Iterable[av.VideoFrame],
    out: Path,
    *,
    width: int,
    height: int,
    bitrate: int,
    fps: int = FPS,
    gop: int = GOP_FRAMES,
    preset: str = "medium",
) -> int:
    """Encode frames to a raw H.264 stream at ``out``; returns the number of frames."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps, 1)
    ctx.bit_rate = bitrate
    ctx.thread_count = 1  # one thread keeps the output byte-identical run to run
    kbps = bitrate // 1000
    ctx.options = {
        "preset": preset,
        "profile": "main",
        "x264-params": (
            f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:bframes=0:"
            f"repeat-headers=1:aud=1:bitrate={kbps}:vbv-maxrate={kbps}:vbv-bufsize={kbps}"
        ),
    }
    count = 0
    with out.open("wb") as fh:
        for count, frame in enumerate(frames, start=1):
            frame.pts = count - 1
            frame.time_base = ctx.time_base  # decoded frames carry the source's time base
            frame.pict_type = av.video.frame.PictureType.NONE
            for packet in ctx.encode(frame):
                fh.write(bytes(packet))
        for packet in ctx.encode(None):
            fh.write(bytes(packet))
    return count


def resampled_frames(
    source: Path, *, start_s: float, seconds: float, width: int, height: int, fps: int = FPS
) -> Iterator[av.VideoFrame]:
    """Frames of ``source`` from ``start_s``, repeated to ``fps`` and scaled to width x height."""
    wanted = round(seconds * fps)
    index = 0
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        step = 1 / float(stream.average_rate or fps)
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t + step <= start_s:
                continue
            scaled = None
            # Output frame i shows the source frame on screen at start_s + i / fps.
            while index < wanted and start_s + index / fps < t + step - 1e-9:
                if scaled is None:
                    scaled = frame.reformat(width=width, height=height, format="yuv420p")
                yield scaled
                index += 1
            if index >= wanted:
                return
    if index < wanted:
        raise ValueError(f"{source} ends before {start_s + seconds:.1f} s")


def black_frames(
    *, seconds: float, width: int, height: int, fps: int = FPS
) -> Iterator[av.VideoFrame]:
    """Video black (Y=16, U=V=128)."""
    planes = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    planes[:height] = 16
    for _ in range(round(seconds * fps)):
        yield av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _bgr_frames(frames: Iterable[av.VideoFrame]) -> Iterator[np.ndarray]:
    for frame in frames:
        yield frame.to_ndarray(format="bgr24")


def _yuv(image: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")


def blurred_frames(frames: Iterable[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    """The footage out of focus."""
    for image in _bgr_frames(frames):
        sigma = BLUR_SIGMA * image.shape[1]
        yield _yuv(cv2.GaussianBlur(image, (0, 0), sigmaX=sigma))


def covered_frames(frames: Iterable[av.VideoFrame], *, seed: int = 7) -> Iterator[av.VideoFrame]:
    """Something over the lens: light still leaks through, the scene is gone."""
    rng = np.random.default_rng(seed)  # fixed seed: the clip is reproducible
    for image in _bgr_frames(frames):
        height, width = image.shape[:2]
        leak = cv2.GaussianBlur(image, (0, 0), sigmaX=width / 15).astype(np.float32)
        covered = COVER_LEVEL + COVER_CONTRAST * (leak - leak.mean())
        covered += rng.normal(0.0, COVER_NOISE, (height, width, 1))
        yield _yuv(np.clip(covered, 0, 255).astype(np.uint8))


def moved_frames(frames: Iterable[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    """The same room from a camera that was turned and zoomed."""
    for image in _bgr_frames(frames):
        height, width = image.shape[:2]
        x0, y0 = round(MOVED_CROP[0] * width), round(MOVED_CROP[1] * height)
        view = cv2.resize(image[y0:, x0:], (width, height), interpolation=cv2.INTER_LINEAR)
        yield _yuv(view)


VARIANTS = {"blur": blurred_frames, "cover": covered_frames, "moved": moved_frames}


def variant_path(clip: Path, fault: str) -> Path:
    """Where the simulator looks for a clip's variant for a picture fault."""
    return clip.with_name(f"{clip.stem}.{fault}{clip.suffix}")


def check_clip(path: Path, *, gop: int = GOP_FRAMES) -> int:
    """Verify the GOP layout the simulator relies on; returns the number of access units."""
    units = split_access_units(path.read_bytes())
    for i, unit in enumerate(units):
        if unit.keyframe != (i % gop == 0):
            raise ValueError(f"{path.name}: access unit {i} keyframe={unit.keyframe}")
        if unit.keyframe and not unit.has_parameter_sets:
            raise ValueError(f"{path.name}: IDR at {i} lacks in-band SPS/PPS")
    if len(units) % gop:
        raise ValueError(f"{path.name}: {len(units)} frames is not a whole number of GOPs")
    return len(units)


def build(source: Path, out_dir: Path = MEDIA_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for rendition in (MAIN, SUB):
        name = f"{rendition.height}p"
        size = {"width": rendition.width, "height": rendition.height}
        people = out_dir / f"people-{name}.h264"
        frames = resampled_frames(source, start_s=SEGMENT_START_S, seconds=SEGMENT_S, **size)
        w, h, bitrate = rendition.width, rendition.height, rendition.bitrate
        encode_clip(frames, people, width=w, height=h, bitrate=bitrate)
        black = out_dir / f"black-{name}.h264"
        dark = black_frames(seconds=BLACK_S, **size)
        encode_clip(dark, black, width=w, height=h, bitrate=bitrate)
        made += [people, black]
        for fault, transform in VARIANTS.items():
            source_frames = resampled_frames(
                source, start_s=VARIANT_START_S, seconds=VARIANT_S, **size
            )
            out = variant_path(people, fault)
            encode_clip(transform(source_frames), out, width=w, height=h, bitrate=bitrate)
            made.append(out)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=MEDIA_DIR)
    args = parser.parse_args()
    for path in build(args.source, args.out):
        frames = check_clip(path)
        kbit_s = path.stat().st_size * 8 / (frames / FPS) / 1000
        print(f"{path.name}: {frames} frames, {path.stat().st_size} bytes, {kbit_s:.0f} kbit/s")


if __name__ == "__main__":
    main()
