"""The web app in-process for API tests: a camera-less district, seeded accounts and rows.

`serve_app` runs the real app factory and lifespan (hub, database, accounts) and talks to it
through httpx's ASGI transport: no sockets, no simulator (every camera is disabled).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import HubConfig, load_config
from hub.runtime import Hub
from storage.db.database import Database
from storage.db.models import AuditEntry, Event, Export
from storage.db.models_accounts import User
from storage.db.models_supervision import InspectionEvidence, InspectionRound
from storage.db.models_suppression import SuppressionZone
from storage.db.models_verdicts import Verdict
from web.app import create_app
from web.auth import CSRF_HEADER, SESSION_COOKIE, Auth, Role, Scope
from web.auth.links import issue_link
from web.live import LiveViewers

PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)

# Two towns with schools, and a bureau-direct school; ids never contain one another, so a
# foreign id found in a response body is a leak and not a coincidence.
TOWNS = {"town-e": ["sch-e1", "sch-e2"], "town-w": ["sch-w1"]}
DIRECT = ["sch-d1"]
CAMERAS = {
    "sch-e1": ["cam-e1a", "cam-e1b"],
    "sch-e2": ["cam-e2a"],
    "sch-w1": ["cam-w1a"],
    "sch-d1": ["cam-d1a"],
}
ACCOUNTS: dict[str, tuple[Role, str]] = {
    "admin-x": (Role.DISTRICT_ADMIN, "district"),
    "staff-x": (Role.DISTRICT_STAFF, "district"),
    "town-e-staff": (Role.TOWN_STAFF, "town:town-e"),
    "town-w-staff": (Role.TOWN_STAFF, "town:town-w"),
    "principal-e1": (Role.SCHOOL_PRINCIPAL, "school:sch-e1"),
    "manager-e1": (Role.CANTEEN_MANAGER, "school:sch-e1"),
    "principal-e2": (Role.SCHOOL_PRINCIPAL, "school:sch-e2"),
    "principal-w1": (Role.SCHOOL_PRINCIPAL, "school:sch-w1"),
    "principal-d1": (Role.SCHOOL_PRINCIPAL, "school:sch-d1"),
}


def district_config(tmp_path: Path, db_url: str, *, extra_web: str = "") -> HubConfig:
    schools = []
    for town, ids in [*TOWNS.items(), (None, DIRECT)]:
        for school in ids:
            cams = ", ".join(
                f"{{id: {c}, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:9/{c}', enabled: false}}"
                for c in CAMERAS[school]
            )
            town_line = f", town: {town}" if town else ""
            schools.append(
                f"  - {{id: {school}, name: 学校{school}, kind: primary{town_line}, "
                f"kitchens: [{{id: main, name: 食堂}}], cameras: [{cams}]}}"
            )
    text = "\n".join(
        [
            "district: {id: test, name: 测试区教育局}",
            "towns: [{id: town-e, name: 东城镇}, {id: town-w, name: 西城镇}]",
            "schools:",
            *schools,
            "recording: {spool_dir: spool}",
            "storage: {object_store: {type: local, root: objects}}",
            f'database: {{url: "{db_url}"}}',
            f"web: {{{extra_web}}}",
        ]
    )
    path = tmp_path / "config.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return load_config(path)


@dataclass
class WebApp:
    app: FastAPI
    client: httpx.AsyncClient
    hub: Hub
    auth: Auth
    live: LiveViewers
    asgi: Callable[[Any, Any, Any], Coroutine[Any, Any, None]]  # with the state; raw_request


@asynccontextmanager
async def serve_app(config: HubConfig) -> AsyncIterator[WebApp]:
    app = create_app(config)
    async with app.router.lifespan_context(app) as state:
        assert state is not None

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            # What uvicorn does: each request sees a shallow copy of the lifespan state.
            await app({**scope, "state": dict(state)}, receive, send)

        # Server errors come back as 500 responses, so a test can list them all.
        transport = httpx.ASGITransport(
            app=with_state, client=("10.0.0.7", 50000), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield WebApp(app, client, state["hub"], state["auth"], state["live"], with_state)


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    streaming: bool  # still sending when we hung up (a stream such as server-sent events)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(
    web: WebApp,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    params: dict[str, str] | None = None,
    read_s: float = 0.3,
) -> RawResponse:
    """One request straight through ASGI. Unlike httpx's transport it does not wait for the
    body to end: after the status it reads for `read_s` and hangs up, so a stream (SSE) that
    forgot its checks shows up as a 200 instead of hanging the test."""
    parts = urlsplit(url)
    query = parts.query or urlencode(params or {})
    body = b"" if json_body is None else json.dumps(json_body).encode()
    sent = {"host": "testserver", **(headers or {})}
    if json_body is not None:
        sent["content-type"] = "application/json"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(parts.path),
        "raw_path": parts.path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in sent.items()],
        "client": ("10.0.0.7", 50000),
        "server": ("testserver", 80),
    }
    started, finished, hang_up = asyncio.Event(), asyncio.Event(), asyncio.Event()
    status, asked = 0, False
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": body, "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            started.set()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                finished.set()

    task = asyncio.create_task(web.asgi(scope, receive, send), name=f"request {method} {url}")
    try:
        async with asyncio.timeout(60):
            while not started.is_set() and not task.done():
                await asyncio.wait([task], timeout=0.01)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(read_s):
                await finished.wait()
    finally:
        hang_up.set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await asyncio.shield(task)
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    return RawResponse(status, b"".join(chunks), streaming=not finished.is_set())


@cache
def password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


async def add_user(
    auth: Auth, username: str, role: Role, scope: str, *, disabled: bool = False
) -> str:
    user = User(
        id=secrets.token_hex(16),
        username=username,
        display_name=username,
        password_hash=password_hash(),
        role=role.value,
        scope=str(Scope.parse(scope)),
        locale="zh-CN",
        disabled=disabled,
        created_at=T0,
        updated_at=T0,
    )
    async with auth.db.session() as s:
        s.add(user)
    return user.id


async def session_headers(auth: Auth, user_id: str) -> dict[str, str]:
    """A fresh browser session (no password check): its cookie and CSRF header."""
    login = await auth.open_session(user_id, client="test")
    return {
        "Cookie": f"{SESSION_COOKIE}={login.session_token}",
        CSRF_HEADER: login.user.csrf_token or "",
    }


def school_of(camera: str) -> str:
    return next(s for s, cams in CAMERAS.items() if camera in cams)


def town_of(school: str) -> str | None:
    return next((t for t, schools in TOWNS.items() if school in schools), None)


@dataclass
class District:
    """What `seed_district` put in: ids by account name, camera and school."""

    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # account -> API token id
    events: dict[str, str] = field(default_factory=dict)  # camera -> event id
    exports: dict[str, str] = field(default_factory=dict)  # camera -> export id
    rounds: dict[str, str] = field(default_factory=dict)  # school -> inspection round id
    evidence: dict[str, str] = field(default_factory=dict)  # school -> evidence snapshot id
    links: dict[str, str] = field(default_factory=dict)  # school -> supervisor link id
    link_secrets: dict[str, str] = field(default_factory=dict)  # school -> its secret
    zones: dict[str, str] = field(default_factory=dict)  # school -> accepted suppression zone
    hub_event: str = ""  # a health event of the hub itself: no school, district only


async def seed_district(web: WebApp) -> District:
    seeded = District()
    for name, (role, scope) in ACCOUNTS.items():
        seeded.users[name] = await add_user(web.auth, name, role, scope)
    for name, user_id in seeded.users.items():
        user = await web.auth.authenticate_session(
            (await web.auth.open_session(user_id, client="seed")).session_token
        )
        assert user is not None
        row, _ = await web.auth.issue_token(user, f"{name} token", 30)
        seeded.tokens[name] = row.id
    for school in CAMERAS:  # a special supervisor link per school, valid for a month
        now = datetime.now(UTC)
        link, secret = await issue_link(
            web.hub.db, name=f"监督员 {school}", school_id=school,
            expires_at=now + timedelta(days=30), by="seed", now=now,
        )  # fmt: skip
        seeded.links[school], seeded.link_secrets[school] = link.id, secret
    snapshot = Path(web.hub.config.recording.spool_dir).parent / "snap.jpg"
    snapshot.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9")
    async with web.hub.db.session() as s:
        for n, (school, cams) in enumerate(CAMERAS.items()):
            for camera in cams:
                event = _event(camera, school, town_of(school), T0 + timedelta(minutes=n))
                event.snapshot_key = f"snapshots/{school}/{camera}/{event.id}.jpg"
                seeded.events[camera] = event.id
                s.add(event)
                export = _export(camera, T0)
                seeded.exports[camera] = export.id
                s.add(export)
                s.add(AuditEntry(at=T0, actor="system", action="spool_drop", camera_id=camera))
            seeded.rounds[school], seeded.evidence[school] = await _round(s, school, cams[0])
            zone = _zone(cams[0], school, town_of(school))
            seeded.zones[school] = zone.id
            s.add(zone)
        hub_event = _event(None, None, None, T0)
        hub_event.kind, hub_event.type = "health", "storage_failing"
        seeded.hub_event = hub_event.id
        s.add(hub_event)
    for camera, event_id in seeded.events.items():
        school = school_of(camera)
        key = f"snapshots/{school}/{camera}/{event_id}.jpg"
        await web.hub.store.put_file(key, snapshot, content_type="image/jpeg")
    for school, evidence_id in seeded.evidence.items():
        key = f"snapshots/{school}/{CAMERAS[school][0]}/round-{evidence_id}.jpg"
        await web.hub.store.put_file(key, snapshot, content_type="image/jpeg")
    return seeded


def _zone(camera: str, school: str, town: str | None) -> SuppressionZone:
    """An accepted suppression zone in the camera's top left corner (away from the drain
    of seed_false_alarms)."""
    return SuppressionZone(
        id=secrets.token_hex(16), camera_id=camera, school_id=school, town_id=town,
        type="rat", x1=0.02, y1=0.02, x2=0.12, y2=0.12, false_alarms=3, accepted=True,
        decided_by="seed", decided_at=T0,
    )  # fmt: skip


async def _round(s: AsyncSession, school: str, camera: str) -> tuple[str, str]:
    """A finished inspection round of the school's principal with one snapshot."""
    round_id, evidence_id = secrets.token_hex(16), secrets.token_hex(16)
    s.add(
        InspectionRound(
            id=round_id,
            school_id=school,
            town_id=town_of(school),
            inspector=next(
                name
                for name, (role, scope) in ACCOUNTS.items()
                if role is Role.SCHOOL_PRINCIPAL and scope == f"school:{school}"
            ),
            inspector_role=Role.SCHOOL_PRINCIPAL.value,
            mode="remote",
            started_at=T0,
            finished_at=T0 + timedelta(minutes=10),
        )
    )
    await s.flush()  # the evidence row refers to it
    s.add(
        InspectionEvidence(
            id=evidence_id,
            round_id=round_id,
            camera_id=camera,
            object_key=f"snapshots/{school}/{camera}/round-{evidence_id}.jpg",
            taken_at=T0,
        )
    )
    return round_id, evidence_id


