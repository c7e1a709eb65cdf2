"""The web console and API server."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, HttpUrl

from ._base import Port, Section

__all__ = ["WebConfig"]

_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def _check_ice_url(value: str) -> str:
    if not value.startswith(_ICE_SCHEMES) or value.endswith(":"):
        raise ValueError(f"not a stun:/turn: URL: {value!r}")
    return value


class WebConfig(Section):
    """HTTP listener and WebRTC settings."""

    host: str = Field(
        default="127.0.0.1", min_length=1, description="Listen address; 0.0.0.0 for all."
    )
    port: Port = Field(default=8000, description="Listen port.")
    public_url: HttpUrl | None = Field(
        default=None, description="URL users reach the console at (for links in alerts)."
    )
    ice_servers: tuple[Annotated[str, AfterValidator(_check_ice_url)], ...] = Field(
        default=(), description="STUN/TURN URLs for WebRTC, e.g. 'stun:10.1.1.1:3478'."
    )
