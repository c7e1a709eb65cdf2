"""Leases on the hub's existing camera pulls for live viewers: never a new RTSP session."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

from hub.ingest.fanout import PacketFanout
from hub.ingest.substream import SubStreams
from hub.ingest.supervisor import CameraSupervisor
from web.live.errors import UnknownCamera


class StreamKind(StrEnum):
    MAIN = "main"  # full resolution: the single-camera page
    SUB = "sub"  # low resolution: grid tiles, where the camera has one


class CameraLike(Protocol):
    @property
    def supervisor(self) -> CameraSupervisor: ...


class StreamLeases(Protocol):
    def acquire(self, camera_id: str, wanted: StreamKind) -> tuple[PacketFanout, StreamKind]: ...

    def release(self, camera_id: str, served: StreamKind) -> None: ...


class HubStreams:
    """Main streams come from each camera's always-on supervisor, sub-streams on demand."""

    def __init__(self, cameras: Mapping[str, CameraLike], substreams: SubStreams) -> None:
        self._cameras = cameras
        self._substreams = substreams

    def acquire(self, camera_id: str, wanted: StreamKind) -> tuple[PacketFanout, StreamKind]:
        """The fan-out to read and the stream it carries (main when there is no sub-stream)."""
        entry = self._cameras.get(camera_id)
        if entry is None:
            raise UnknownCamera(f"no live camera {camera_id!r}")
        if wanted is StreamKind.SUB and self._substreams.available(camera_id):
            return self._substreams.acquire(camera_id), StreamKind.SUB
        return entry.supervisor.fanout, StreamKind.MAIN

    def release(self, camera_id: str, served: StreamKind) -> None:
        if served is StreamKind.SUB:
            self._substreams.release(camera_id)
