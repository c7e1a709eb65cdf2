"""Live view end to end: aiortc viewers <-> the hub's WHEP endpoint <-> simulated cameras.

Signalling goes through the real app (httpx's ASGI transport); media goes over UDP on
127.0.0.1 (aioice never offers loopback itself, so the `loopback_ice` fixture makes it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioice.ice
import aiortc.codecs
import aiortc.rtcrtpreceiver
import pytest
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from hub.config import HubConfig
from hub.ingest.fanout import PacketFanout
from storage.db.models import AuditEntry
from tests.hubconfig import load_test_config
from tests.waiting import eventually
from tests.webapp import WebApp, add_user, serve_app, session_headers
from web.auth import Role
from web.live.client import WhepViewer
from web.live.viewer_pool import ViewerPool

# A viewer not connected for this long is closed: long enough for fifty to connect on a busy box
# (ICE and DTLS for fifty peers took over 10 s with stress-ng beside the suite, and over 20 s
# for 4 of them with the suite's second worker and a model training beside it).
IDLE_S = 45.0
PER_CAMERA = 50
NAL_SLICES = (1, 5)  # coded slices: what an encoder would have produced anew


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """ICE host candidates on 127.0.0.1 only (ENVIRONMENT.md): nothing leaves the machine."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    with CameraSimulator() as sim:
        sim.add_camera("cam-1", clip="people")
        sim.add_camera("cam-2", clip="people", sub_stream=False)
        yield sim


def live_config(tmp_path: Path, sim: CameraSimulator) -> HubConfig:
    return load_test_config(
        tmp_path,
        [
            f"{{id: cam-1, name: 热菜间, rtsp_url: '{sim.main_url('cam-1')}', "
            f"sub_rtsp_url: '{sim.sub_url('cam-1')}'}}",
            f"{{id: cam-2, name: 凉菜间, rtsp_url: '{sim.main_url('cam-2')}'}}",
        ],
        backoff_max_s=1,
        recording=False,
        web=f"live: {{max_viewers_per_camera: {PER_CAMERA}, max_viewers_total: 60, "
        f"idle_timeout_s: {IDLE_S}}}",
    )


@dataclass
class LiveHub:
    web: WebApp
    sim: CameraSimulator
    headers: dict[str, str]
    username: str

    async def summary(self) -> dict[str, Any]:
        reply = await self.web.client.get("/api/live", headers=self.headers)
        assert reply.status_code == 200, reply.text
        summary: dict[str, Any] = reply.json()
        return summary

    def fanout(self, camera_id: str) -> PacketFanout:
        return self.web.hub.cameras[camera_id].supervisor.fanout

    async def viewer(self, camera_id: str = "cam-1", stream: str = "main") -> WhepViewer:
        viewer = WhepViewer()
        reply = await viewer.connect(
            self.web.client, f"/api/cameras/{camera_id}/whep?stream={stream}", self.headers
        )
        if reply.status_code != 201:
            await viewer.close()  # its peer would outlive the test
        assert reply.status_code == 201, reply.text
        return viewer


@pytest.fixture
async def hub(
    no_lingering_tasks: None, loopback_ice: None, simulator: CameraSimulator, tmp_path: Path
) -> AsyncIterator[LiveHub]:
    async with serve_app(live_config(tmp_path, simulator)) as web:
        admin = await add_user(web.auth, "admin-live", Role.DISTRICT_ADMIN, "district")
        yield LiveHub(web, simulator, await session_headers(web.auth, admin), "admin-live")


class _Capture:
    """Wraps aiortc's H.264 decoder on the viewer side to keep the bitstream it receives."""

    def __init__(self, decode: bool) -> None:
        self.decode = decode
        self.frames: list[bytes] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = aiortc.codecs.get_decoder
        capture = self

        class Decoder:
            def __init__(self, codec: Any) -> None:
                self._real = real(codec) if capture.decode else None

            def decode(self, encoded_frame: Any) -> list[Any]:
                capture.frames.append(bytes(encoded_frame.data))
                return self._real.decode(encoded_frame) if self._real else []

        monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", Decoder)


def _nal_units(data: bytes) -> list[bytes]:
    units = []
    for chunk in data.split(b"\x00\x00\x01"):
        unit = chunk.rstrip(b"\x00")  # a 4-byte start code leaves a 0 on the previous unit
        if unit:
            units.append(unit)
    return units


