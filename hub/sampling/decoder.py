"""Decode single keyframes of a stream into small grey and colour pictures.

An H.264/H.265 IDR references nothing, so each one decodes alone: the decoder never sees the
other 49 frames of a GOP, which is what keeps sampling at ~0.2 % of a core per camera.
"""

from __future__ import annotations

import logging
from typing import Final, cast

import av
import numpy as np
from av.video.codeccontext import VideoCodecContext

from camera_adapters.packets import EncodedPacket, StreamInfo

from .frames import Image

__all__ = ["DecodeError", "KeyframeDecoder"]

log = logging.getLogger(__name__)

# Deblocking is invisible at 320 px and costs ~5 % of the decode.
_DECODER_OPTIONS: Final = {"skip_loop_filter": "all"}


class DecodeError(Exception):
    """A keyframe could not be decoded (corrupt data or an unsupported stream)."""


class KeyframeDecoder:
    """One stream's decoder; create a new one for every StreamStarted."""

    def __init__(self, info: StreamInfo, *, width: int = 320, color_width: int = 160) -> None:
        self.info = info
        self._width = width
        self._color_width = color_width
        try:
            self._ctx = cast(VideoCodecContext, av.CodecContext.create(info.codec, "r"))
        except (av.FFmpegError, ValueError) as exc:
            raise DecodeError(f"no decoder for {info.codec}: {exc}") from exc
        if info.extradata:
            self._ctx.extradata = info.extradata
        self._ctx.thread_count = 1  # frame threads would hold every picture back by a frame
        self._ctx.options = dict(_DECODER_OPTIONS)

    def decode(self, packet: EncodedPacket) -> tuple[Image, Image, tuple[int, int]]:
        """Grey and colour thumbnails of a keyframe, and the decoded size."""
        try:
            frames = self._ctx.decode(av.Packet(packet.data))
            if not frames:  # a decoder with a reorder delay holds the picture: drain it
                frames = self._ctx.decode(None)
                self._ctx.flush_buffers()
        except av.FFmpegError as exc:
            raise DecodeError(str(exc)) from exc
        if not frames:
            raise DecodeError("the keyframe decoded to no picture")
        frame = frames[-1]
        frame_size = (frame.width, frame.height)
        height = _scaled(frame.height, frame.width, self._width)
        color_height = _scaled(frame.height, frame.width, self._color_width)
        gray = frame.reformat(width=self._width, height=height, format="gray").to_ndarray()
        color = frame.reformat(
            width=self._color_width, height=color_height, format="bgr24"
        ).to_ndarray()
        return gray.astype(np.uint8, copy=False), color.astype(np.uint8, copy=False), frame_size


def _scaled(height: int, width: int, new_width: int) -> int:
    """The height that keeps the aspect at `new_width`, rounded to even (chroma planes)."""
    return max(2, round(height * new_width / max(width, 1) / 2) * 2)
