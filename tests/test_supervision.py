"""Supervision duties: inspection rounds with live evidence snapshots, accompany meals, the
compliance view; scope and bad input change nothing. And the compliance rules, pure."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from hub.config import (
    Duty,
    DutyPeriod,
    DutyRole,
    DutyRule,
    School,
    SchoolKind,
    SupervisionConfig,
)
from hub.sampling.frames import FrameMailbox, SampledFrame
from hub.supervision import DutyRecord, month_window, required_in_month, statuses
from storage.db.models import AuditEntry, Event
from storage.db.models_alerts import AlertState
from storage.db.models_supervision import AccompanyMeal, InspectionEvidence, InspectionRound
from tests.webapp import WebApp, seed_district, session_headers
from web.auth import Role

TZ = ZoneInfo("Asia/Shanghai")
ITEMS = ["环境卫生", "肉菜新鲜度", "索证索票", "食品加工", "伙食质量", "留样", "消毒",
         "剩饭剩菜处理", "学生满意度"]  # fmt: skip


def live_camera(web: WebApp, camera_id: str, *, age_s: float = 0.0) -> FrameMailbox:
    """Stand in for the camera's sampler (the test district's cameras are disabled): a
    mailbox the hub's evidence frames read, with one 640x360 frame in it."""
    mailbox = FrameMailbox(f"{camera_id}:evidence", 1, full_color=True)
    web.hub.frames.watch(camera_id, mailbox)
    offer(mailbox, camera_id, age_s=age_s)
    return mailbox


def offer(mailbox: FrameMailbox, camera_id: str, *, age_s: float = 0.0, level: int = 90) -> None:
    picture = np.full((360, 640, 3), level, np.uint8)
    gray = np.full((180, 320), level, np.uint8)
    mailbox.offer(
        SampledFrame(camera_id, time.time() - age_s, gray, picture[::4, ::4], (640, 360), picture)
    )


async def counts(web: WebApp) -> tuple[int, int, int]:
    async with web.hub.db.session() as s:
        return (
            await s.scalar(select(func.count()).select_from(InspectionRound)) or 0,
            await s.scalar(select(func.count()).select_from(InspectionEvidence)) or 0,
            await s.scalar(select(func.count()).select_from(AccompanyMeal)) or 0,
        )


def duty(rows: list[dict[str, Any]], school: str, rule: str) -> dict[str, Any]:
    return next(r for r in rows if r["school_id"] == school and r["rule_id"] == rule)


async def test_principal_does_a_remote_round_with_two_snapshots(web: WebApp) -> None:
    d = await seed_district(web)
    me = await session_headers(web.auth, d.users["principal-d1"])
    mailbox = live_camera(web, "cam-d1a")

    checklist = (await web.client.get("/api/supervision/checklist", headers=me)).json()
    assert checklist["items"] == ITEMS
    before = (await web.client.get("/api/supervision/compliance", headers=me)).json()
    assert {r["school_id"] for r in before} == {"sch-d1"}
    done_before = duty(before, "sch-d1", "principal-inspection")["done"]

    r = await web.client.post(
        "/api/supervision/rounds", json={"school_id": "sch-d1", "mode": "remote"}, headers=me
    )
    assert r.status_code == 201, r.text
    round_ = r.json()
    url = f"/api/supervision/rounds/{round_['id']}"
    assert round_["inspector"] == "principal-d1" and round_["missing"] == ITEMS

    shots = []
    for item, level in (("留样", 60), ("消毒", 200)):
        offer(mailbox, "cam-d1a", level=level)
        r = await web.client.post(
            f"{url}/snapshots", json={"camera_id": "cam-d1a", "item": item}, headers=me
        )
        assert r.status_code == 201, r.text
        shots.append(r.json())
    for shot, level in zip(shots, (60, 200), strict=True):
        image = await web.client.get(f"/api/supervision/evidence/{shot['id']}", headers=me)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        pixels = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
        assert pixels.shape == (360, 640, 3)
        assert abs(float(np.median(pixels)) - level) < 8  # this frame, not the other one
    keys = [k async for k in web.hub.store.list_keys("snapshots/sch-d1/cam-d1a/")]
    assert sum("-round-" in k for k in keys) == 2  # beside event snapshots: same retention

    r = await web.client.post(f"{url}/finish", headers=me)
    assert r.status_code == 422 and r.json()["error"]["code"] == "items_missing"
    for item in ITEMS:
        result = "fail" if item == "留样" else "pass"
        body = {
            "item": item,
            "result": result,
            "note": "留样不足 125 克" if result == "fail" else None,
        }
        r = await web.client.put(f"{url}/items", json=body, headers=me)
        assert r.status_code == 200, r.text
    r = await web.client.post(f"{url}/events", json={"event_id": d.events["cam-d1a"]}, headers=me)
    assert r.json()["event_ids"] == [d.events["cam-d1a"]]
    r = await web.client.post(f"{url}/finish", headers=me)
    assert r.status_code == 200 and r.json()["finished_at"] and r.json()["missing"] == []

    got = (await web.client.get(url, headers=me)).json()
    assert [i["item"] for i in got["items"]] == ITEMS
    assert [i["result"] for i in got["items"] if i["item"] == "留样"] == ["fail"]
    assert [e["item"] for e in got["evidence"]] == ["留样", "消毒"]
    r = await web.client.put(f"{url}/items", json={"item": "消毒", "result": "fail"}, headers=me)
    assert r.status_code == 409  # a finished round is final

    after = (await web.client.get("/api/supervision/compliance", headers=me)).json()
    row = duty(after, "sch-d1", "principal-inspection")
    assert row["done"] == done_before + 1 and row["required"] == 2
    assert row["by_person"]["principal-d1"] >= 1
    assert row["overdue"] == (row["done"] < row["due_by_now"])
    async with web.hub.db.session() as s:
        actions = list(
            await s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "principal-d1"))
        )
    assert actions.count("round_snapshot") == 2 and "round_finish" in actions


