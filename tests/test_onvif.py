"""probe_onvif against the simulator's ONVIF device stand-in (real HTTP, SOAP and RTSP)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import av
import cv2
import httpx
import numpy as np
import pytest

import camera_adapters.onvif as onvif_module
from camera_adapters.onvif import (
    OnvifAuthError,
    OnvifDeviceInfo,
    OnvifUnreachable,
    probe_onvif,
)
from camera_adapters.simulator import CameraSimulator, OnvifDeviceStandIn

HOST = "127.0.0.1"
USER, PASSWORD = "admin", "pw-0nvif"
RTSP_OPTIONS = {"rtsp_transport": "tcp", "probesize": "32", "analyzeduration": "0"}


@pytest.fixture(scope="module")
def sim() -> Iterator[CameraSimulator]:
    with CameraSimulator(rtsp_port=0) as simulator:
        simulator.add_onvif_device("cam-02", username=USER, password=PASSWORD, port=0)
        yield simulator


@pytest.fixture
async def device(
    sim: CameraSimulator, no_lingering_tasks: None
) -> AsyncIterator[OnvifDeviceStandIn]:
    device = sim.cameras["cam-02"].onvif
    assert device is not None
    yield device
    sim.set_clock_offset("cam-02", 0.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _first_picture(url: str) -> tuple[int, int]:
    # A generous socket timeout (µs): a loaded box can take seconds to set a session up.
    with av.open(url, options={**RTSP_OPTIONS, "timeout": "30000000"}) as container:
        for packet in container.demux(video=0):
            for frame in packet.decode():
                return frame.width, frame.height
    raise AssertionError(f"no picture from {url}")


def test_public_surface() -> None:
    assert set(onvif_module.__all__) == {
        "OnvifAuthError",
        "OnvifDeviceInfo",
        "OnvifError",
        "OnvifProfile",
        "OnvifProtocolError",
        "OnvifUnreachable",
        "probe_onvif",
    }


async def test_probe_reports_device_profiles_and_working_uris(
    sim: CameraSimulator, device: OnvifDeviceStandIn
) -> None:
    info = await probe_onvif(HOST, device.port, USER, PASSWORD)
    assert (info.model, info.serial) == ("SimCam-1", "SIM-cam-02")
    assert info.manufacturer and info.firmware
    main, sub = info.main_profile(), info.sub_profile()
    assert sub is not None
    assert (main.encoding, main.width, main.height, main.fps) == ("H264", 1280, 720, 25.0)
    assert (sub.width, sub.height) == (640, 360)
    assert (main.stream_uri, sub.stream_uri) == (sim.main_url("cam-02"), sim.sub_url("cam-02"))
    assert abs(info.clock_offset_s) < 2.0

    # URIs come back without credentials; the RTSP mounts take the ONVIF ones, as cameras do.
    for profile in (main, sub):
        with_creds = profile.stream_uri.replace("rtsp://", f"rtsp://{USER}:{PASSWORD}@")
        size = await asyncio.to_thread(_first_picture, with_creds)
        assert size == (profile.width, profile.height)

    assert main.snapshot_uri is not None
    async with httpx.AsyncClient() as client:
        reply = await client.get(main.snapshot_uri)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(reply.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert image.shape == (720, 1280, 3)


async def test_clock_offset_is_measured(sim: CameraSimulator, device: OnvifDeviceStandIn) -> None:
    sim.set_clock_offset("cam-02", 300.0)
    info = await probe_onvif(HOST, device.port, USER, PASSWORD)  # signing follows the clock
    assert info.clock_offset_s == pytest.approx(300.0, abs=2.0)


async def test_wrong_password_is_an_auth_error(device: OnvifDeviceStandIn) -> None:
    with pytest.raises(OnvifAuthError) as info:
        await probe_onvif(HOST, device.port, USER, "wrong")
    assert info.value.needs_person
    assert info.value.__cause__ is not None


async def test_closed_port_is_unreachable(no_lingering_tasks: None) -> None:
    with pytest.raises(OnvifUnreachable):
        await probe_onvif(HOST, _free_port(), USER, PASSWORD, timeout=5.0)


async def test_silent_device_times_out(no_lingering_tasks: None) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind((HOST, 0))
        listener.listen()
        with pytest.raises(OnvifUnreachable, match="timed out"):
            await probe_onvif(HOST, listener.getsockname()[1], USER, PASSWORD, timeout=1.0)


async def test_device_without_sub_stream(no_lingering_tasks: None) -> None:
    device = OnvifDeviceStandIn(
        "solo", "rtsp://127.0.0.1:1/solo/main", None, "", "", b"\xff\xd8\xff\xd9"
    ).start()
    try:
        info: OnvifDeviceInfo = await probe_onvif(HOST, device.port, "", "")
    finally:
        device.stop()
    assert [p.stream_uri for p in info.profiles] == ["rtsp://127.0.0.1:1/solo/main"]
    assert info.sub_profile() is None