async def test_viewer_receives_the_cameras_own_h264(
    hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _Capture(decode=True)
    capture.install(monkeypatch)
    others = hub.fanout("cam-1").subscriber_count  # the hub's own consumers (health sampler)
    camera = hub.fanout("cam-1").subscribe("test:reference", maxsize=2000)
    await eventually(lambda: hub.fanout("cam-1").current is not None, within=60, what="online")
    viewer = await hub.viewer("cam-1", "main")
    try:
        assert viewer.stream == "main" and viewer.location
        await eventually(lambda: viewer.frames >= 25, within=60, what="a second of video")
        assert viewer.size == (1280, 720)
        summary = await hub.summary()
        assert summary["per_camera"] == {"cam-1": 1} and summary["sessions"][0]["connected"]
        async with hub.web.hub.db.session() as s:  # the audit log says who watched
            watched = list(
                await s.scalars(select(AuditEntry).where(AuditEntry.action == "live_view"))
            )
        assert [(a.camera_id, a.actor) for a in watched] == [("cam-1", hub.username)]
    finally:
        await viewer.close(hub.web.client, hub.headers)
    camera.close()
    sent: set[bytes] = set()
    while (item := camera.get(0)) is not None:
        if hasattr(item, "data"):
            sent.update(_nal_units(item.data))
    received = [u for f in capture.frames for u in _nal_units(f) if u[0] & 0x1F in NAL_SLICES]
    assert len(received) >= 25
    # Every coded slice the viewer got is byte for byte one the camera sent: no re-encode.
    assert all(unit in sent for unit in received)
    await eventually(_no_viewers(hub), within=30, what="the session to close")
    assert hub.fanout("cam-1").subscriber_count == others  # the viewer let go of the camera


def _no_viewers(hub: LiveHub) -> Any:
    async def check() -> bool:
        return bool((await hub.summary())["viewers"] == 0)

    return check


async def test_grid_tiles_get_the_sub_stream_pulled_once_on_demand(hub: LiveHub) -> None:
    await eventually(lambda: hub.fanout("cam-1").current is not None, within=60, what="online")
    assert hub.sim.stats()["/cam-1/sub"] == 0  # nobody watches the sub-stream yet
    tiles = [await hub.viewer("cam-1", "sub") for _ in range(3)]
    # A camera without a sub-stream serves its main stream to a tile instead.
    fallback = await hub.viewer("cam-2", "sub")
    try:
        assert [t.stream for t in tiles] == ["sub"] * 3 and fallback.stream == "main"
        await eventually(
            lambda: all(t.frames >= 5 for t in [*tiles, fallback]), within=60, what="video"
        )
        assert {t.size for t in tiles} == {(640, 360)} and fallback.size == (1280, 720)
        assert hub.sim.stats() == {"/cam-1/main": 1, "/cam-1/sub": 1, "/cam-2/main": 1}
    finally:
        for viewer in [*tiles, fallback]:
            await viewer.close(hub.web.client, hub.headers)
    # The last tile gone, the sub-stream session ends (after a short linger).
    await eventually(lambda: hub.sim.stats()["/cam-1/sub"] == 0, within=60, what="sub closed")
    assert hub.sim.stats()["/cam-1/main"] == 1


async def test_fifty_viewers_cost_one_rtsp_session_and_the_cap_holds(hub: LiveHub) -> None:
    # The viewers run in their own process: fifty peers on each side of one loop would starve it
    # on a busy box, and aioice would then close live peers whose consent answers came late.
    await eventually(lambda: hub.fanout("cam-1").current is not None, within=60, what="online")
    url = "/api/cameras/cam-1/whep"
    sdp = {"Content-Type": "application/sdp", **hub.headers}
    async with ViewerPool() as pool:
        offers = await pool.offers(PER_CAMERA + 1)
        # One more than the cap, all at once: the offers are ready, so the hub sees them within
        # moments, before any admitted peer could fail and free a place.
        replies = await asyncio.gather(
            *(hub.web.client.post(url, content=offer, headers=sdp) for offer in offers)
        )
        admitted = [i for i, reply in enumerate(replies) if reply.status_code == 201]
        try:
            refused = [reply for reply in replies if reply.status_code != 201]
            assert len(admitted) == PER_CAMERA and len(refused) == 1, [r.text for r in refused]
            assert refused[0].status_code == 503 and refused[0].headers["retry-after"]
            assert refused[0].json()["error"]["code"] == "viewer_limit"
            for i in admitted:
                await pool.answer(i, replies[i].text)

            # Every admitted viewer decodes a first picture. Not asserted: that all fifty stay;
            # on a starved box aioice may close a peer after its video came (consent checks
            # answered late for 30 s), which is what a lost peer should get.
            seen: dict[str, Any] = {}

            async def all_got_a_picture() -> bool:
                seen.update(await pool.stats())
                return all(seen["ttff"][i] is not None for i in admitted)

            try:
                await eventually(all_got_a_picture, within=90, what="every viewer's first picture")
            except AssertionError as exc:
                closed = dict(hub.web.live.closed)
                packets = sorted(seen["packets"][i] for i in admitted)
                raise AssertionError(f"{exc}: packets {packets}, closed {closed}") from None
            assert hub.sim.stats()["/cam-1/main"] == 1
        finally:
            deleted = await asyncio.gather(
                *(
                    hub.web.client.delete(replies[i].headers["location"], headers=hub.headers)
                    for i in admitted
                )
            )
    # 404: a session the hub had already closed.
    assert {reply.status_code for reply in deleted} <= {204, 404}
    await eventually(_no_viewers(hub), within=30, what="every session closed")


async def test_unfinished_and_vanished_viewers_are_closed(hub: LiveHub) -> None:
    others = {cam: hub.fanout(cam).subscriber_count for cam in ("cam-1", "cam-2")}
    # An offer whose answer is never used: the viewer never connects, and idles out.
    idle = WhepViewer()
    await hub.web.client.post(
        "/api/cameras/cam-1/whep",
        content=await idle.offer(),
        headers={"Content-Type": "application/sdp", **hub.headers},
    )
    # A page that goes away without its DELETE: its connection closes, and so does the viewer.
    gone = await hub.viewer("cam-2", "main")
    await eventually(lambda: gone.frames > 0, within=60, what="video")
    assert (await hub.summary())["viewers"] == 2
    await gone.close()  # no DELETE
    await eventually(
        lambda: _count(hub, {"cam-1": 1}), within=30, what="the vanished viewer to close"
    )
    await eventually(_no_viewers(hub), within=IDLE_S + 30, what="the idle viewer to close")
    await idle.close()
    # A closed viewer lets go of the camera's fan-out as its tasks finish, just after the
    # viewer count drops: wait for that too.
    await eventually(
        lambda: {cam: hub.fanout(cam).subscriber_count for cam in others} == others,
        within=30,
        what="the closed viewers to leave the fan-outs",
    )


async def _count(hub: LiveHub, expected: dict[str, int]) -> bool:
    return bool((await hub.summary())["per_camera"] == expected)


async def test_errors_are_json_and_sessions_belong_to_their_opener(hub: LiveHub) -> None:
    client, headers = hub.web.client, hub.headers
    offer = await (probe := WhepViewer()).offer()
    await probe.close()
    sdp = {"Content-Type": "application/sdp", **headers}
    cases = [
        ("/api/cameras/nope/whep", offer, sdp, 404, "not_found"),
        ("/api/cameras/cam-1/whep", offer, {**headers, "Content-Type": "text/plain"}, 415, None),
        ("/api/cameras/cam-1/whep", "v=0\r\nnonsense", sdp, 400, "bad_offer"),
        ("/api/cameras/cam-1/whep?stream=4k", offer, sdp, 422, "validation_error"),
    ]
    for url, body, hdrs, status, code in cases:
        reply = await client.post(url, content=body, headers=hdrs)
        assert reply.status_code == status, (url, reply.text)
        assert code is None or reply.json()["error"]["code"] == code
    no_csrf = {k: v for k, v in sdp.items() if k != "X-CSRF-Token"}
    assert (
        await client.post("/api/cameras/cam-1/whep", content=offer, headers=no_csrf)
    ).status_code == 403
    assert (await client.post("/api/cameras/cam-1/whep", content=offer)).status_code == 401

    viewer = await hub.viewer("cam-1", "main")
    # Connected first: aioice starts a consent task if ICE completes after a close.
    await eventually(lambda: viewer.frames > 0, within=60, what="video")
    other_id = await add_user(hub.web.auth, "staff-live", Role.DISTRICT_STAFF, "district")
    other = await session_headers(hub.web.auth, other_id)
    assert viewer.location is not None
    assert (await client.delete(viewer.location, headers=other)).status_code == 404
    assert (await client.delete(viewer.location, headers=headers)).status_code == 204
    assert (await client.delete(viewer.location, headers=headers)).status_code == 404
    await viewer.close()
