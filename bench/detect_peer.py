"""The peer of bench/detect.py: what a user would script instead of the hub, and the terms
both sides are measured on.

One `ffmpeg -c copy -f segment` per camera (60 s MP4 segments, RTSP over TCP) plus
bench/ultralytics_streams.py, ultralytics' `.streams` prediction on the same RTSP URLs at 1
sample/s (vid_stride = fps x sample interval), imgsz 320, the model's .pt weights. Their CPU
is read from /proc/<pid>/stat over one window after ultralytics' first batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
import zipfile
from asyncio.subprocess import DEVNULL, PIPE, Process
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.ingest import proc_cpu_seconds, self_cpu_seconds
from bench.scenarios import REPO
from camera_adapters.simulator import CameraSimulator
from detectors.scenes.video import FPS

__all__ = [
    "CHECKPOINT",
    "IMGSZ",
    "SAMPLE_INTERVAL_S",
    "SEGMENT_S",
    "SETTLE_S",
    "SUSTAINED",
    "WEIGHTS",
    "PeerResult",
    "loadavg",
    "peer_weights",
    "row",
    "run_peer",
    "simulator_pid",
]

HERE = Path(__file__).resolve().parent
WEIGHTS = REPO / "detectors" / "models" / "bkhub-yolo11n.pt"
# No .pt beside the ONNX model yet: the training run's checkpoint (copied: training rewrites it).
CHECKPOINT = REPO.parent / "train" / "run" / "train" / "weights" / "last.pt"
SAMPLE_INTERVAL_S: Final = 1.0  # the "1 sample/s per camera"
IMGSZ: Final = 320  # the hub's detector.input_size default
SEGMENT_S: Final = 60  # hub and peer record 60 s segments
SETTLE_S: Final = 5.0  # after warm-up / READY, before the window opens
SUSTAINED: Final = 0.95  # judged samples/s of the asked rate that still count as keeping up
# LoadStreams opens the streams one by one, without retrying, while those already open decode
# every frame: on a loaded box a late one can time out. The whole start is tried again.
START_ATTEMPTS: Final = 3


def row(label: str, value: str) -> None:
    print(f"{label:<24}{value}")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def simulator_pid(sim: CameraSimulator) -> int:
    if sim.pid is None:
        raise SystemExit("the camera simulator is not running")
    return sim.pid


def peer_weights(given: Path | None, tmp: Path) -> Path:
    """--weights, else the .pt beside the ONNX model, else a sound copy of the checkpoint."""
    if given is not None:
        return given.resolve()
    if WEIGHTS.is_file():
        return WEIGHTS
    if not CHECKPOINT.is_file():
        raise SystemExit(f"no weights: neither {WEIGHTS} nor {CHECKPOINT}; pass --weights")
    copy = tmp / CHECKPOINT.name
    for _ in range(5):  # training may be rewriting it: a torch checkpoint is a zip, check it
        shutil.copyfile(CHECKPOINT, copy)
        with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(copy) as archive:
            if archive.testzip() is None:
                return copy
        time.sleep(2)
    raise SystemExit(f"{CHECKPOINT} stayed unreadable (being written?); pass --weights")


@dataclass(slots=True)
class _Progress:
    """What ultralytics_streams.py said on stdout: READY, then images predicted over time."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # stdout closed
    torch_threads: str = "?"
    points: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, images)
    # LoadStreams' "Waiting for stream <i>": a batch waits for a new picture of every stream.
    waits: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, stream)

    def rate(self, start: float, end: float) -> float:
        """Images per second in [start, end]: between the first and last batch in it when
        there are two, else from the counts at its two ends."""
        inside = [(t, n) for t, n in self.points if start <= t <= end]
        if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
            return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        at_start = max((n for t, n in self.points if t <= start), default=0)
        at_end = max((n for t, n in self.points if t <= end), default=0)
        return (at_end - at_start) / (end - start)


