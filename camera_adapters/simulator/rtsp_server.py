#!/usr/bin/python3
"""RTSP camera simulator process: loops H.264 clips on mounts, with injectable faults.

Runs under Debian's /usr/bin/python3 (GStreamer's gi bindings live there, not in the venv), so it
imports only the stdlib, gi and the stdlib-only Annex-B splitter next to it.

    /usr/bin/python3 rtsp_server.py --port PORT

Control: one JSON command per line on stdin, one JSON reply per line on stdout. The first stdout
line is {"ready": true, "port": N}. EOF on stdin (the parent died or closed it) exits.

Each mount is a shared media (one pipeline however many clients), fed from memory:
appsrc ! h264parse ! rtph264pay, with PTS = running time at the first push + n * frame duration,
so timestamps stay continuous across clip loops and fault switches. No decoding or encoding.
Each mount keeps a timeline: the wall-clock time at which a frame of its clip is shown, recorded
at every loop start and every jump, so a test can tell which clip second was live when.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from h264_annexb import split_access_units

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstApp, GstRtsp, GstRtspServer  # noqa: F401 (GstApp)
except (ImportError, ValueError) as exc:  # the Python side turns this into a clear error
    error = f"GStreamer RTSP server unavailable: {exc}"
    print(json.dumps({"ready": False, "missing": True, "error": error}))
    sys.exit(3)

# Picture faults switch the mount to a pre-rendered variant clip of the same size.
PICTURE_FAULTS = ("black", "blur", "cover", "moved")
FAULTS = ("none", "stop", "auth", "freeze", *PICTURE_FAULTS)
# One timer drives every mount: each tick pushes the frames that are due, so a late tick never
# shifts timestamps (they come from the frame counter) and 100 mounts cost 50 wakeups/s, not 2500.
TICK_MS = 20
# Push this far ahead of the running time so a slightly late tick does not starve the client.
LEAD_NS = 40 * Gst.MSECOND
# After a stall longer than this, jump the timestamps forward instead of bursting the backlog.
MAX_BEHIND_NS = Gst.SECOND
# Bounds what a prepared-but-unplayed media queues in its appsrc.
APPSRC_MAX_NS = 2 * Gst.SECOND
ANONYMOUS = "anonymous"
# Timeline anchors kept per mount: one per loop, so hours of a short clip.
TIMELINE_MAX = 4096


@dataclass(slots=True)
class Clip:
    """A clip's access units as ready-made buffers (shared read-only by every pipeline)."""

    buffers: list[Any]
    keyframes: list[bool]

    @classmethod
    def load(cls, path: str) -> Clip:
        with open(path, "rb") as fh:
            units = split_access_units(fh.read())
        if not units or not units[0].keyframe:
            raise ValueError(f"{path}: no access units, or the first one is not an IDR")
        return cls([Gst.Buffer.new_wrapped(u.data) for u in units], [u.keyframe for u in units])

    def next_keyframe(self, index: int) -> int:
        n = len(self.buffers)
        for step in range(n):
            if self.keyframes[(index + step) % n]:
                return (index + step) % n
        return 0


