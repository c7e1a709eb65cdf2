"""Real H.264 test media made with PyAV (libx264), small enough to encode in a second."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from camera_adapters.packets import EncodedPacket, StreamInfo


def make_h264_mp4(
    path: Path, *, seconds: float, fps: int = 25, gop: int = 25, size: tuple[int, int] = (320, 240)
) -> Path:
    """A moving gradient with a frame counter block, keyframe every `gop` frames, no B-frames."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "bf": "0", "preset": "ultrafast"}
        x = np.arange(width, dtype=np.uint16)
        for n in range(int(seconds * fps)):
            img = np.empty((height, width, 3), np.uint8)
            img[:] = ((x + n * 4) % 256).astype(np.uint8)[None, :, None]
            img[10:40, 10 + (n % 50) * 4 : 40 + (n % 50) * 4] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def read_packets(
    path: Path, *, start_wall: float = 1_700_000_000.0
) -> tuple[StreamInfo, Iterator[EncodedPacket]]:
    """Stream info and detached packets of a file, as a camera reader would publish them."""
    container = av.open(str(path))
    stream = container.streams.video[0]
    info = StreamInfo.from_stream(stream)
    time_base = Fraction(stream.time_base)

    def packets() -> Iterator[EncodedPacket]:
        with container:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                yield EncodedPacket(
                    data=bytes(packet),
                    pts=packet.pts,
                    dts=packet.dts,
                    duration=int(packet.duration or 0),
                    time_base=time_base,
                    is_keyframe=bool(packet.is_keyframe),
                    wall_time=start_wall + float((packet.pts or 0) * time_base),
                )

    return info, packets()
