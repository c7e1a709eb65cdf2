"""CameraSimulator: looping RTSP cameras (and ONVIF stand-ins) on 127.0.0.1, with faults.

The RTSP side is a child process under Debian's python3 (GStreamer); this class is its sync
remote control, usable from tests, the CLI and the demo. It remembers every camera, so
``restart()`` brings back the same mounts, credentials and faults on the same port.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType, TracebackType

from ._process import SYSTEM_PYTHON, ServerProcess
from .errors import SimulatorError
from .media import PICTURE_FAULTS, ClipInfo, StreamClips, resolve_clips
from .onvif_device import OnvifDeviceStandIn

__all__ = ["CameraSimulator", "ClipAnchor", "Fault", "SimulatedCamera"]

HOST = "127.0.0.1"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Fault(StrEnum):
    NONE = "none"
    STOP = "stop"  # clients are cut off, new ones get 404
    AUTH = "auth"  # every credential is rejected (401), current clients are cut off
    FREEZE = "freeze"  # packets keep flowing, the picture does not change
    BLACK = "black"  # the picture turns black
    BLUR = "blur"  # the lens is out of focus
    COVER = "cover"  # something covers the lens: a dim, nearly uniform picture
    MOVED = "moved"  # the camera was turned: it sees another part of the room


@dataclass(frozen=True, slots=True)
class ClipAnchor:
    """Clip frame ``frame`` was live at ``wall_s`` (UTC epoch seconds); the frames after it
    follow at the clip's frame rate until the next anchor of the same ``feeder`` (a pipeline:
    a new one starts whenever the mount is prepared again, from frame 0)."""

    wall_s: float
    frame: int
    feeder: int


@dataclass(slots=True)
class SimulatedCamera:
    """What the simulator serves for one camera (read it; change it through the simulator)."""

    name: str
    clips: StreamClips
    fault: Fault = Fault.NONE
    credentials: tuple[str, str] | None = None
    onvif: OnvifDeviceStandIn | None = None

    @property
    def mounts(self) -> dict[str, ClipInfo]:
        paths = {f"/{self.name}/main": self.clips.main}
        if self.clips.sub is not None:
            paths[f"/{self.name}/sub"] = self.clips.sub
        return paths


class CameraSimulator:
    """Start, configure and break simulated cameras. Also a context manager (starts, stops)."""

    def __init__(self, rtsp_port: int = 0, *, python: str = SYSTEM_PYTHON) -> None:
        self._process = ServerProcess(rtsp_port, python=python)
        self._port = rtsp_port
        self._cameras: dict[str, SimulatedCamera] = {}
        self._started = False
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> CameraSimulator:
        """Spawn the RTSP server (idempotent); raises SimulatorError if GStreamer is missing."""
        with self._lock:
            if not self._started:
                self._port = self._process.start()
                self._started = True
            return self

    def stop(self) -> None:
        """Stop the RTSP server and every ONVIF stand-in (idempotent)."""
        with self._lock:
            for camera in self._cameras.values():
                if camera.onvif is not None:
                    camera.onvif.stop()
            self._cameras.clear()
            self._process.stop()
            self._started = False

    def kill(self) -> None:
        """Hard-kill the RTSP server, as a power cut would (ONVIF stand-ins keep answering)."""
        with self._lock:
            self._process.kill()

    def restart(self) -> None:
        """Start the RTSP server again on the same port with the same cameras and faults."""
        with self._lock:
            if not self._started:
                raise SimulatorError("restart() before start()")
            self._process.kill()
            self._process.start()
            for camera in self._cameras.values():
                self._mount(camera)

    def run_forever(self) -> None:
        """Block until the RTSP server exits (or KeyboardInterrupt); for CLI use."""
        while self._started:
            code = self._process.wait(1.0)
            if code is not None:
                raise SimulatorError(f"the RTSP simulator process exited (code {code})")

    def __enter__(self) -> CameraSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- cameras -----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The RTSP server process id, or None when it is not running."""
        return self._process.pid

    @property
    def rtsp_port(self) -> int:
        return self._port

    @property
    def cameras(self) -> Mapping[str, SimulatedCamera]:
        return MappingProxyType(self._cameras)

    def add_camera(
        self,
        name: str,
        clip: str | Path = "people",
        *,
        sub_stream: bool = True,
        sub_clip: str | Path | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> str:
        """Serve a camera at /<name>/main (and /<name>/sub); returns the main RTSP URL.

        ``clip`` is a named clip ("people") or an absolute path to a raw .h264 file. With a
        username the mounts require these RTSP credentials (basic auth).
        """
        if not _NAME_RE.match(name):
            raise SimulatorError(f"camera name {name!r}: use letters, digits, '.', '_', '-'")
        clips = resolve_clips(clip, sub_stream=sub_stream, sub_clip=sub_clip)
        camera = SimulatedCamera(name, clips)
        if username:
            camera.credentials = (username, password or "")
        with self._lock:
            self._require_started()
            if name in self._cameras:
                raise SimulatorError(f"camera {name!r} already exists")
            try:
                self._mount(camera)
            except SimulatorError:
                self._unmount(camera)
                raise
            self._cameras[name] = camera
        return self.main_url(name)

    def add_onvif_device(
        self,
        name: str,
        *,
        username: str,
        password: str,
        port: int = 0,
        clip: str | Path = "people",
        sub_stream: bool = True,
    ) -> OnvifDeviceStandIn:
        """A camera reached through ONVIF: RTSP mounts plus a started device stand-in.

        Like a real camera, its RTSP mounts take the same credentials as its ONVIF service.
        """
        self.add_camera(
            name, clip, sub_stream=sub_stream, username=username or None, password=password
        )
        camera = self._cameras[name]
        main, sub = camera.clips.main, camera.clips.sub
        device = OnvifDeviceStandIn(
            name,
            self.main_url(name),
            self.sub_url(name),
            username,
            password,
            main.snapshot_jpeg(),
            port,
            main_size=(main.width, main.height),
            sub_size=(sub.width, sub.height) if sub is not None else (main.width, main.height),
            fps=main.fps,
        )
        try:
            device.start()
        except OSError as exc:
            self.remove_camera(name)
            raise SimulatorError(f"ONVIF stand-in for {name} cannot listen: {exc}") from exc
        camera.onvif = device
        return device

    def remove_camera(self, name: str) -> None:
        with self._lock:
            camera = self._camera(name)
            self._unmount(camera)
            if camera.onvif is not None:
                camera.onvif.stop()
            del self._cameras[name]

    def main_url(self, name: str) -> str:
        self._camera(name)
        return f"rtsp://{HOST}:{self._port}/{name}/main"

    def sub_url(self, name: str) -> str | None:
        camera = self._camera(name)
        return None if camera.clips.sub is None else f"rtsp://{HOST}:{self._port}/{name}/sub"

    # -- faults ------------------------------------------------------------------------------

    def set_fault(self, name: str, fault: Fault | str) -> None:
        """Apply a fault to the camera's main and sub streams (``Fault.NONE`` clears it)."""
        fault = Fault(fault)
        with self._lock:
            camera = self._camera(name)
            if fault in PICTURE_FAULTS and any(
                fault not in c.variants for c in camera.mounts.values()
            ):
                raise SimulatorError(f"{name}: no {fault} clip matches its clips")
            camera.fault = fault
            for path in self._live_mounts(camera):
                self._process.command("fault", path=path, fault=fault.value)
            if camera.onvif is not None:
                camera.onvif.snapshot_jpeg = camera.clips.main.snapshot_jpeg(fault=fault.value)

    def set_credentials(self, name: str, username: str, password: str) -> None:
        """Require these RTSP credentials on the camera's mounts (empty username: open)."""
        with self._lock:
            camera = self._camera(name)
            camera.credentials = (username, password) if username else None
            for path in self._live_mounts(camera):
                self._process.command(
                    "credentials", path=path, username=username, password=password
                )

    def set_clock_offset(self, name: str, seconds: float) -> None:
        """Make an ONVIF camera's clock run ``seconds`` ahead of true UTC (negative: behind)."""
        device = self._camera(name).onvif
        if device is None:
            raise SimulatorError(f"camera {name!r} has no ONVIF device")
        device.clock_offset_s = float(seconds)

    def timeline(self, name: str, *, sub: bool = False) -> list[ClipAnchor]:
        """When each loop of the camera's clip (main, or sub) started, and every jump in it."""
        path = f"/{self._camera(name).name}/{'sub' if sub else 'main'}"
        anchors = self._process.command("timeline", path=path)["anchors"]
        return [ClipAnchor(float(w), int(f), int(s)) for w, f, s in anchors]

    def stats(self) -> dict[str, int]:
        """Connected RTSP clients per mount path."""
        clients = self._process.command("stats")["clients"]
        return {str(path): int(count) for path, count in clients.items()}

    # -- internals ---------------------------------------------------------------------------

    def _mount(self, camera: SimulatedCamera) -> None:
        for path, clip in camera.mounts.items():
            variants = {fault: str(p) for fault, p in clip.variants.items()}
            self._process.command(
                "add", path=path, clip=str(clip.path), variants=variants, fps=clip.fps
            )
            if camera.credentials is not None:
                user, password = camera.credentials
                self._process.command("credentials", path=path, username=user, password=password)
            if camera.fault is not Fault.NONE:
                self._process.command("fault", path=path, fault=camera.fault.value)

    def _unmount(self, camera: SimulatedCamera) -> None:
        for path in self._live_mounts(camera):
            with contextlib.suppress(SimulatorError):  # never mounted (a failed add)
                self._process.command("remove", path=path)

    def _live_mounts(self, camera: SimulatedCamera) -> list[str]:
        # While kill()ed, changes are only remembered; restart() applies them.
        return list(camera.mounts) if self._process.alive else []

    def _camera(self, name: str) -> SimulatedCamera:
        try:
            return self._cameras[name]
        except KeyError:
            raise SimulatorError(f"no camera {name!r}") from None

    def _require_started(self) -> None:
        if not self._started:
            raise SimulatorError("call start() first")