@dataclass(slots=True)
class Feeder:
    """Pushes one mount's frames into one prepared media's appsrc."""

    appsrc: Any
    mount: Mount
    frame_ns: int
    base_ns: int | None = None
    count: int = 0  # frames pushed so far: PTS = base + count * frame_ns
    pos: int = 0  # next access unit of the normal clip
    variant_pos: int = 0  # next access unit of the variant clip of a picture fault
    mode: str = "none"
    last_key: Any = None
    serial: int = 0  # tells this feeder's timeline anchors from other pipelines' of the mount
    last_frame: int | None = None  # clip index and PTS of the last normal frame pushed
    last_pts: int = 0

    def pump(self) -> bool:
        """Push every frame due by now; False once the pipeline is gone."""
        now = self.appsrc.get_current_running_time()
        if now == Gst.CLOCK_TIME_NONE:
            return True  # not playing yet
        if self.base_ns is None:
            self.base_ns = now
        if now - (self.base_ns + self.count * self.frame_ns) > MAX_BEHIND_NS:
            self.count = (now - self.base_ns) // self.frame_ns
        while self.base_ns + self.count * self.frame_ns <= now + LEAD_NS:
            buf = self._next_buffer().copy()
            buf.pts = buf.dts = self.base_ns + self.count * self.frame_ns
            self._mark(buf.pts, now)
            buf.duration = self.frame_ns
            self.count += 1
            if self.appsrc.push_buffer(buf) == Gst.FlowReturn.FLUSHING:
                return False
        return True

    def _mark(self, pts: int, now: int) -> None:
        """Anchor the timeline where the normal clip starts a loop or jumps (pos or PTS)."""
        if self.mode != "none":
            self.last_frame = None
            return
        frame = (self.pos - 1) % len(self.mount.clip.buffers)
        follows = (
            self.last_frame is not None
            and frame == self.last_frame + 1
            and pts == self.last_pts + self.frame_ns
        )
        if not follows:
            # The frame is shown at its PTS in running time; map that onto the wall clock.
            wall = time.time() + (pts - now) / Gst.SECOND
            self.mount.timeline.append((round(wall, 4), frame, self.serial))
        self.last_frame, self.last_pts = frame, pts

    def _next_buffer(self) -> Any:
        fault = self.mount.fault
        mode = fault if fault == "freeze" or fault in self.mount.variants else "none"
        if mode != self.mode:
            self._switch(mode)
        if mode == "freeze" and self.last_key is not None:
            return self.last_key
        variant = self.mount.variants.get(mode)
        if variant is not None:
            clip, idx = variant, self.variant_pos
            self.variant_pos = (idx + 1) % len(clip.buffers)
        else:
            clip, idx = self.mount.clip, self.pos
            self.pos = (idx + 1) % len(clip.buffers)
        if clip.keyframes[idx]:
            self.last_key = clip.buffers[idx]
        return clip.buffers[idx]

    def _switch(self, mode: str) -> None:
        # Every switch lands on an IDR, so the client never decodes against a foreign reference.
        if mode in self.mount.variants:
            self.variant_pos = 0
        elif mode == "none":
            self.pos = self.mount.clip.next_keyframe(self.pos)
        self.mode = mode


@dataclass(slots=True)
class Mount:
    path: str
    clip: Clip
    variants: dict[str, Clip]  # picture fault -> its clip
    fps: int
    factory: Any
    fault: str = "none"
    role: str = ANONYMOUS  # who may open it: anonymous or the role of its credentials
    mounted: bool = False
    feeders: list[Feeder] = field(default_factory=list)
    # (wall-clock s, clip frame index, feeder serial): frames run on from each anchor at fps
    timeline: deque[tuple[float, int, int]] = field(
        default_factory=lambda: deque(maxlen=TIMELINE_MAX)
    )
    feeders_made: int = 0


