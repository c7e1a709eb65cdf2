"""Verdicts: confirmed / false alarm on events, misses on cameras, scoped lists and false-alarm
rates, the hard-example copy of the unannotated frame; bad input changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from storage.db.models import AuditEntry, Event
from storage.db.models_verdicts import Verdict
from tests.webapp import (
    T0,
    District,
    WebApp,
    seed_district,
    session_headers,
)

FRAME = b"\xff\xd8\xff\xe0raw-frame\xff\xd9"
BOX = {"cls": "head_bare", "x1": 0.1, "y1": 0.2, "x2": 0.3, "y2": 0.5}


async def _with_frame(web: WebApp, event_id: str, tmp_path: Path) -> str:
    """Give the event an unannotated frame in the store, as the detector does."""
    path = tmp_path / "frame.jpg"
    path.write_bytes(FRAME)
    key = f"frames/{event_id}.jpg"
    await web.hub.store.put_file(key, path, content_type="image/jpeg")
    async with web.hub.db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.frame_key = key
        # The detector's box in pixels of its 128 x 72 frame, as hub.detection.events writes it.
        event.detail = json.dumps(
            {"evidence": [["head_bare", 0.91, 32, 18, 64, 54]], "frame_size": [128, 72]}
        )
    return key


async def _state(web: WebApp) -> tuple[Any, ...]:
    """What a refused request must leave as it was: verdict rows, their audit, the store."""
    async with web.hub.db.session() as s:
        rows = sorted((v.id, v.event_id, v.kind) for v in await s.scalars(select(Verdict)))
        audits = await s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "verdict")
        )
    keys = sorted([k async for k in web.hub.store.list_keys("hard-examples/")])
    return rows, audits, keys


async def _headers(web: WebApp, d: District, who: str) -> dict[str, str]:
    return await session_headers(web.auth, d.users[who])


async def test_a_false_alarm_keeps_the_unannotated_frame_and_is_audited(
    web: WebApp, tmp_path: Path
) -> None:
    d = await seed_district(web)
    event_id = d.events["cam-e1a"]
    await _with_frame(web, event_id, tmp_path)
    me = await _headers(web, d, "manager-e1")

    body = {"kind": "false_alarm", "reason": "wrong_object", "note": "是猫，不是老鼠"}
    r = await web.client.post(f"/api/events/{event_id}/verdict", json=body, headers=me)
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["kind"] == "false_alarm" and view["reason"] == "wrong_object"
    assert view["given_by"] == "manager-e1" and view["camera_id"] == "cam-e1a"
    assert view["school_id"] == "sch-e1" and view["town_id"] == "town-e"
    assert view["has_hard_example"] and view["labels"] == []

    async with web.hub.db.session() as s:
        row = await s.scalar(select(Verdict).where(Verdict.event_id == event_id))
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "verdict"))
    assert row is not None and row.hard_example_key is not None
    assert row.hard_example_key.startswith("hard-examples/sch-e1/cam-e1a/2026-11-30/")
    assert await web.hub.store.read_bytes(row.hard_example_key) == FRAME
    assert entry is not None and (entry.actor, entry.camera_id) == ("manager-e1", "cam-e1a")
    assert entry.object_key == row.hard_example_key

    # A confirmation with a corrected box, on an event without a kept frame.
    other = d.events["cam-e1b"]
    body = {"kind": "confirmed", "labels": [BOX]}
    r = await web.client.post(f"/api/events/{other}/verdict", json=body, headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["labels"] == [BOX] and not r.json()["has_hard_example"]


async def test_bad_verdicts_get_a_clear_4xx_and_change_nothing(web: WebApp, tmp_path: Path) -> None:
    d = await seed_district(web)
    mine = d.events["cam-e1a"]
    await _with_frame(web, mine, tmp_path)
    me = await _headers(web, d, "manager-e1")
    ok = {"kind": "false_alarm", "reason": "not_in_area"}
    r = await web.client.post(f"/api/events/{mine}/verdict", json=ok, headers=me)
    assert r.status_code == 201, r.text
    before = await _state(web)

    admin = await _headers(web, d, "admin-x")
    cases: list[tuple[str, dict[str, Any], dict[str, str], int, str]] = [
        (d.events["cam-w1a"], ok, me, 404, "not_found"),  # another town's school
        (d.events["cam-e2a"], ok, me, 404, "not_found"),  # the same town, another school
        ("0" * 32, ok, me, 404, "not_found"),
        (mine, ok, me, 409, "verdict_exists"),  # twice
        (mine, {"kind": "confirmed"}, admin, 409, "verdict_exists"),  # twice, by someone else
        (d.hub_event, {"kind": "confirmed"}, admin, 422, "not_a_violation"),
    ]
    free = d.events["cam-e1b"]
    for box in (
        {**BOX, "x2": 1.2},  # outside the frame
        {**BOX, "y1": -0.1},
        {**BOX, "x1": 0.3},  # x1 == x2
        {**BOX, "y1": 0.6},  # y1 > y2
        {**BOX, "cls": "cat"},  # not a class of the detector
    ):
        cases.append((free, {"kind": "confirmed", "labels": [box]}, me, 422, "validation_error"))
    cases += [
        (free, {"kind": "false_alarm"}, me, 422, "reason_mismatch"),  # no reason
        (free, {"kind": "confirmed", "reason": "other"}, me, 422, "reason_mismatch"),
        (free, {"kind": "missed"}, me, 422, "validation_error"),  # misses go to the camera
    ]
    for event_id, body, headers, status, code in cases:
        r = await web.client.post(f"/api/events/{event_id}/verdict", json=body, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
        assert r.json()["error"]["message_zh"]
        assert await _state(web) == before, body


async def test_a_confirmation_without_boxes_keeps_the_detectors_boxes(
    web: WebApp, tmp_path: Path
) -> None:
    d = await seed_district(web)
    event = d.events["cam-e1a"]
    await _with_frame(web, event, tmp_path)
    me = await _headers(web, d, "principal-e1")
    r = await web.client.post(f"/api/events/{event}/verdict", json={"kind": "confirmed"},
                              headers=me)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["labels"] == [{"cls": "head_bare", "x1": 0.25, "y1": 0.25, "x2": 0.5,
                                   "y2": 0.75}]  # fmt: skip
    # The event desk shows it on the event, in the list and alone.
    one = (await web.client.get(f"/api/events/{event}", headers=me)).json()
    assert (one["verdict"]["kind"], one["verdict"]["given_by"]) == ("confirmed", "principal-e1")
    listed = (await web.client.get("/api/events", headers=me)).json()["items"]
    assert {e["id"]: (e["verdict"] or {}).get("kind") for e in listed}[event] == "confirmed"
    assert sum(e["verdict"] is not None for e in listed) == 1


async def test_misses_on_a_camera_of_ones_own_school(web: WebApp) -> None:
    d = await seed_district(web)
    me = await _headers(web, d, "principal-e1")
    at = T0 + timedelta(minutes=30)
    # As GET /api/cameras/{id}/frame leaves them (tests/test_frames_api.py fetches real ones).
    jpeg = cv2.imencode(".jpg", np.full((72, 128, 3), 80, np.uint8))[1].tobytes()
    frame = web.hub.shown_frames.put("cam-e1b", at, jpeg)
    other_camera = web.hub.shown_frames.put("cam-e1a", at, jpeg)
    rat = {"cls": "rat", "x1": 0.5, "y1": 0.7, "x2": 0.6, "y2": 0.8}
    body = {"frame_id": frame, "type": "rat", "labels": [rat], "note": "灶台下"}
    r = await web.client.post("/api/cameras/cam-e1b/misses", json=body, headers=me)
    assert r.status_code == 201, r.text
    view = r.json()
    assert (view["kind"], view["type"], view["event_id"], view["labels"]) == (
        "missed", "rat", None, [rat]
    )  # fmt: skip
    assert datetime.fromisoformat(view["at"]) == at and view["has_hard_example"]
    before = await _state(web)
    for camera, sent, status in (
        ("cam-w1a", body, 404),
        ("cam-nope", body, 404),
        ("cam-e1b", {**body, "labels": []}, 422),  # a miss needs its box
        ("cam-e1b", {**body, "labels": [{**rat, "x2": 1.5}]}, 422),
        ("cam-e1b", {**body, "type": "no_apron"}, 422),
        ("cam-e1b", {**body, "frame_id": other_camera}, 422),  # another camera's frame
        ("cam-e1b", {**body, "frame_id": "not a frame"}, 422),
    ):
        r = await web.client.post(f"/api/cameras/{camera}/misses", json=sent, headers=me)
        assert r.status_code == status, (camera, sent, r.text)
        assert await _state(web) == before


async def test_lists_are_scoped(web: WebApp) -> None:
    d = await seed_district(web)
    admin = await _headers(web, d, "admin-x")
    for camera in ("cam-e1a", "cam-e2a", "cam-w1a", "cam-d1a"):
        r = await web.client.post(
            f"/api/events/{d.events[camera]}/verdict", json={"kind": "confirmed"}, headers=admin
        )
        assert r.status_code == 201, r.text

    async def cameras(who: str, **params: Any) -> list[str]:
        r = await web.client.get(
            "/api/verdicts", params=params, headers=await _headers(web, d, who)
        )
        assert r.status_code == 200, r.text
        return [v["camera_id"] for v in r.json()["items"]]

    assert await cameras("admin-x") == ["cam-d1a", "cam-w1a", "cam-e2a", "cam-e1a"]
    assert await cameras("town-e-staff") == ["cam-e2a", "cam-e1a"]
    assert await cameras("manager-e1") == ["cam-e1a"]
    assert await cameras("manager-e1", school="sch-w1") == []
    assert await cameras("admin-x", town="town-w") == ["cam-w1a"]
    assert await cameras("admin-x", kind="missed") == []
    paged, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await web.client.get("/api/verdicts", params=params, headers=admin)).json()
        paged += [v["camera_id"] for v in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == await cameras("admin-x")
    r = await web.client.get("/api/verdicts", params={"cursor": "bad"}, headers=admin)
    assert r.status_code == 422


async def test_false_alarm_rates_per_camera_and_type(web: WebApp) -> None:
    d = await seed_district(web)
    async with web.hub.db.session() as s:  # a second event on cam-e1a, the same week
        first = await s.get(Event, d.events["cam-e1a"])
        assert first is not None
        second = Event(
            **{c: getattr(first, c) for c in ("kind", "type", "severity", "camera_id",
                                              "school_id", "town_id", "confidence")},
            id="f" * 32, started_at=T0 + timedelta(days=2), updated_at=T0 + timedelta(days=2),
        )  # fmt: skip
        s.add(second)
    me = await _headers(web, d, "principal-e1")
    fa = {"kind": "false_alarm", "reason": "wrong_person_state"}
    for event_id, body in ((d.events["cam-e1a"], fa), ("f" * 32, {"kind": "confirmed"}),
                           (d.events["cam-e1b"], fa)):  # fmt: skip
        r = await web.client.post(f"/api/events/{event_id}/verdict", json=body, headers=me)
        assert r.status_code == 201, r.text

    async def rates(who: str, **params: str) -> dict[str, Any]:
        headers = await _headers(web, d, who)
        r = await web.client.get("/api/verdicts/false-alarm-rates", params=params, headers=headers)
        assert r.status_code == 200, r.text
        report: dict[str, Any] = r.json()
        return report

    # T0 is Monday 2026-11-30 11:00 in Asia/Shanghai: its week starts then at 00:00 local.
    week = await rates("principal-e1", period="week", day="2026-12-02")
    assert (week["start"], week["end"]) == ("2026-11-29T16:00:00Z", "2026-12-06T16:00:00Z")
    assert [(r["camera_id"], r["type"], r["events"], r["false_alarms"], r["rate"])
            for r in week["rows"]] == [
        ("cam-e1b", "no_chef_hat", 1, 1, 1.0),
        ("cam-e1a", "no_chef_hat", 2, 1, 0.5),
    ]  # fmt: skip
    staff = await rates("staff-x", period="week", day="2026-11-30")
    assert {r["camera_id"] for r in staff["rows"]} == {
        "cam-e1a", "cam-e1b", "cam-e2a", "cam-w1a", "cam-d1a"
    }  # fmt: skip
    assert [r["rate"] for r in staff["rows"]][-3:] == [0.0, 0.0, 0.0]
    earlier = await rates("staff-x", period="week", day="2026-11-29")  # the Sunday before
    assert earlier["rows"] == []
    month = await rates("principal-e1", period="month", day="2026-11-15")
    assert month["start"] == "2026-10-31T16:00:00Z" and month["end"] == "2026-11-30T16:00:00Z"
    assert [(r["camera_id"], r["events"]) for r in month["rows"]] == [
        ("cam-e1a", 1), ("cam-e1b", 1)
    ]  # fmt: skip
    r = await web.client.get(
        "/api/verdicts/false-alarm-rates", params={"period": "year"}, headers=me
    )
    assert r.status_code == 422


async def test_export_writes_a_yolo_dataset_from_verdicts(web: WebApp, tmp_path: Path) -> None:
    from hub.cli import main as bkhub

    d = await seed_district(web)
    for camera in ("cam-e1a", "cam-e1b"):
        await _with_frame(web, d.events[camera], tmp_path)
    me = await _headers(web, d, "principal-e1")
    fa = {"kind": "false_alarm", "reason": "wrong_object"}
    confirmed = {"kind": "confirmed", "labels": [BOX]}
    for camera, body in (("cam-e1a", fa), ("cam-e1b", confirmed)):
        r = await web.client.post(f"/api/events/{d.events[camera]}/verdict", json=body, headers=me)
        assert r.status_code == 201, r.text
    rat = {"cls": "rat", "x1": 0.5, "y1": 0.7, "x2": 0.6, "y2": 0.8}
    frame = web.hub.shown_frames.put("cam-e2a", T0 + timedelta(hours=2), FRAME)
    miss = {"frame_id": frame, "type": "rat", "labels": [rat]}
    admin = await _headers(web, d, "admin-x")
    r = await web.client.post("/api/cameras/cam-e2a/misses", json=miss, headers=admin)
    assert r.status_code == 201, r.text

    out = tmp_path / "ds"
    config = str(tmp_path / "config.yaml")  # the hub's own, beside its database and store
    command = ["-c", config, "dataset", "export", "--out", str(out)]

    async def export(*args: str) -> int:
        code: int = await asyncio.to_thread(bkhub, [*command, *args])
        return code

    def images() -> list[Path]:
        return sorted((out / "images").rglob("*.jpg"))

    # Local days (Asia/Shanghai): T0 is 11:00 on 30 November there.
    assert await export("--from", "2026-12-01", "--to", "2026-12-02") == 0
    assert images() == []  # nothing given that day
    day = ["--from", "2026-11-30", "--to", "2026-12-01"]
    assert await export(*day) == 1  # the folder holds that export: refused, left as it was
    assert await export(*day, "--force") == 0
    assert len(images()) == 3
    assert await export("--from", "yesterday", "--to", "2026-12-01", "--force") == 1
    assert len(images()) == 3  # a bad argument changes nothing
    labels = sorted(p.read_text() for p in (out / "labels").rglob("*.txt"))
    assert labels == [
        "", "2 0.200000 0.350000 0.200000 0.300000\n", "7 0.550000 0.750000 0.100000 0.100000\n"
    ]  # a negative, head_bare, rat  # fmt: skip
    assert all(p.read_bytes() == FRAME for p in images())
    manifest = (out / "manifest.csv").read_text().splitlines()
    rows = sorted(line.split(",")[2:] for line in manifest[1:])  # by camera
    assert rows == [
        ["cam-e1a", "2026-11-30T11:00:00+08:00", "false_alarm", "wrong_object", "no_chef_hat",
         "principal-e1"],
        ["cam-e1b", "2026-11-30T11:00:00+08:00", "confirmed", "", "no_chef_hat", "principal-e1"],
        ["cam-e2a", "2026-11-30T13:00:00+08:00", "missed", "", "rat", "admin-x"],
    ]  # fmt: skip
    # Held out by camera and hour, never empty: every image on the side its row names.
    sides = {line.split(",")[0]: line.split(",")[1] for line in manifest[1:]}
    assert set(sides.values()) == {"train", "val"}
    assert all(image.split("/")[1] == side for image, side in sides.items())
    data = (out / "data.yaml").read_text()
    assert "train: images/train\nval: images/val\n" in data and "  2: head_bare" in data

    assert await export(*day, "--force", "--types", "rat,no_mask") == 0
    assert [line.split(",")[6] for line in (out / "manifest.csv").read_text().splitlines()[1:]] == [
        "rat"
    ]
    with pytest.raises(SystemExit):  # argparse: an unknown type is a usage error
        await export(*day, "--force", "--types", "cat")
    assert len(images()) == 1
