"""The camera simulator used by the demo and the tests (RTSP + ONVIF stand-ins on loopback)."""

from __future__ import annotations

from pydantic import Field

from ._base import Port, Section, Slug

__all__ = ["SimulatorConfig"]


class SimulatorConfig(Section):
    """Serve looping clips for cameras whose URLs point at the simulator."""

    enabled: bool = Field(default=False, description="Start the simulator with the hub.")
    rtsp_port: Port = Field(default=8554, description="RTSP port of the simulator.")
    default_clip: Slug = Field(default="people", description="Clip for cameras not in clips.")
    clips: dict[str, Slug] = Field(default_factory=dict, description="Camera id -> clip name.")
