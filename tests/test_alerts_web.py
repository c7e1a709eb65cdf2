"""web/routes/alerts.py over real HTTP (uvicorn on 127.0.0.1): acknowledgement by API and by
the signed link, the alert log, channel health, the live stream (server-sent events), and the
caller's scope. Log-in itself is web.auth's (tests/test_scopes.py walks these routes too):
here the caller is set by overriding `alert_viewer` with `viewer_for` of a given user."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from hub.alerts import AlertService
from storage.db.database import Database
from storage.db.models_alerts import AlertState
from tests.alerting import hub_config, routing, seed_registry, violation
from tests.waiting import eventually
from web.auth import AuthUser, Role, Scope, ScopeKind, Via
from web.routes import alerts as alert_routes


def _user(scope: Scope, name: str) -> AuthUser:
    role = Role.DISTRICT_STAFF if scope.kind is ScopeKind.DISTRICT else Role.SCHOOL_PRINCIPAL
    return AuthUser(
        id=name,
        username=name,
        display_name=name,
        role=role,
        scope=scope,
        locale="zh-CN",
        via=Via.TOKEN,
        credential_id="t",
        csrf_token=None,
    )


CALLER: dict[str, AuthUser] = {}  # the test's current caller


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    config = hub_config(routing([{"type": "console"}]))
    await seed_registry(db, config)
    service = AlertService(config, db)
    await service.start()
    hub = SimpleNamespace(db=db, alerts=service, config=config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"hub": hub}

    app = FastAPI(lifespan=lifespan)
    app.include_router(alert_routes.router)
    CALLER["user"] = _user(Scope.district(), "desk")
    app.dependency_overrides[alert_routes.alert_viewer] = lambda: alert_routes.viewer_for(
        CALLER["user"], config
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="test:uvicorn")
    await eventually(lambda: bool(server.started), within=60, what="uvicorn to listen")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            yield client, hub
    finally:
        server.should_exit = True
        await task
        await service.stop()
        await db.stop()


async def _rat(hub: Any) -> str:
    async with hub.db.session() as session:
        event = await hub.alerts.raise_event(session, violation("dcxx-hot", "rat"))
        return str(event.id)


async def test_acknowledge_through_the_api(site: tuple[httpx.AsyncClient, Any]) -> None:
    client, hub = site
    event_id = await _rat(hub)
    answer = await client.post(f"/api/events/{event_id}/ack", json={"comment": "已处理"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["acknowledged_by"] == "desk" and body["already"] is False
    CALLER["user"] = _user(Scope.school("dcxx"), "wang")
    again = await client.post(f"/api/events/{event_id}/ack", json={})
    assert again.json()["already"] is True and again.json()["acknowledged_by"] == "desk"
    assert (await client.post("/api/events/nope/ack", json={})).status_code == 404
    log = (await client.get(f"/api/events/{event_id}/alerts")).json()
    assert [s["action"] for s in log["steps"]] == ["notified", "acknowledged"]
    assert log["steps"][1]["detail"] == "已处理" and log["messages"][0]["channel"] == "console"
    async with hub.db.session() as session:
        state = await session.get(AlertState, event_id)
        assert state.next_escalation_at is None


async def test_the_one_click_link_confirms_then_acknowledges(
    site: tuple[httpx.AsyncClient, Any],
) -> None:
    client, hub = site
    event_id = await _rat(hub)
    token = hub.alerts.signer.sign(event_id, who="dcxx-principal", now=hub.alerts.clock())
    page = await client.get(f"/ack/{token}")
    assert page.status_code == 200 and 'value="王校长"' in page.text  # a preview acks nothing
    async with hub.db.session() as session:
        assert (await session.get(AlertState, event_id)).next_escalation_at is not None
    done = await client.post(f"/ack/{token}", data={"by": "王校长", "comment": "已灭鼠"})
    assert done.status_code == 200 and "已由 王校长" in done.text
    log = (await client.get(f"/api/events/{event_id}/alerts")).json()
    ack = log["steps"][-1]
    assert (ack["actor"], ack["via"], ack["detail"]) == ("王校长", "link", "已灭鼠")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await client.get(f"/ack/{forged}")).status_code == 403
    assert (await client.post(f"/ack/{forged}", data={"by": "x"})).status_code == 403


async def test_other_schools_are_out_of_scope(site: tuple[httpx.AsyncClient, Any]) -> None:
    client, hub = site
    event_id = await _rat(hub)  # at dcxx
    for scope in (Scope.school("dcyey"), Scope.town("elsewhere")):
        CALLER["user"] = _user(scope, "other")
        assert (await client.post(f"/api/events/{event_id}/ack", json={})).status_code == 404
        assert (await client.get(f"/api/events/{event_id}/alerts")).status_code == 404
        assert (await client.get("/api/alerts/health")).status_code == 404  # district only
    CALLER["user"] = _user(Scope.town("dongcheng"), "town")
    assert (await client.get(f"/api/events/{event_id}/alerts")).status_code == 200


async def test_health_and_the_live_stream(site: tuple[httpx.AsyncClient, Any]) -> None:
    client, hub = site
    health = (await client.get("/api/alerts/health")).json()
    assert health["enabled"] is True
    assert [(c["name"], c["type"]) for c in health["channels"]] == [("console", "console")]
    CALLER["user"] = _user(Scope.school("dcxx"), "wang")
    async with client.stream("GET", "/api/alerts/stream") as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        async with hub.db.session() as session:  # another school's: not on this stream
            await hub.alerts.raise_event(session, violation("dcyey-hot", "rat"))
        event_id = await _rat(hub)
        async with asyncio.timeout(5):
            while not (line := await anext(lines)).startswith("data: "):
                pass
    payload = json.loads(line.removeprefix("data: "))
    assert payload["events"][0]["event_id"] == event_id
    assert payload["title"].startswith("【明厨亮灶告警】东城镇中心小学")