async def _follow(stdout: asyncio.StreamReader, progress: _Progress) -> None:
    try:
        async for raw in stdout:
            words = raw.decode(errors="replace").split()
            if words[:1] == ["READY"]:
                progress.torch_threads = words[-1].partition("=")[2] or "?"
                progress.ready.set()
            elif words[:1] == ["FRAMES"] and len(words) == 2 and words[1].isdigit():
                progress.points.append((time.monotonic(), int(words[1])))
            elif words[-3:-1] == ["for", "stream"] and words[-1].isdigit():
                progress.waits.append((time.monotonic(), int(words[-1])))
    finally:
        progress.ended.set()


@contextlib.asynccontextmanager
async def _child(cmd: list[str], log_path: Path) -> AsyncIterator[tuple[Process, _Progress]]:
    """ultralytics_streams.py running, its stdout followed; killed on the way out."""
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=PIPE, stderr=log)
    assert proc.stdout is not None
    progress = _Progress()
    reader = asyncio.create_task(_follow(proc.stdout, progress), name="ultralytics:stdout")
    try:
        yield proc, progress
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await reader


async def _ready(progress: _Progress) -> bool:
    """Waits for READY or the end of the child's output; True on READY."""
    waits = [
        asyncio.create_task(event.wait(), name=f"ultralytics:{name}")
        for name, event in (("ready", progress.ready), ("ended", progress.ended))
    ]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return progress.ready.is_set()


@dataclass(frozen=True, slots=True)
class PeerResult:
    recorders_cpu_per_camera: float  # % of one core, the ffmpeg processes' share
    ultralytics_cpu_per_camera: float  # % of one core
    ultralytics_cpu_per_sample: float  # CPU seconds per image predicted (inf: none)

    @property
    def cpu_per_camera(self) -> float:
        return self.recorders_cpu_per_camera + self.ultralytics_cpu_per_camera


@contextlib.asynccontextmanager
async def _recorders(urls: list[str], root: Path) -> AsyncIterator[list[Process]]:
    """One `ffmpeg -c copy -f segment` per camera (60 s MP4 segments), as a user would record
    without the hub; killed on the way out."""
    procs: list[Process] = []
    try:
        for i, url in enumerate(urls):
            out = root / f"rec-{i:03d}"
            out.mkdir(parents=True)
            cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp"]
            cmd += ["-i", url, "-map", "0", "-c", "copy", "-f", "segment"]
            cmd += ["-segment_time", str(SEGMENT_S), "-segment_format", "mp4"]
            cmd += ["-reset_timestamps", "1", str(out / "%05d.mp4")]
            procs.append(await asyncio.create_subprocess_exec(*cmd, stdin=DEVNULL))
        yield procs
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


def _recording(root: Path, n: int) -> int:
    """How many of the peer's recorders have written a segment file."""
    return sum(1 for i in range(n) if any((root / f"rec-{i:03d}").glob("*.mp4")))


