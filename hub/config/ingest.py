"""How the hub pulls camera streams and retries when they fail."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ._base import Section

__all__ = ["IngestConfig", "RtspTransport"]


class RtspTransport(StrEnum):
    TCP = "tcp"  # interleaved: survives NAT and lossy school links; the safe default
    UDP = "udp"


class IngestConfig(Section):
    """Timeouts and reconnect backoff for every camera's ingest supervisor."""

    open_timeout_s: float = Field(
        default=5.0, ge=0.5, le=60, description="Seconds to wait for an RTSP session to open."
    )
    read_timeout_s: float = Field(
        default=5.0, ge=0.5, le=60, description="Seconds without a packet before reconnecting."
    )
    backoff_initial_s: float = Field(
        default=1.0, ge=0.1, le=60, description="First reconnect delay; doubles on each failure."
    )
    backoff_max_s: float = Field(
        default=30.0, ge=1, le=600, description="Cap on the reconnect delay."
    )
    backoff_jitter: float = Field(
        default=0.2, ge=0, le=1, description="Random +/- fraction added to each delay."
    )
    rtsp_transport: RtspTransport = Field(
        default=RtspTransport.TCP, description="RTSP transport: tcp or udp."
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> IngestConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise PydanticCustomError("backoff_order", "backoff_max_s must be >= backoff_initial_s")
        return self
