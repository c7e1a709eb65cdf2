"""Split an H.264 Annex-B elementary stream into access units.

Stdlib only: the RTSP server imports this under Debian's /usr/bin/python3 (no venv), and the
venv side uses it to check the generated clips.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["AccessUnit", "iter_nal_units", "split_access_units"]

NAL_SLICE = 1
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
_VCL = frozenset({NAL_SLICE, 2, 3, 4, NAL_IDR})
# NAL types that may only appear before the first slice of an access unit (H.264 7.4.1.2.3).
_AU_PREFIX = frozenset({6, NAL_SPS, NAL_PPS, NAL_AUD, 14, 15, 16, 17, 18})
_START_CODE = b"\x00\x00\x00\x01"


@dataclass(frozen=True, slots=True)
class AccessUnit:
    """One coded picture with its prefix NALs, as Annex-B bytes (4-byte start codes)."""

    data: bytes
    nal_types: tuple[int, ...]

    @property
    def keyframe(self) -> bool:
        return NAL_IDR in self.nal_types

    @property
    def has_parameter_sets(self) -> bool:
        return NAL_SPS in self.nal_types and NAL_PPS in self.nal_types


def iter_nal_units(data: bytes) -> Iterator[bytes]:
    """Yield each NAL unit (header byte first) without its start code."""
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        start = pos + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        # A NAL never ends in 0x00, so trailing zeros belong to the next 4-byte start code.
        nal = data[start:end].rstrip(b"\x00")
        if nal:
            yield nal
        pos = nxt


def _first_mb_is_zero(nal: bytes) -> bool:
    # first_mb_in_slice is the first ue(v) of the slice header; a leading 1 bit encodes 0.
    return len(nal) > 1 and bool(nal[1] & 0x80)


def split_access_units(data: bytes) -> list[AccessUnit]:
    """Group the NAL units of an Annex-B stream into access units (pictures)."""
    units: list[AccessUnit] = []
    nals: list[bytes] = []
    has_vcl = False

    def flush() -> None:
        if nals:
            units.append(
                AccessUnit(
                    data=b"".join(_START_CODE + n for n in nals),
                    nal_types=tuple(n[0] & 0x1F for n in nals),
                )
            )

    for nal in iter_nal_units(data):
        nal_type = nal[0] & 0x1F
        if has_vcl and (
            nal_type in _AU_PREFIX or (nal_type in (NAL_SLICE, NAL_IDR) and _first_mb_is_zero(nal))
        ):
            flush()
            nals, has_vcl = [], False
        nals.append(nal)
        has_vcl = has_vcl or nal_type in _VCL
    if has_vcl:
        flush()
    return units
