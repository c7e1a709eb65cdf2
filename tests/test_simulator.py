"""The camera simulator, read by a real RTSP client (PyAV/FFmpeg) on 127.0.0.1."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest

from camera_adapters import simulator as sim_pkg
from camera_adapters.simulator import CameraSimulator, Fault, SimulatorError
from camera_adapters.simulator.h264_annexb import split_access_units
from camera_adapters.simulator.make_media import encode_clip

# A 20 s socket timeout: on a loaded box the simulator can take seconds to answer a DESCRIBE.
OPTIONS = {
    "rtsp_transport": "tcp",
    "probesize": "32",
    "analyzeduration": "0",
    "timeout": "20000000",
}
FRAME = Fraction(1, 25)


@pytest.fixture
def sim() -> Iterator[CameraSimulator]:
    with CameraSimulator(rtsp_port=0) as simulator:
        simulator.add_camera("cam-01", clip="people", sub_stream=True)
        simulator.add_camera("cam-02", clip="people", sub_stream=True)
        yield simulator


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.96 s loop of 320x240, two 12-frame GOPs; each frame's brightness differs."""
    path = tmp_path_factory.mktemp("clips") / "tiny.h264"
    ramp = [np.full((360, 320), 16 + 8 * n, np.uint8) for n in range(24)]
    for plane in ramp:
        plane[240:] = 128  # neutral chroma
    frames = (av.VideoFrame.from_ndarray(p, format="yuv420p") for p in ramp)
    encode_clip(frames, path, width=320, height=240, bitrate=200_000, gop=12)
    return path


def _open(url: str) -> av.container.InputContainer:
    return av.open(url, options=OPTIONS)


def _packets(container: av.container.InputContainer, count: int) -> list[av.Packet[av.VideoStream]]:
    """The next `count` packets."""
    out: list[av.Packet[av.VideoStream]] = []
    for packet in container.demux(video=0):
        if packet.size:
            out.append(packet)
        if len(out) >= count:
            break
    return out


def _lumas(container: av.container.InputContainer, count: int) -> list[np.ndarray]:
    """Y planes of the next `count` decoded pictures."""
    planes: list[np.ndarray] = []
    for packet in container.demux(video=0):
        for frame in packet.decode():
            planes.append(frame.to_ndarray(format="yuv420p")[: frame.height])
        if len(planes) >= count:
            break
    return planes


def _assert_steady(packets: list[av.Packet[av.VideoStream]], gop: int) -> None:
    # FFmpeg's RTSP demuxer leaves the very first packet of a session without a timestamp.
    times = [p.pts * p.time_base for p in packets if p.pts is not None]
    assert len(times) >= len(packets) - 1
    assert all(b - a == FRAME for a, b in pairwise(times)), times
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert len(keys) >= 2, keys
    assert {b - a for a, b in pairwise(keys)} == {gop}


def _ends_soon(container: av.container.InputContainer, seconds: float = 30.0) -> bool:
    """True if the stream ends (EOF or I/O error) within `seconds`."""
    deadline = time.monotonic() + seconds
    try:
        for _ in container.demux(video=0):
            if time.monotonic() > deadline:
                return False
    except av.FFmpegError:
        pass
    return time.monotonic() <= deadline


def _open_fails(url: str) -> av.FFmpegError:
    with pytest.raises(av.FFmpegError) as info:
        _open(url).close()
    return info.value


def test_public_surface() -> None:
    assert set(sim_pkg.__all__) == {
        "MEDIA_DIR",
        "NAMED_CLIPS",
        "SAMPLE_VIDEOS",
        "CameraSimulator",
        "Fault",
        "OnvifDeviceStandIn",
        "SimulatedCamera",
        "SimulatorError",
    }


def test_committed_media_layout() -> None:
    for name, frames in [("people-720p", 600), ("people-360p", 600), ("black-720p", 50)]:
        units = split_access_units((sim_pkg.MEDIA_DIR / f"{name}.h264").read_bytes())
        assert len(units) == frames
        assert [i for i, u in enumerate(units) if u.keyframe] == list(range(0, frames, 50))
        assert all(u.has_parameter_sets for u in units if u.keyframe)


def test_main_and_sub_stream_timing_and_sharing(sim: CameraSimulator) -> None:
    main_url, sub_url = sim.main_url("cam-01"), sim.sub_url("cam-01")
    assert sub_url is not None
    # How fast they open is bench/ingest.py's business: on a loaded box it varies tenfold.
    main, second, sub = _open(main_url), _open(main_url), _open(sub_url)
    try:
        ctx = main.streams.video[0].codec_context
        assert (ctx.name, ctx.width, ctx.height) == ("h264", 1280, 720)
        sub_ctx = sub.streams.video[0].codec_context
        assert (sub_ctx.width, sub_ctx.height) == (640, 360)
        assert sim.stats() == {
            "/cam-01/main": 2,
            "/cam-01/sub": 1,
            "/cam-02/main": 0,
            "/cam-02/sub": 0,
        }
        _assert_steady(_packets(main, 60), gop=50)
        _assert_steady(_packets(sub, 55), gop=50)
        assert len(_packets(second, 5)) == 5  # a second client shares the running media
    finally:
        for container in (main, second, sub):
            container.close()


