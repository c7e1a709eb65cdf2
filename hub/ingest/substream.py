"""On-demand sub-stream pulls: started by the first lease, stopped after the last one ends.

A camera's main stream is pulled all the time (recording, detection). Its low-resolution
sub-stream is only needed while someone watches it in a grid tile, so it is pulled on
demand, by ONE supervisor per camera however many leases are held: one RTSP session per
stream, as the cameras require.

Only cameras configured with ``sub_rtsp_url`` have one here; ONVIF cameras are served from
their main stream for now (their sub profile is known only to the main supervisor's probe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from hub.config import HubConfig
from hub.ingest.backoff import Backoff
from hub.ingest.fanout import PacketFanout
from hub.ingest.supervisor import CameraSource, CameraStatus, CameraSupervisor, IngestTimings

log = logging.getLogger(__name__)

# A tour or a page reload comes back within seconds: keep the session that long rather than
# reconnect to the camera (RTSP set-up costs the camera more than a few idle seconds).
SUB_LINGER_S: Final = 5.0

SupervisorFactory = Callable[[str, CameraSource], CameraSupervisor]


class _Quiet:
    """Sub-stream state stays out of the camera's status history (the main stream owns it)."""

    def status_changed(self, camera_id: str, status: CameraStatus) -> None:
        log.debug("%s: %s", camera_id, status.state)


@dataclass(slots=True)
class _Pull:
    supervisor: CameraSupervisor
    leases: int = 0
    stopping: bool = False
    linger: asyncio.Task[None] | None = field(default=None)


class SubStreams:
    """Reference-counted sub-stream supervisors, keyed by camera id."""

    def __init__(
        self,
        sources: Mapping[str, CameraSource],
        make_supervisor: SupervisorFactory,
        *,
        linger_s: float = SUB_LINGER_S,
    ) -> None:
        self._sources = dict(sources)
        self._make = make_supervisor
        self._linger_s = linger_s
        self._pulls: dict[str, _Pull] = {}
        self._closed = False

    @classmethod
    def from_config(cls, config: HubConfig, *, linger_s: float = SUB_LINGER_S) -> SubStreams:
        ingest = config.ingest
        timings = IngestTimings(
            open_timeout_s=ingest.open_timeout_s, transport=str(ingest.rtsp_transport)
        )

        def make(camera_id: str, source: CameraSource) -> CameraSupervisor:
            backoff = Backoff(
                initial_s=ingest.backoff_initial_s,
                max_s=ingest.backoff_max_s,
                jitter=ingest.backoff_jitter,
            )
            return CameraSupervisor(
                f"{camera_id}:sub", source, listener=_Quiet(), backoff=backoff, timings=timings
            )

        sources = {}
        for _school, camera in config.iter_cameras():
            if camera.enabled and camera.sub_rtsp_url is not None and camera.onvif is None:
                password = camera.rtsp_password
                sources[camera.id] = CameraSource(
                    rtsp_url=str(camera.sub_rtsp_url),
                    username=camera.rtsp_username,
                    password=None if password is None else password.get_secret_value(),
                )
        return cls(sources, make, linger_s=linger_s)

    def available(self, camera_id: str) -> bool:
        return camera_id in self._sources

    def active(self) -> dict[str, int]:
        """Leases per camera whose sub-stream is being pulled (lingering ones show 0)."""
        return {cid: pull.leases for cid, pull in self._pulls.items() if not pull.stopping}

    def acquire(self, camera_id: str) -> PacketFanout:
        """A lease on the camera's sub-stream; KeyError if it has none. Pair with release()."""
        if self._closed:
            raise RuntimeError("sub-streams are stopped")
        pull = self._pulls.get(camera_id)
        if pull is None or pull.stopping:
            supervisor = self._make(camera_id, self._sources[camera_id])
            supervisor.start()
            pull = self._pulls[camera_id] = _Pull(supervisor)
        elif pull.linger is not None:
            pull.linger.cancel()
            pull.linger = None
        pull.leases += 1
        return pull.supervisor.fanout

    def release(self, camera_id: str) -> None:
        pull = self._pulls.get(camera_id)
        if pull is None or pull.stopping or pull.leases == 0:
            return
        pull.leases -= 1
        if pull.leases == 0 and not self._closed:
            pull.linger = asyncio.create_task(
                self._stop_later(camera_id, pull), name=f"{camera_id}:sub-linger"
            )

    async def _stop_later(self, camera_id: str, pull: _Pull) -> None:
        await asyncio.sleep(self._linger_s)
        pull.stopping = True  # from here on an acquire() starts a fresh pull
        try:
            await pull.supervisor.stop()
        finally:
            if self._pulls.get(camera_id) is pull:
                del self._pulls[camera_id]

    async def stop(self) -> None:
        """Stop every sub-stream pull (idempotent); leases held after this are void."""
        self._closed = True
        pulls, self._pulls = list(self._pulls.values()), {}
        lingering = [p.linger for p in pulls if p.linger is not None]
        for pull in pulls:
            if pull.linger is not None and not pull.stopping:
                pull.linger.cancel()  # still sleeping: nothing to finish
        await asyncio.gather(*lingering, return_exceptions=True)
        await asyncio.gather(*(p.supervisor.stop() for p in pulls))
