"""Typed messages that carry encoded video from a camera to the hub's consumers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import av.stream

# Fragmented MP4 with an empty moov: the smallest container that carries a stream's codec
# parameters (SPS/PPS, size, time base) and can be re-opened as a template for copy-mode muxing.
_HEADER_MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a consumer needs to mux a stream's packets without the original connection."""

    codec: str
    width: int
    height: int
    time_base: Fraction
    fps: float | None
    codec_header: bytes  # an empty fragmented MP4 holding the codec parameters
    # The camera's own extradata. RTSP delivers H.264/H.265 in Annex B form (start codes);
    # the MP4 header keeps it converted to avcC, and a muxer given avcC would copy Annex B
    # packets verbatim into an unplayable file. Given Annex B, it converts them itself.
    extradata: bytes = b""

    @classmethod
    def from_stream(cls, stream: av.stream.Stream) -> StreamInfo:
        buf = io.BytesIO()
        with av.open(buf, "w", format="mp4", options={"movflags": _HEADER_MOVFLAGS}) as out:
            out.add_stream_from_template(stream)
            out.start_encoding()
        ctx = stream.codec_context
        rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
        return cls(
            codec=ctx.name,
            width=int(getattr(ctx, "width", 0) or 0),
            height=int(getattr(ctx, "height", 0) or 0),
            time_base=Fraction(stream.time_base or Fraction(1, 90000)),
            fps=float(rate) if rate else None,
            codec_header=buf.getvalue(),
            extradata=bytes(ctx.extradata or b""),
        )

    def open_template(self) -> tuple[av.container.InputContainer, av.stream.Stream]:
        """Re-open the codec header; the caller closes the container after adding streams."""
        container = av.open(io.BytesIO(self.codec_header), "r", format="mp4")
        return container, container.streams.video[0]

    def add_output_stream(self, out: av.container.OutputContainer) -> av.stream.Stream:
        """A copy-mode stream in `out` for this stream's packets, as they came from the camera."""
        template_container, template = self.open_template()
        try:
            stream = out.add_stream_from_template(template)
        finally:
            template_container.close()
        stream.time_base = self.time_base
        if self.extradata:
            stream.codec_context.extradata = self.extradata
        return stream


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One compressed access unit, detached from PyAV so any thread may keep it."""

    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    time_base: Fraction
    is_keyframe: bool
    wall_time: float  # UTC epoch seconds of this packet's presentation, on the hub's clock

    @property
    def decode_ts(self) -> int:
        """The timestamp muxers order by: dts, or pts where the camera sends no dts."""
        if self.dts is not None:
            return self.dts
        return self.pts if self.pts is not None else 0

    def to_av(self, stream: av.stream.Stream, offset: int = 0) -> av.Packet[av.stream.Stream]:
        """A PyAV packet for `stream`, timestamps shifted back by `offset` ticks."""
        packet = av.Packet(self.data)
        packet.pts = None if self.pts is None else self.pts - offset
        packet.dts = None if self.dts is None else self.dts - offset
        packet.duration = self.duration
        packet.time_base = self.time_base
        packet.is_keyframe = self.is_keyframe
        packet.stream = stream
        return packet