async def test_a_violation_found_on_a_round_is_raised_as_an_alerted_event(web: WebApp) -> None:
    d = await seed_district(web)
    me = await session_headers(web.auth, d.users["principal-d1"])
    live_camera(web, "cam-d1a")
    r = await web.client.post(
        "/api/supervision/rounds", json={"school_id": "sch-d1", "mode": "on_site"}, headers=me
    )
    url = f"/api/supervision/rounds/{r.json()['id']}"
    shot = (await web.client.post(f"{url}/snapshots", json={"camera_id": "cam-d1a"},
                                  headers=me)).json()  # fmt: skip
    before = await _manual_state(web)
    for body, status in [
        ({"type": "rat", "camera_id": "cam-e1a"}, 404),  # another school's camera
        ({"type": "rat", "evidence_id": "0" * 32}, 404),  # not a snapshot of this round
        ({"type": "cat"}, 422),
    ]:
        r = await web.client.post(f"{url}/manual-events", json=body, headers=me)
        assert r.status_code == status, (body, r.text)
        assert await _manual_state(web) == before
    other = await session_headers(web.auth, d.users["admin-x"])  # not the round's inspector
    r = await web.client.post(f"{url}/manual-events", json={"type": "rat"}, headers=other)
    assert r.status_code == 403 and await _manual_state(web) == before

    body = {"type": "no_mask", "evidence_id": shot["id"], "note": "切配间一人未戴口罩"}
    r = await web.client.post(f"{url}/manual-events", json=body, headers=me)
    assert r.status_code == 201, r.text
    (event_id,) = set(r.json()["event_ids"])
    event = (await web.client.get(f"/api/events/{event_id}", headers=me)).json()
    assert (event["type"], event["camera_id"], event["school_id"], event["has_snapshot"]) == (
        "no_mask", "cam-d1a", "sch-d1", True
    )  # fmt: skip
    assert event["detail"]["manual"] and event["detail"]["raised_by"] == "principal-d1"
    picture = await web.client.get(f"/api/events/{event_id}/snapshot", headers=me)
    evidence = await web.client.get(f"/api/supervision/evidence/{shot['id']}", headers=me)
    assert picture.status_code == 200 and picture.content == evidence.content
    async with web.hub.db.session() as s:
        alerted = await s.scalar(select(func.count(AlertState.event_id)).where(
            AlertState.event_id == event_id))  # fmt: skip
    assert alerted == 1  # alerted and escalated like the detector's events
    r = await web.client.post(f"{url}/finish", headers=me)
    assert r.status_code == 422  # the checklist still needs marking; the event stays


async def _manual_state(web: WebApp) -> tuple[int, int]:
    async with web.hub.db.session() as s:
        events = await s.scalar(select(func.count(Event.id)))
        audits = await s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "manual_event")
        )
    return int(events or 0), int(audits or 0)


