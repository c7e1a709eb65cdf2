"""Decode single keyframes of a stream into small grey and colour pictures.

An H.264/H.265 IDR references nothing, so each one decodes alone: the decoder never sees the
other 49 frames of a GOP, which is what keeps sampling at ~0.2 % of a core per camera.
When a consumer needs samples more often than the stream has keyframes, the decoder can
instead be fed every frame of a GOP (`every_frame=True`, `feed`): ~20x the cost, so only then.
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

# Deblocking is invisible at 320 px and costs ~5 % of the decode. Never skipped when every
# frame is decoded: the next frames predict from the filtered picture and would drift.
_DECODER_OPTIONS: Final = {"skip_loop_filter": "all"}


class DecodeError(Exception):
    """A keyframe could not be decoded (corrupt data or an unsupported stream)."""


class KeyframeDecoder:
    """One stream's decoder; create a new one for every StreamStarted."""

    def __init__(
        self,
        info: StreamInfo,
        *,
        width: int = 320,
        color_width: int = 160,
        every_frame: bool = False,
    ) -> None:
        self.info = info
        self.every_frame = every_frame
        self._width = width
        self._color_width = color_width
        try:
            self._ctx = cast(VideoCodecContext, av.CodecContext.create(info.codec, "r"))
        except (av.FFmpegError, ValueError) as exc:
            raise DecodeError(f"no decoder for {info.codec}: {exc}") from exc
        if info.extradata:
            self._ctx.extradata = info.extradata
        self._ctx.thread_count = 1  # frame threads would hold every picture back by a frame
        if not every_frame:
            self._ctx.options = dict(_DECODER_OPTIONS)

    def decode(self, packet: EncodedPacket) -> tuple[Image, Image, tuple[int, int]]:
        """Grey and colour thumbnails of a keyframe, and the decoded size."""
        frame = self.decode_keyframe(packet)
        gray, color = self.thumbnails(frame)
        return gray, color, (frame.width, frame.height)

    def decode_keyframe(self, packet: EncodedPacket) -> av.VideoFrame:
        """The picture of one keyframe, decoded alone."""
        try:
            frames = self._ctx.decode(av.Packet(packet.data))
            if not frames:  # a decoder with a reorder delay holds the picture: drain it
                frames = self._ctx.decode(None)
                self._ctx.flush_buffers()
        except av.FFmpegError as exc:
            raise DecodeError(str(exc)) from exc
        return _checked(frames, "the keyframe decoded to no picture")

    def feed(self, packet: EncodedPacket) -> av.VideoFrame | None:
        """Every-frame decoding: the picture this packet completes, if any (feed a GOP from
        its keyframe on, in order)."""
        try:
            frames = self._ctx.decode(av.Packet(packet.data))
        except av.FFmpegError as exc:
            raise DecodeError(str(exc)) from exc
        return _checked(frames, "") if frames else None

    def thumbnails(self, frame: av.VideoFrame) -> tuple[Image, Image]:
        """The grey picture (`width` wide) and the small colour one (`color_width` wide)."""
        height = _scaled(frame.height, frame.width, self._width)
        color_height = _scaled(frame.height, frame.width, self._color_width)
        gray = frame.reformat(width=self._width, height=height, format="gray").to_ndarray()
        color = frame.reformat(
            width=self._color_width, height=color_height, format="bgr24"
        ).to_ndarray()
        return gray.astype(np.uint8, copy=False), color.astype(np.uint8, copy=False)


def _checked(frames: list[av.VideoFrame], empty: str) -> av.VideoFrame:
    if not frames:
        raise DecodeError(empty)
    frame = frames[-1]
    if frame.width < 2 or frame.height < 2:
        raise DecodeError(f"the picture is {frame.width}x{frame.height}: empty")
    return frame


def _scaled(height: int, width: int, new_width: int) -> int:
    """The height that keeps the aspect at `new_width`, rounded to even (chroma planes)."""
    return max(2, round(height * new_width / max(width, 1) / 2) * 2)
