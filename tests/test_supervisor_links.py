"""Special supervisor links (特别监督员): who may make them, what they may watch, and their end.

The management and refusal tests run on the seeded camera-less district of tests/webapp.py
(both databases); the live tests on two simulated cameras in two schools, with real aiortc
viewers over loopback, so "the viewer is cut at expiry and revocation" is measured on a
connected peer that never hangs up by itself.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from hub.config import load_config
from storage.db.models import AuditEntry
from storage.db.models_links import SupervisorLink
from tests import test_live
from tests.waiting import eventually
from tests.webapp import (
    CAMERAS,
    District,
    WebApp,
    add_user,
    seed_district,
    serve_app,
    session_headers,
)
from web.auth import Role
from web.live.client import WhepViewer


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _as(web: WebApp, d: District, who: str) -> dict[str, str]:
    return await session_headers(web.auth, d.users[who])


async def _create(web: WebApp, headers: dict[str, str], school: str, **body: Any) -> Any:
    payload = {"name": "家长代表 张女士", "school": school, "expires_at": _later(days=7), **body}
    return await web.client.post("/api/supervisor-links", json=payload, headers=headers)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_who_may_create_links_for_which_school(web: WebApp) -> None:
    d = await seed_district(web)
    allowed = [
        ("principal-e1", "sch-e1"),
        ("town-e-staff", "sch-e2"),
        ("staff-x", "sch-d1"),
        ("admin-x", "sch-w1"),
    ]
    for who, school in allowed:
        r = await _create(web, await _as(web, d, who), school)
        assert r.status_code == 201, (who, school, r.text)
        link = r.json()
        assert link["state"] == "active" and link["created_by"] == who
        assert link["url"] == f"/watch.html#{link['secret']}" and link["secret"].startswith("bks_")
    refused = [
        ("principal-e1", "sch-e2", 404),  # another school of the same town
        ("town-e-staff", "sch-w1", 404),  # another town's school
        ("town-e-staff", "sch-d1", 404),  # a bureau-direct school
        ("manager-e1", "sch-e1", 403),  # the kitchen being watched hands out no links
        ("admin-x", "sch-nope", 404),
    ]
    for who, school, status in refused:
        r = await _create(web, await _as(web, d, who), school)
        assert r.status_code == status, (who, school, r.text)


async def test_expiry_is_bounded_and_tokens_cannot_mint_links(web: WebApp) -> None:
    d = await seed_district(web)
    headers = await _as(web, d, "principal-e1")
    for expires_at in (_later(seconds=-1), _later(days=90, minutes=1)):
        r = await _create(web, headers, "sch-e1", expires_at=expires_at)
        assert r.status_code == 422, r.text
    assert (await _create(web, headers, "sch-e1", expires_at=_later(days=89))).status_code == 201
    assert (await _create(web, headers, "sch-e1", name="   ")).status_code == 422
    # An API token of the same principal: the link would outlive the token's revocation.
    user = await web.auth.authenticate_session(
        (await web.auth.open_session(d.users["principal-e1"], client="t")).session_token
    )
    assert user is not None
    _, token = await web.auth.issue_token(user, "cli", 1)
    assert (await _create(web, _bearer(token), "sch-e1")).status_code == 403


async def test_lists_are_scoped_and_the_secret_is_kept_as_a_hash_only(web: WebApp) -> None:
    d = await seed_district(web)
    made = (await _create(web, await _as(web, d, "principal-e1"), "sch-e1")).json()
    expected = {
        "principal-e1": {"sch-e1"},
        "town-e-staff": {"sch-e1", "sch-e2"},
        "town-w-staff": {"sch-w1"},
        "staff-x": set(CAMERAS),
    }
    for who, schools in expected.items():
        r = await web.client.get("/api/supervisor-links", headers=await _as(web, d, who))
        items = r.json()["items"]
        assert {i["school"] for i in items} == schools, who
        assert made["secret"] not in r.text and "secret" not in items[0]
    r = await web.client.get("/api/supervisor-links", headers=await _as(web, d, "manager-e1"))
    assert r.status_code == 403
    async with web.hub.db.session() as s:
        row = await s.get(SupervisorLink, made["id"])
    assert row is not None
    assert row.secret_hash == hashlib.sha256(made["secret"].encode()).hexdigest()


async def test_revoking_is_scoped_and_refuses_the_link_afterwards(web: WebApp) -> None:
    d = await seed_district(web)
    secret = d.link_secrets["sch-e1"]
    assert (await web.client.get("/api/watch", headers=_bearer(secret))).status_code == 200
    url = f"/api/supervisor-links/{d.links['sch-e1']}"
    other = await web.client.delete(url, headers=await _as(web, d, "principal-e2"))
    assert other.status_code == 404
    assert (await web.client.get("/api/watch", headers=_bearer(secret))).status_code == 200
    headers = await _as(web, d, "town-e-staff")
    assert (await web.client.delete(url, headers=headers)).status_code == 204
    assert (await web.client.delete(url, headers=headers)).status_code == 204  # no-op
    r = await web.client.get("/api/watch", headers=_bearer(secret))
    assert r.status_code == 401 and r.json()["error"]["code"] == "link_revoked"
    assert r.json()["error"]["message_zh"] == "链接已被撤销"
    listed = (await web.client.get("/api/supervisor-links", headers=headers)).json()["items"]
    row = next(i for i in listed if i["id"] == d.links["sch-e1"])
    assert row["state"] == "revoked" and row["revoked_by"] == "town-e-staff"
    async with web.hub.db.session() as s:
        actions = [
            (a.actor, a.action)
            for a in await s.scalars(
                select(AuditEntry).where(AuditEntry.action.like("supervisor%"))
            )
        ]
    assert actions.count(("town-e-staff", "supervisor_link_revoke")) == 1  # not for the no-op


async def test_a_link_watches_only_its_schools_live_views(web: WebApp) -> None:
    d = await seed_district(web)
    link = _bearer(d.link_secrets["sch-e1"])
    r = await web.client.get("/api/watch", headers=link)
    assert r.status_code == 200
    watch = r.json()
    assert watch["name"] == "监督员 sch-e1" and watch["school"]["id"] == "sch-e1"
    cameras = {c["id"] for k in watch["school"]["kitchens"] for c in k["cameras"]}
    assert cameras == set(CAMERAS["sch-e1"])
    assert (await web.client.get("/api/live/ice", headers=link)).status_code == 200
    sdp = {**link, "Content-Type": "application/sdp"}
    foreign = await web.client.post("/api/cameras/cam-w1a/whep", content="v=0", headers=sdp)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    # Its own camera passes the scope check (and is refused only for being disabled here).
    own = await web.client.post("/api/cameras/cam-e1a/whep", content="v=0", headers=sdp)
    assert own.json()["error"]["code"] == "unknown_camera"
    event, export = d.events["cam-e1a"], d.exports["cam-e1a"]
    for url in (
        "/api/events",
        f"/api/events/{event}",
        f"/api/events/{event}/snapshot",
        f"/api/events/{event}/clip",
        f"/api/exports/{export}",
        f"/api/exports/{export}/file",
        "/api/cameras",
        "/api/tree",
        "/api/live",
        "/api/audit",
        "/api/auth/me",
    ):
        r = await web.client.get(url, headers=link)
        assert r.status_code == 403 and r.json()["error"]["code"] == "supervisor_link", url
    r = await web.client.post(
        "/api/exports",
        json={"camera": "cam-e1a", "start": _later(hours=-2), "end": _later(hours=-1)},
        headers=link,
    )
    assert r.status_code == 403
    # A user's session is not a link: the watch page's route is for links only.
    r = await web.client.get("/api/watch", headers=await _as(web, d, "admin-x"))
    assert r.status_code == 403
    assert (await web.client.get("/api/watch")).status_code == 401
    r = await web.client.get("/api/watch", headers=_bearer("bks_made-up"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "link_invalid"


async def test_an_expired_link_is_refused(web: WebApp) -> None:
    d = await seed_district(web)
    # Far enough ahead that a busy machine still creates and uses it before it expires.
    expires = datetime.now(UTC) + timedelta(seconds=5)
    made = await _create(
        web, await _as(web, d, "principal-e1"), "sch-e1", expires_at=expires.isoformat()
    )
    link = _bearer(made.json()["secret"])
    assert (await web.client.get("/api/watch", headers=link)).status_code == 200
    await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.2)
    for method, url in (("GET", "/api/watch"), ("POST", "/api/cameras/cam-e1a/whep")):
        r = await web.client.request(method, url, headers=link)
        assert r.status_code == 401 and r.json()["error"]["code"] == "link_expired", url
        assert r.json()["error"]["message_zh"] == "链接已过期"
    r = await web.client.get("/api/supervisor-links", headers=await _as(web, d, "principal-e1"))
    assert {i["state"] for i in r.json()["items"]} == {"active", "expired"}


# -- live: two schools with one simulated camera each ------------------------------------------

loopback_ice = test_live.loopback_ice  # the fixture: ICE host candidates on 127.0.0.1 only


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    with CameraSimulator() as sim:
        for name in ("cam-a", "cam-b"):
            sim.add_camera(name, clip="people", sub_stream=False)
        yield sim


@dataclass
class Live:
    web: WebApp
    admin: dict[str, str]


@pytest.fixture
async def live(
    no_lingering_tasks: None, loopback_ice: None, simulator: CameraSimulator, tmp_path: Path
) -> AsyncIterator[Live]:
    def school(sid: str, town: str, camera: str) -> str:
        return (
            f"  - {{id: {sid}, name: 学校{sid}{town}, kind: primary, kitchens: [{{id: main, "
            f"name: 食堂}}], cameras: [{{id: {camera}, name: 热菜间, "
            f"rtsp_url: '{simulator.main_url(camera)}'}}]}}"
        )

    text = "\n".join(
        [
            "district: {id: test, name: 测试区}",
            "towns: [{id: t1, name: 东城镇}]",
            "schools:",
            school("sa", ", town: t1", "cam-a"),
            school("sb", "", "cam-b"),
            "ingest: {open_timeout_s: 3, backoff_initial_s: 0.2, backoff_max_s: 1}",
            "recording: {enabled: false, spool_dir: spool}",
            "storage: {object_store: {type: local, root: objects}}",
            f'database: {{url: "sqlite+aiosqlite:///{tmp_path / "hub.db"}"}}',
        ]
    )
    (tmp_path / "config.yaml").write_text(text + "\n", encoding="utf-8")
    async with serve_app(load_config(tmp_path / "config.yaml")) as web:
        admin = await add_user(web.auth, "admin-l", Role.DISTRICT_ADMIN, "district")
        yield Live(web, await session_headers(web.auth, admin))


async def _link(live: Live, school: str, **expiry: float) -> tuple[str, dict[str, str]]:
    payload = {"name": "家长代表 张女士", "school": school, "expires_at": _later(**expiry)}
    r = await live.web.client.post("/api/supervisor-links", json=payload, headers=live.admin)
    assert r.status_code == 201, r.text
    return r.json()["id"], _bearer(r.json()["secret"])


async def _watch(live: Live, camera: str, headers: dict[str, str]) -> tuple[WhepViewer, int]:
    viewer = WhepViewer()
    reply = await viewer.connect(live.web.client, f"/api/cameras/{camera}/whep", headers)
    if reply.status_code != 201:
        await viewer.close()
    return viewer, reply.status_code


async def _playing(live: Live, *, within: float, **expiry: float) -> tuple[str, Any, WhepViewer]:
    """A new link of school sa, and a viewer of its camera that has had video."""
    fanout = live.web.hub.cameras["cam-a"].supervisor.fanout
    await eventually(lambda: fanout.current is not None, within=60, what="cam-a online")
    link_id, link = await _link(live, "sa", **expiry)
    viewer, status = await _watch(live, "cam-a", link)
    assert status == 201
    try:
        await eventually(lambda: viewer.frames >= 10, within=within, what="video")
    except BaseException:
        await viewer.close()
        raise
    return link_id, link, viewer


async def test_a_link_views_its_school_audited_and_is_cut_on_revocation(live: Live) -> None:
    link_id, link, viewer = await _playing(live, within=60, days=1)
    try:
        _, status = await _watch(live, "cam-b", link)  # the other school's camera
        assert status == 404
        r = await live.web.client.delete(f"/api/supervisor-links/{link_id}", headers=live.admin)
        assert r.status_code == 204
        # Cut at once, by the hub: the viewer itself never hung up.
        assert live.web.live.count() == 0 and live.web.live.closed["revoked"] == 1
        _, status = await _watch(live, "cam-a", link)
        assert status == 401
    finally:
        await viewer.close()
    async with live.web.hub.db.session() as s:
        views = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "live_view")))
    assert [(a.actor, a.camera_id) for a in views] == [("supervisor:家长代表 张女士", "cam-a")]
    assert link_id in (views[0].detail or "")


async def test_a_connected_viewer_is_cut_when_its_link_expires(live: Live) -> None:
    _, _, viewer = await _playing(live, within=8, seconds=10)
    try:
        assert live.web.live.count() == 1
        await eventually(lambda: live.web.live.count() == 0, within=12, what="the cut at expiry")
        assert live.web.live.closed["expired"] == 1
        frames = viewer.frames
        await asyncio.sleep(1.0)
        assert viewer.frames <= frames + 2  # nothing more arrives (a frame may be in flight)
    finally:
        await viewer.close()


async def test_a_revocation_during_an_offer_leaves_no_viewer(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoked after the offer's link check, before its viewer exists: the route closes it."""
    link_id, link, viewer = await _playing(live, within=60, days=1)
    await viewer.close(live.web.client, link)
    real_open = live.web.live.open

    async def revoke_then_open(*args: Any, **kwargs: Any) -> Any:
        r = await live.web.client.delete(f"/api/supervisor-links/{link_id}", headers=live.admin)
        assert r.status_code == 204
        return await real_open(*args, **kwargs)

    monkeypatch.setattr(live.web.live, "open", revoke_then_open)
    late, status = await _watch(live, "cam-a", link)
    assert status == 401
    await eventually(lambda: live.web.live.count() == 0, within=5, what="no viewer left")
    assert live.web.live.closed["revoked"] == 1
    await late.close()