async def test_accompany_meal_counts_for_the_principal(web: WebApp) -> None:
    d = await seed_district(web)
    me = await session_headers(web.auth, d.users["principal-d1"])
    today = datetime.now(TZ).date()
    body = {"school_id": "sch-d1", "meal_date": today.isoformat(), "meal": "lunch",
            "quality": 4, "satisfaction": 5, "note": "菜品新鲜"}  # fmt: skip
    r = await web.client.post("/api/supervision/meals", json=body, headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["person"] == "principal-d1"
    meals = (await web.client.get("/api/supervision/meals", headers=me)).json()
    assert [m["id"] for m in meals] == [r.json()["id"]]
    rows = (await web.client.get("/api/supervision/compliance", headers=me)).json()
    assert duty(rows, "sch-d1", "principal-meal")["done"] == 1
    assert duty(rows, "sch-d1", "leader-lunch")["done"] == 1  # a leader at today's lunch
    town = await session_headers(web.auth, d.users["town-e-staff"])
    rows = (await web.client.get("/api/supervision/compliance", headers=town)).json()
    assert {r["school_id"] for r in rows} == {"sch-e1", "sch-e2"}
    assert {r["rule_id"] for r in rows} >= {"town-inspection", "town-meal"}
    assert (await web.client.get("/api/supervision/meals", headers=town)).json() == []


async def test_scope_role_and_bad_input_change_nothing(web: WebApp) -> None:
    d = await seed_district(web)
    other = await session_headers(web.auth, d.users["principal-e1"])
    me = await session_headers(web.auth, d.users["principal-d1"])
    live_camera(web, "cam-d1a")
    live_camera(web, "cam-e1a")
    live_camera(web, "cam-w1a", age_s=120)  # the camera went down two minutes ago
    r = await web.client.post(
        "/api/supervision/rounds", json={"school_id": "sch-d1", "mode": "on_site"}, headers=me
    )
    url = f"/api/supervision/rounds/{r.json()['id']}"
    before = await counts(web)

    async def status(method: str, path: str, headers: dict[str, str], **kw: Any) -> int:
        response = await web.client.request(method, path, headers=headers, **kw)
        if response.status_code >= 400:
            assert response.json()["error"]["message_zh"], response.text
        return response.status_code

    meal = {"school_id": "sch-d1", "meal_date": "2026-11-30", "meal": "lunch",
            "quality": 3, "satisfaction": 3}  # fmt: skip
    cases: list[tuple[int, str, str, dict[str, str], dict[str, Any]]] = [
        (
            404,
            "POST",
            "/api/supervision/rounds",
            other,
            {"json": {"school_id": "sch-d1", "mode": "remote"}},
        ),
        (
            404,
            "POST",
            "/api/supervision/rounds",
            me,
            {"json": {"school_id": "nowhere", "mode": "remote"}},
        ),
        (404, "GET", url, other, {}),
        (404, "PUT", f"{url}/items", other, {"json": {"item": "留样", "result": "pass"}}),
        (404, "POST", f"{url}/snapshots", other, {"json": {"camera_id": "cam-d1a"}}),
        (404, "POST", f"{url}/snapshots", me, {"json": {"camera_id": "cam-e1a"}}),  # other school
        (404, "GET", f"/api/supervision/evidence/{d.evidence['sch-d1']}", other, {}),
        (404, "POST", f"{url}/events", me, {"json": {"event_id": d.events["cam-e1a"]}}),
        (404, "POST", "/api/supervision/meals", other, {"json": meal}),
        (
            422,
            "POST",
            "/api/supervision/rounds",
            me,
            {"json": {"school_id": "sch-d1", "mode": "video"}},
        ),
        (422, "PUT", f"{url}/items", me, {"json": {"item": "卫生", "result": "pass"}}),
        (422, "PUT", f"{url}/items", me, {"json": {"item": "留样", "result": "合格"}}),
        (
            422,
            "PUT",
            f"{url}/items",
            me,
            {"json": {"item": "留样", "result": "pass", "note": "a\x00"}},
        ),
        (422, "POST", f"{url}/snapshots", me, {"json": {"camera_id": "cam-d1a", "item": "卫生"}}),
        (422, "POST", f"{url}/finish", me, {}),
        (422, "POST", "/api/supervision/meals", me, {"json": {**meal, "quality": 6}}),
        (422, "POST", "/api/supervision/meals", me, {"json": {**meal, "meal": "supper"}}),
        (422, "POST", "/api/supervision/meals", me, {"json": {**meal, "meal_date": "2099-01-01"}}),
        (422, "GET", "/api/supervision/compliance", me, {"params": {"school": "SCH D1"}}),
        (404, "POST", f"{url}/snapshots", me, {"json": {"camera_id": "cam-none"}}),
    ]
    admin = await session_headers(web.auth, d.users["admin-x"])
    cases.append((403, "POST", "/api/supervision/meals", admin, {"json": meal}))  # not a duty role
    staff = await session_headers(web.auth, d.users["staff-x"])
    cases.append((403, "PUT", f"{url}/items", staff, {"json": {"item": "留样", "result": "pass"}}))
    got = [(await status(m, p, h, **kw), m, p) for _, m, p, h, kw in cases]
    assert [g[0] for g in got] == [c[0] for c in cases], got
    assert await counts(web) == before

    # A camera whose newest frame is stale has no live picture: nothing is stored.
    w1 = await session_headers(web.auth, d.users["principal-w1"])
    r = await web.client.post(
        "/api/supervision/rounds", json={"school_id": "sch-w1", "mode": "remote"}, headers=w1
    )
    w1_url = f"/api/supervision/rounds/{r.json()['id']}"
    r = await web.client.post(f"{w1_url}/snapshots", json={"camera_id": "cam-w1a"}, headers=w1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_live_picture"
    assert (await counts(web))[1] == before[1]


# -- the rules, pure ---------------------------------------------------------------------

DIRECT = School(id="d1", name="直属学校", kind=SchoolKind.PRIMARY)
TOWN_KG = School(id="k1", name="镇幼儿园", town="t1", kind=SchoolKind.KINDERGARTEN)
TWICE_A_WEEK = DutyRule(
    id="w", name="校长巡查", duty=Duty.INSPECTION, roles=(DutyRole.SCHOOL_PRINCIPAL,), times=2,
    per=DutyPeriod.WEEK,
)  # fmt: skip


def _record(at: datetime, school: str = "d1", role: str = "school_principal") -> DutyRecord:
    return DutyRecord(Duty.INSPECTION, school, "wang", role, at)


def test_pace_and_previous_period() -> None:
    thursday_2pm = datetime(2026, 12, 3, 14, 0, tzinfo=TZ)  # half the week gone: one due
    last_week = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    [behind] = statuses([DIRECT], [TWICE_A_WEEK], [_record(last_week)], thursday_2pm, TZ)
    assert (behind.done, behind.due_by_now, behind.overdue) == (0, 1, True)
    assert behind.window.start == datetime(2026, 11, 30, tzinfo=TZ)  # Monday, local midnight
    assert behind.previous_done == 1
    assert not behind.previous_met
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)
    records = [
        _record(monday),
        _record(monday, role="canteen_manager"),  # not a role of this rule
        _record(monday, school="k1"),  # another school
        _record(datetime(2026, 12, 7, 0, 0, tzinfo=TZ)),  # next week
    ]
    [on_pace] = statuses([DIRECT], [TWICE_A_WEEK], records, thursday_2pm, TZ)
    assert (on_pace.done, on_pace.overdue, on_pace.by_person) == (1, False, {"wang": 1})


def test_rules_cover_schools_by_filter_and_months_need_their_share() -> None:
    config_rules = {r.id: r for r in SupervisionConfig().duties}
    assert config_rules["principal-inspection"].covers(DIRECT)
    assert config_rules["principal-inspection"].covers(TOWN_KG)  # a kindergarten
    assert not config_rules["town-inspection"].covers(DIRECT)
    assert not config_rules["leader-meal"].covers(TOWN_KG)  # not boarding
    november = month_window(2026, 11, TZ)
    assert november.end - november.start == timedelta(days=30)
    assert required_in_month(TWICE_A_WEEK, november) == 9  # 2 x 30 / 7
    assert required_in_month(config_rules["manager-inspection"], november) == 30
    assert required_in_month(config_rules["town-inspection"], november) == 2


def test_duty_roles_are_account_roles() -> None:
    assert {r.value for r in DutyRole} <= {r.value for r in Role}


@pytest.mark.parametrize("when", [datetime(2026, 12, 31, 23, 59, tzinfo=TZ), datetime.now(UTC)])
def test_windows_hold_their_moment(when: datetime) -> None:
    for per in DutyPeriod:
        [status] = statuses([DIRECT], [TWICE_A_WEEK.model_copy(update={"per": per})], [], when, TZ)
        assert when in status.window and status.previous.end == status.window.start
