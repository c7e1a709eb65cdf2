"""One camera's ingest: resolve its stream, pull it once, fan it out, reconnect forever.

States: CONNECTING -> ONLINE (first packet arrived) -> OFFLINE(reason) -> CONNECTING ...
Reconnects use capped exponential backoff with jitter, reset after a connection that delivered
video; failures a person must fix (bad credentials, wrong path) wait the longest delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from camera_adapters.errors import CameraError, OfflineReason
from camera_adapters.onvif import probe_onvif
from camera_adapters.rtsp import RtspSession, redact, with_credentials
from hub.ingest.backoff import Backoff
from hub.ingest.fanout import PacketFanout, StreamStarted, StreamStopped
from hub.ingest.stats import StatsMeter
from hub.ingest.threads import run_in_thread

log = logging.getLogger(__name__)

_STOP_GRACE_S: Final = 2.0  # beyond the read timeout, for the reader thread to notice a stop


class CameraState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CameraStatus:
    state: CameraState
    since: float  # UTC epoch seconds
    reason: OfflineReason | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class OnvifSource:
    host: str
    port: int
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class CameraSource:
    """Where a camera's main stream comes from: a fixed URL or whatever ONVIF says."""

    rtsp_url: str | None = None
    username: str | None = None
    password: str | None = None
    onvif: OnvifSource | None = None


class StatusListener(Protocol):
    def status_changed(self, camera_id: str, status: CameraStatus) -> None: ...


@dataclass(frozen=True, slots=True)
class IngestTimings:
    open_timeout_s: float = 5.0
    transport: str = "tcp"


class CameraSupervisor:
    def __init__(
        self,
        camera_id: str,
        source: CameraSource,
        *,
        listener: StatusListener,
        backoff: Backoff,
        timings: IngestTimings,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.camera_id = camera_id
        self.fanout = PacketFanout()
        self.stats = StatsMeter()
        self._source = source
        self._listener = listener
        self._backoff = backoff
        self._timings = timings
        self._now = now
        self._stop = threading.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.status = CameraStatus(CameraState.STOPPED, since=now())
        self.connections = 0

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name=f"{self.camera_id}:ingest")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        self._wake.set()
        try:
            await asyncio.wait_for(task, self._timings.open_timeout_s + _STOP_GRACE_S)
        except TimeoutError:
            log.warning("%s: reader did not stop in time; abandoning its thread", self.camera_id)
        self._set(CameraStatus(CameraState.STOPPED, since=self._now()))

    def _set(self, status: CameraStatus) -> None:
        previous = self.status
        if (previous.state, previous.reason) == (status.state, status.reason):
            return
        self.status = status
        if status.state is CameraState.OFFLINE:
            level = logging.WARNING if previous.state is not CameraState.OFFLINE else logging.DEBUG
            log.log(level, "%s offline (%s): %s", self.camera_id, status.reason, status.detail)
        else:
            log.info("%s %s", self.camera_id, status.state)
        self._listener.status_changed(self.camera_id, status)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            self._set(CameraStatus(CameraState.CONNECTING, since=self._now()))
            longest = False
            try:
                url = await self._resolve_url()
                self.connections += 1
                await run_in_thread(
                    functools.partial(self._pump, url, loop), name=f"{self.camera_id}:reader"
                )
                reason, detail = OfflineReason.STREAM_ENDED, "stream ended"
            except CameraError as exc:
                reason, detail, longest = exc.reason, str(exc), exc.needs_person
            except Exception as exc:  # never give up on a camera over an unforeseen error
                log.exception("%s: unexpected ingest failure", self.camera_id)
                reason, detail = OfflineReason.ERROR, f"{type(exc).__name__}: {exc}"
            self.stats.reset_window()
            if self._stop.is_set():
                break
            self._set(CameraStatus(CameraState.OFFLINE, self._now(), reason, detail))
            delay = self._backoff.next_delay(longest=longest)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _resolve_url(self) -> str:
        src = self._source
        if src.onvif is not None:
            info = await probe_onvif(
                src.onvif.host,
                src.onvif.port,
                src.onvif.username,
                src.onvif.password,
                timeout=self._timings.open_timeout_s,
            )
            return with_credentials(
                info.main_profile().stream_uri, src.onvif.username, src.onvif.password
            )
        if src.rtsp_url is None:
            raise CameraError(f"{self.camera_id}: no stream source configured")
        return with_credentials(src.rtsp_url, src.username, src.password)

    def _pump(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: open, publish every packet, return or raise when the stream stops."""
        log.debug("%s: opening %s", self.camera_id, redact(url))
        session = RtspSession(
            url, transport=self._timings.transport, timeout_s=self._timings.open_timeout_s
        )
        reason = OfflineReason.STREAM_ENDED
        try:
            self.fanout.publish(StreamStarted(session.info))
            first = True
            for packet in session.packets():
                self.stats.add(packet, self._now())
                self.fanout.publish(packet)
                if first:
                    first = False
                    loop.call_soon_threadsafe(self._went_online)
                if self._stop.is_set():
                    return
        except CameraError as exc:
            reason = exc.reason
            raise
        finally:
            self.fanout.publish(StreamStopped(reason))
            session.close()

    def _went_online(self) -> None:
        self._backoff.reset()
        self._set(CameraStatus(CameraState.ONLINE, since=self._now()))
