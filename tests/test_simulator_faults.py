"""The simulator's tamper faults (blur, cover, moved), read back by a real RTSP client."""

from __future__ import annotations

from collections.abc import Iterator

import av
import cv2
import numpy as np
import pytest

from camera_adapters import simulator as sim_pkg
from camera_adapters.simulator import CameraSimulator, Fault, SimulatorError
from camera_adapters.simulator.h264_annexb import split_access_units

OPTIONS = {"rtsp_transport": "tcp", "probesize": "32", "analyzeduration": "0", "timeout": "5000000"}


@pytest.fixture(scope="module")
def sim() -> Iterator[CameraSimulator]:
    with CameraSimulator(rtsp_port=0) as simulator:
        simulator.add_camera("cam-01", clip="people", sub_stream=True)
        yield simulator


def _last_luma(container: av.container.InputContainer, frames: int) -> np.ndarray:
    """The Y plane of the picture `frames` pictures on (past a fault switch)."""
    seen = 0
    for packet in container.demux(video=0):
        for frame in packet.decode():
            seen += 1
            if seen >= frames:
                return np.asarray(frame.to_ndarray(format="gray"))
    raise AssertionError("stream ended")


def test_variant_clips_are_whole_gops_with_parameter_sets() -> None:
    for name in ("720p", "360p"):
        for fault in ("blur", "cover", "moved"):
            path = sim_pkg.MEDIA_DIR / f"people-{name}.{fault}.h264"
            units = split_access_units(path.read_bytes())
            assert len(units) == 200
            assert [i for i, u in enumerate(units) if u.keyframe] == list(range(0, 200, 50))
            assert all(u.has_parameter_sets for u in units if u.keyframe)


def test_blur_cover_and_moved_change_the_picture_then_clear(sim: CameraSimulator) -> None:
    with av.open(sim.sub_url("cam-01") or "", options=OPTIONS) as container:
        healthy = _last_luma(container, 3)
        sharpness = cv2.Laplacian(healthy, cv2.CV_32F).var()
        sim.set_fault("cam-01", Fault.BLUR)
        blurred = _last_luma(container, 60)  # the switch waits for the next keyframe (<= 2 s)
        assert cv2.Laplacian(blurred, cv2.CV_32F).var() < 0.2 * sharpness
        sim.set_fault("cam-01", Fault.COVER)
        covered = _last_luma(container, 60)
        assert covered.std() < 10 < healthy.std() and 40 < covered.mean() < 100
        sim.set_fault("cam-01", Fault.MOVED)
        moved = _last_luma(container, 60)
        assert moved.std() > 40  # a real picture, just of another view
        sim.set_fault("cam-01", Fault.NONE)
        back = _last_luma(container, 60)
        assert cv2.Laplacian(back, cv2.CV_32F).var() > 0.5 * sharpness
    assert sim.cameras["cam-01"].fault is Fault.NONE


def test_tamper_faults_need_variant_clips(sim: CameraSimulator) -> None:
    # A clip without variants (here: the 360p clip given by path) refuses the faults.
    path = sim_pkg.MEDIA_DIR / "people-360p.blur.h264"
    sim.add_camera("plain", clip=path, sub_stream=False)
    try:
        with pytest.raises(SimulatorError, match="no cover clip"):
            sim.set_fault("plain", Fault.COVER)
        sim.set_fault("plain", Fault.BLACK)  # black works for any clip of a known size
    finally:
        sim.remove_camera("plain")