class Simulator:
    def __init__(self, port: int) -> None:
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(port))
        self.auth = GstRtspServer.RTSPAuth()
        anonymous = GstRtspServer.RTSPToken()
        anonymous.set_string("media.factory.role", ANONYMOUS)
        self.auth.set_default_token(anonymous)
        self.server.set_auth(self.auth)
        self.mount_points = self.server.get_mount_points()
        self.mounts: dict[str, Mount] = {}
        self.clips: dict[str, Clip] = {}
        self.roles: set[str] = set()  # every credential role ever added
        self.clients: dict[Any, str] = {}  # client -> request path
        self.server.connect("client-connected", self._on_client)
        self.loop = GLib.MainLoop()
        self._stdin_buf = b""

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> bool:
        """Serve until quit or stdin EOF; False if the port cannot be bound."""
        if self.server.attach(None) == 0:
            error = f"cannot listen on 127.0.0.1:{self.server.get_service()} (in use?)"
            self._reply({"ready": False, "error": error})
            return False
        GLib.timeout_add(TICK_MS, self._tick)
        GLib.io_add_watch(
            GLib.IOChannel.unix_new(sys.stdin.fileno()),
            GLib.PRIORITY_DEFAULT,
            GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
            self._on_stdin,
        )
        self._reply({"ready": True, "port": self.server.get_bound_port()})
        self.loop.run()
        return True

    def _tick(self) -> bool:
        for mount in self.mounts.values():
            mount.feeders = [f for f in mount.feeders if f.pump()]
        return True

    # -- control protocol --------------------------------------------------------------------

    def _on_stdin(self, _channel: Any, _condition: Any) -> bool:
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            self.loop.quit()
            return False
        self._stdin_buf += chunk
        *lines, self._stdin_buf = self._stdin_buf.split(b"\n")
        for line in lines:
            if line.strip():
                self._reply(self._handle(line))
        return True

    def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            cmd = json.loads(line)
            handler = getattr(self, f"_cmd_{cmd.get('cmd')}", None)
            if handler is None:
                raise ValueError(f"unknown command {cmd.get('cmd')!r}")
            return {"ok": True, **(handler(cmd) or {})}
        except Exception as exc:  # report every failure to the caller; keep serving
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    @staticmethod
    def _reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def _mount(self, cmd: dict[str, Any]) -> Mount:
        mount = self.mounts.get(cmd.get("path", ""))
        if mount is None:
            raise KeyError(f"no mount {cmd.get('path')!r}")
        return mount

    def _clip(self, path: str) -> Clip:
        if path not in self.clips:
            self.clips[path] = Clip.load(path)
        return self.clips[path]

    def _cmd_add(self, cmd: dict[str, Any]) -> None:
        path, fps = str(cmd["path"]), int(cmd.get("fps", 25))
        if not path.startswith("/") or path in self.mounts:
            raise ValueError(f"bad or duplicate mount path {path!r}")
        clip = self._clip(cmd["clip"])
        paths = dict(cmd.get("variants") or {})
        if cmd.get("black_clip"):  # the older form of the command
            paths.setdefault("black", cmd["black_clip"])
        variants = {f: self._clip(str(p)) for f, p in paths.items() if f in PICTURE_FAULTS}
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false"
            f" max-time={APPSRC_MAX_NS} leaky-type=downstream"
            f" caps=video/x-h264,stream-format=byte-stream,alignment=au,framerate={fps}/1"
            " ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        factory.set_shared(True)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
        mount = Mount(path, clip, variants, fps, factory)
        factory.connect("media-configure", self._on_media_configure, mount)
        self.mounts[path] = mount
        self._apply_permissions(mount)
        self._set_mounted(mount, True)

    def _cmd_remove(self, cmd: dict[str, Any]) -> None:
        mount = self._mount(cmd)
        self._set_mounted(mount, False)
        self._disconnect(mount)
        del self.mounts[mount.path]

    def _cmd_fault(self, cmd: dict[str, Any]) -> None:
        mount, fault = self._mount(cmd), cmd.get("fault")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        if fault in PICTURE_FAULTS and fault not in mount.variants:
            raise ValueError(f"{mount.path} has no {fault} clip")
        mount.fault = fault
        self._apply_permissions(mount)
        if fault in ("stop", "auth"):
            self._disconnect(mount)
        self._set_mounted(mount, fault != "stop")

    def _cmd_credentials(self, cmd: dict[str, Any]) -> None:
        mount = self._mount(cmd)
        user, password = str(cmd.get("username") or ""), str(cmd.get("password") or "")
        mount.role = self._add_credentials(user, password) if user else ANONYMOUS
        self._apply_permissions(mount)

    def _cmd_stats(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        counts = dict.fromkeys(self.mounts, 0)
        for path in self.clients.values():
            mount = self._mount_for(path)
            if mount is not None:
                counts[mount.path] += 1
        pipelines = {p: len(m.feeders) for p, m in self.mounts.items()}
        return {"clients": counts, "pipelines": pipelines}

    def _cmd_timeline(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"anchors": list(self._mount(cmd).timeline)}

    def _cmd_quit(self, _cmd: dict[str, Any]) -> None:
        GLib.idle_add(self.loop.quit)

    # -- mounts, auth, clients ---------------------------------------------------------------

    def _set_mounted(self, mount: Mount, mounted: bool) -> None:
        if mounted and not mount.mounted:
            self.mount_points.add_factory(mount.path, mount.factory)
        elif not mounted and mount.mounted:
            self.mount_points.remove_factory(mount.path)
        mount.mounted = mounted

    def _add_credentials(self, user: str, password: str) -> str:
        # One role per credential pair, so one mount's credentials never open another mount.
        role = "cred-" + hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()[:16]
        if role not in self.roles:
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", role)
            self.auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
            self.roles.add(role)
            for other in self.mounts.values():  # every mount must know the new role
                self._apply_permissions(other)
        return role

    def _apply_permissions(self, mount: Mount) -> None:
        # Everyone may *access* every mount (denied access is a 404); only the mount's role may
        # *construct* it, and a denied construct is a 401 with a Basic challenge, as cameras do.
        # A client sending valid credentials carries their role, so open mounts admit all roles.
        everyone = [ANONYMOUS, *sorted(self.roles)]
        if mount.fault == "auth":
            allowed: list[str] = []
        elif mount.role == ANONYMOUS:
            allowed = everyone
        else:
            allowed = [mount.role]
        permissions = GstRtspServer.RTSPPermissions()
        for role in everyone:
            permissions.add_permission_for_role(role, "media.factory.access", True)
            permissions.add_permission_for_role(role, "media.factory.construct", role in allowed)
        mount.factory.set_permissions(permissions)

    def _on_media_configure(self, _factory: Any, media: Any, mount: Mount) -> None:
        appsrc = media.get_element().get_by_name_recurse_up("src")
        mount.feeders_made += 1
        feeder = Feeder(appsrc, mount, Gst.SECOND // mount.fps, serial=mount.feeders_made)
        mount.feeders.append(feeder)
        # "unprepared" may come from a media thread; _tick owns the list, so hop to the loop.
        media.connect("unprepared", lambda _m: GLib.idle_add(self._drop_feeder, mount, feeder))

    @staticmethod
    def _drop_feeder(mount: Mount, feeder: Feeder) -> bool:
        if feeder in mount.feeders:
            mount.feeders.remove(feeder)
        return False  # one-shot idle callback

    def _on_client(self, _server: Any, client: Any) -> None:
        for request in ("describe-request", "setup-request", "play-request"):
            client.connect(request, self._on_request)
        client.connect("closed", lambda c: self.clients.pop(c, None))

    def _on_request(self, client: Any, ctx: Any) -> None:
        if ctx.uri is not None:
            self.clients[client] = ctx.uri.abspath

    def _mount_for(self, request_path: str) -> Mount | None:
        # SETUP addresses ".../stream=0"; pick the longest mount that is a path prefix.
        best = None
        for path, mount in self.mounts.items():
            matches = request_path.rstrip("/") == path or request_path.startswith(path + "/")
            if matches and (best is None or len(path) > len(best.path)):
                best = mount
        return best

    def _disconnect(self, mount: Mount) -> None:
        for client, path in list(self.clients.items()):
            if self._mount_for(path) is mount:
                self.clients.pop(client, None)
                client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="RTSP camera simulator (control on stdin)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop
    # (it closes our stdin), so a traceback here would only be noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Gst.init(None)
    sys.exit(0 if Simulator(args.port).run() else 2)


if __name__ == "__main__":
    main()