async def run_peer(
    sim: CameraSimulator,
    urls: list[str],
    tmp: Path,
    *,
    weights: Path,
    seconds: float,
    ready_timeout: float,
    transport: str,
) -> PeerResult | None:
    """Phase 2: ffmpeg recorders and ultralytics' streaming prediction on the same cameras,
    measured together (None: ultralytics never ran)."""
    n, sim_pid = len(urls), simulator_pid(sim)
    stride = round(FPS * SAMPLE_INTERVAL_S)
    streams = tmp / "cameras.streams"
    streams.write_text("\n".join(urls) + "\n")
    log_path = tmp / "ultralytics.log"
    script = HERE / "ultralytics_streams.py"
    cmd = [sys.executable, str(script), str(streams), "--weights", str(weights)]
    cmd += ["--vid-stride", str(stride), "--imgsz", str(IMGSZ), "--rtsp-transport", transport]
    print(
        f"-- peer: {n} x ffmpeg -c copy -f segment ({SEGMENT_S} s MP4) + ultralytics "
        f"model.predict(source=<.streams, {n} URLs>, stream=True, vid_stride={stride}, "
        f"imgsz={IMGSZ}) (subprocesses, torch, RTSP over {transport})"
    )
    row("weights", str(weights))
    # Ultralytics first: LoadStreams gives up on a stream whose first read fails, as it can
    # when it joins a shared simulator stream mid-GOP; the recorders then join its streams.
    for attempt in range(1, START_ATTEMPTS + 1):
        t0 = time.monotonic()
        async with _child(cmd, log_path) as (proc, progress):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ready_timeout):
                    await _ready(progress)
            if not progress.ready.is_set():
                after = time.monotonic() - t0
                _failed(f"attempt {attempt}: no first batch after {after:.0f} s", log_path)
                continue
            ready_after = time.monotonic() - t0
            async with _recorders(urls, tmp / "peer-recordings") as recorders:
                await asyncio.sleep(SETTLE_S)
                load0 = loadavg()
                wall0, cpu0 = time.monotonic(), proc_cpu_seconds(proc.pid)
                rec0 = {r.pid: proc_cpu_seconds(r.pid) for r in recorders}
                sim0, own0 = proc_cpu_seconds(sim_pid), self_cpu_seconds()
                await asyncio.sleep(seconds)
                wall1 = time.monotonic()
                if proc.returncode is not None or progress.ended.is_set():
                    _failed(f"ultralytics exited ({proc.returncode}) within the window", log_path)
                    return None
                cpu = proc_cpu_seconds(proc.pid) - cpu0
                alive = [r for r in recorders if r.returncode is None]
                rec_cpu = sum(proc_cpu_seconds(r.pid) - rec0[r.pid] for r in alive)
                dead = len(recorders) - len(alive)
                sim_cpu = proc_cpu_seconds(sim_pid) - sim0
                own_cpu = self_cpu_seconds() - own0
                writing = _recording(tmp / "peer-recordings", n)
        break
    else:
        return None
    wall = wall1 - wall0
    images = progress.rate(wall0, wall1) * wall
    asked = 1 / SAMPLE_INTERVAL_S
    rate = images / wall / n
    peer = PeerResult(
        recorders_cpu_per_camera=100 * rec_cpu / wall / n,
        ultralytics_cpu_per_camera=100 * cpu / wall / n,
        ultralytics_cpu_per_sample=cpu / images if images else float("inf"),
    )
    behind = "; falls behind: it decodes every frame" if rate < asked * SUSTAINED else ""
    row("load average", f"{load0} (1/5/15 min, at the window's start)")
    threads = f"torch threads {progress.torch_threads}: ultralytics sets OMP_NUM_THREADS=1"
    row("first batch after", f"{ready_after:.1f} s, attempt {attempt} ({threads})")
    row("window", f"{wall:.1f} s")
    row("recorders", f"{writing} of {n} writing segments, {dead} exited in the window")
    row("recorders CPU/camera", f"{peer.recorders_cpu_per_camera:.2f} % of one core")
    row("ultralytics CPU", f"{100 * cpu / wall:.1f} % of one core")
    row("ultralytics CPU/camera", f"{peer.ultralytics_cpu_per_camera:.2f} % of one core")
    row("peer CPU/camera", f"{peer.cpu_per_camera:.2f} % of one core (recorders + ultralytics)")
    row("images predicted/cam/s", f"{rate:.2f} (asked {asked:.2f}{behind})")
    # Keeping up, a batch waits for each stream's next sampled picture: that is the pacing.
    # Behind, the waits show which stream holds every batch up.
    waits = Counter(i for t, i in progress.waits if wall0 <= t <= wall1)
    if behind and waits:
        worst = ", ".join(f"stream {i} {k}x" for i, k in waits.most_common(3))
        row("batches held up by", f"{worst} (LoadStreams' 'Waiting for stream' warnings)")
    row(
        "CPU per predicted image",
        f"{1000 * peer.ultralytics_cpu_per_sample:.0f} ms" if images else "-",
    )
    row("simulator CPU/camera", f"{100 * sim_cpu / wall / n:.2f} % (separate process)")
    row("bench process CPU", f"{100 * own_cpu / wall:.1f} % of one core (hub stopped)")
    return peer


def _failed(what: str, log_path: Path) -> None:
    print(f"{what}; the end of its stderr:")
    tail = log_path.read_text(errors="replace").strip().splitlines()[-4:]
    print(*(f"  {line}" for line in tail), sep="\n")
