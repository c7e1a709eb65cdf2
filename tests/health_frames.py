"""Real frames for the health tests: the sample footage decoded and downscaled as sampled."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np

from camera_adapters.simulator import MEDIA_DIR
from camera_adapters.simulator.h264_annexb import split_access_units
from hub.health.checks.picture import Gray

WIDTH = 320


def _gray(image: np.ndarray) -> Gray:
    height = round(image.shape[0] * WIDTH / image.shape[1] / 2) * 2
    return np.asarray(cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA), np.uint8)


def video_samples(path: Path, every_s: float) -> Iterator[tuple[float, Gray]]:
    """(video time, grey picture) every `every_s` seconds of a file (mp4 or gif)."""
    next_at = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t + 1e-6 >= next_at:
                next_at += every_s
                yield t, _gray(frame.to_ndarray(format="gray"))


@cache
def clip_keyframes(name: str = "people-720p.h264") -> tuple[Gray, ...]:
    """The IDR pictures of a simulator clip, decoded one by one as the sampler does."""
    from camera_adapters.packets import EncodedPacket, StreamInfo
    from hub.sampling import KeyframeDecoder

    info = StreamInfo("h264", 0, 0, time_base=1, fps=25, codec_header=b"")  # type: ignore[arg-type]
    decoder = KeyframeDecoder(info, width=WIDTH)
    units = split_access_units((MEDIA_DIR / name).read_bytes())
    out = []
    for unit in units:
        if unit.keyframe:
            packet = EncodedPacket(unit.data, 0, 0, 1, 1, True, 0.0)  # type: ignore[arg-type]
            out.append(decoder.decode(packet)[0])
    return tuple(out)


@cache
def room() -> Gray:
    """One real picture of the room, someone in it (from the simulator's footage)."""
    return clip_keyframes()[6]