def _event(camera: str | None, school: str | None, town: str | None, at: datetime) -> Event:
    return Event(
        id=secrets.token_hex(16),
        kind="violation",
        type="no_chef_hat",
        severity="warning",
        camera_id=camera,
        school_id=school,
        town_id=town,
        started_at=at,
        updated_at=at,
        confidence=0.9,
    )


def _export(camera: str, at: datetime) -> Export:
    export_id = secrets.token_hex(16)
    return Export(
        id=export_id,
        camera_id=camera,
        start_at=at,
        end_at=at + timedelta(minutes=1),
        media_start_at=at,
        media_end_at=at + timedelta(minutes=1),
        object_key=f"exports/{school_of(camera)}/{camera}/{export_id}.mp4",
        bytes=1,
        sha256="0" * 64,
        gaps="[]",
        created_at=at,
        expires_at=at + timedelta(days=3650),
    )


async def seed_false_alarms(
    db: Database, camera: str, school: str, town: str | None, n: int
) -> None:
    """n false-alarm verdicts on rat events at one place (the drain at x 0.4-0.5, y 0.7-0.8
    of a 1280 x 720 picture) of `camera`, in the last hours, as people give them."""
    now = datetime.now(UTC)
    detail = json.dumps({"evidence": [["rat", 0.8, 512, 504, 640, 576]], "frame_size": [1280, 720]})
    async with db.session() as s:
        for i in range(n):
            at = now - timedelta(hours=i + 1)
            event = Event(id=secrets.token_hex(16), kind="violation", type="rat",
                          severity="urgent", camera_id=camera, school_id=school, town_id=town,
                          started_at=at, updated_at=at, confidence=0.8, detail=detail)  # fmt: skip
            s.add(event)
            await s.flush()
            s.add(Verdict(id=secrets.token_hex(16), event_id=event.id, kind="false_alarm",
                          reason="wrong_object", type="rat", at=at, camera_id=camera,
                          school_id=school, town_id=town, given_by="manager-e1",
                          created_at=now))  # fmt: skip