def test_loop_is_continuous(sim: CameraSimulator, tiny_clip: Path) -> None:
    url = sim.add_camera("tiny", clip=tiny_clip, sub_stream=False)
    assert sim.sub_url("tiny") is None
    with _open(url) as container:
        _assert_steady(_packets(container, 60), gop=12)  # 2.5 loops
        lumas = [float(y.mean()) for y in _lumas(container, 48)]
    # The pictures repeat with the clip's period: the loop seam is a clean jump back.
    assert lumas[:24] == pytest.approx(lumas[24:48], abs=1.0)
    assert max(lumas) - min(lumas) > 100


def test_stop_cuts_clients_and_refuses_until_cleared(sim: CameraSimulator) -> None:
    url = sim.main_url("cam-01")
    with _open(url) as container:
        _packets(container, 3)
        sim.set_fault("cam-01", Fault.STOP)
        assert _ends_soon(container)
    assert isinstance(_open_fails(url), av.error.HTTPNotFoundError)
    assert isinstance(_open_fails(str(sim.sub_url("cam-01"))), av.error.HTTPNotFoundError)
    with _open(sim.main_url("cam-02")) as other:  # other cameras are untouched
        assert _packets(other, 2)
    sim.set_fault("cam-01", "none")
    with _open(url) as container:
        assert len(_packets(container, 5)) == 5


def test_credentials_and_auth_fault(sim: CameraSimulator) -> None:
    url = sim.main_url("cam-01")
    with_creds = url.replace("rtsp://", "rtsp://viewer:s3cret@")
    sim.set_credentials("cam-01", "viewer", "s3cret")
    assert isinstance(_open_fails(url), av.error.HTTPUnauthorizedError)
    assert isinstance(
        _open_fails(url.replace("rtsp://", "rtsp://viewer:wrong@")), av.error.HTTPUnauthorizedError
    )
    with _open(with_creds) as container:
        assert _packets(container, 2)
        sim.set_fault("cam-01", Fault.AUTH)
        assert _ends_soon(container)
    assert isinstance(_open_fails(with_creds), av.error.HTTPUnauthorizedError)
    with _open(sim.main_url("cam-02")) as open_camera:  # an open mount stays open
        assert _packets(open_camera, 2)
    sim.set_fault("cam-01", Fault.NONE)
    with _open(with_creds) as container:
        assert _packets(container, 2)


def test_freeze_keeps_packets_flowing_with_a_still_picture(sim: CameraSimulator) -> None:
    with _open(sim.main_url("cam-01")) as container:
        moving = _lumas(container, 10)
        assert not all(np.array_equal(moving[0], y) for y in moving[1:])
        sim.set_fault("cam-01", Fault.FREEZE)
        _lumas(container, 5)  # let the switch pass through
        times = [p.pts * p.time_base for p in _packets(container, 10) if p.pts is not None]
        still = _lumas(container, 10)
    assert all(b - a == FRAME for a, b in pairwise(times))
    assert all(np.array_equal(still[0], y) for y in still[1:])


def test_black_picture_then_back(sim: CameraSimulator) -> None:
    with _open(sim.sub_url("cam-01") or "") as container:
        assert float(_lumas(container, 1)[0].mean()) > 60
        sim.set_fault("cam-01", Fault.BLACK)
        lumas = [float(y.mean()) for y in _lumas(container, 15)]
        assert lumas[-1] < 20
        sim.set_fault("cam-01", Fault.NONE)
        lumas = [float(y.mean()) for y in _lumas(container, 80)]
        assert lumas[-1] > 60  # back to the footage at its next keyframe (<= 2 s)


def test_kill_and_restart_on_the_same_port(sim: CameraSimulator) -> None:
    port = sim.rtsp_port
    sim.set_fault("cam-02", Fault.FREEZE)
    sim.kill()
    assert isinstance(_open_fails(sim.main_url("cam-01")), ConnectionRefusedError)
    with pytest.raises(SimulatorError):
        sim.stats()
    sim.restart()
    assert sim.rtsp_port == port
    with _open(sim.main_url("cam-01")) as container:
        assert len(_packets(container, 5)) == 5
    assert sim.cameras["cam-02"].fault is Fault.FREEZE


def test_remove_camera_cuts_its_clients(sim: CameraSimulator) -> None:
    url = sim.main_url("cam-02")
    with _open(url) as container:
        _packets(container, 2)
        sim.remove_camera("cam-02")
        assert _ends_soon(container)
    assert isinstance(_open_fails(url), av.error.HTTPNotFoundError)
    assert set(sim.cameras) == {"cam-01"}


def test_missing_gstreamer_is_a_clear_error() -> None:
    with pytest.raises(SimulatorError, match="apt-get install"):
        CameraSimulator(python=sys.executable).start()  # the venv's python has no gi


def test_unknown_names_and_clips_are_refused(sim: CameraSimulator) -> None:
    with pytest.raises(SimulatorError, match="already exists"):
        sim.add_camera("cam-01")
    with pytest.raises(SimulatorError, match="named clip"):
        sim.add_camera("cam-09", clip="no-such-clip")
    with pytest.raises(SimulatorError, match="camera name"):
        sim.add_camera("../etc")
    with pytest.raises(ValueError):
        sim.set_fault("cam-01", "melted")
    with pytest.raises(SimulatorError, match="no camera"):
        sim.set_fault("cam-99", Fault.STOP)
