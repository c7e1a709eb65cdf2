"""The events API: filters, keyset pages, snapshots and clips (watching a clip is audited)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.db.models import AuditEntry, Event
from tests.media import make_h264_mp4
from tests.webapp import T0, WebApp, seed_district, session_headers


async def test_filters_and_pages(web: WebApp) -> None:
    d = await seed_district(web)
    async with web.hub.db.session() as s:
        event = await s.get(Event, d.events["cam-e1a"])
        assert event is not None
        event.acknowledged_at, event.acknowledged_by = T0, "principal-e1"
    staff = await session_headers(web.auth, d.users["staff-x"])

    async def ids(**params: Any) -> list[str]:
        r = await web.client.get("/api/events", params=params, headers=staff)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    paged: list[str] = []
    page: dict[str, Any] = {"next_cursor": None}
    while True:
        params = {"limit": 2, **({"cursor": page["next_cursor"]} if page["next_cursor"] else {})}
        page = (await web.client.get("/api/events", params=params, headers=staff)).json()
        paged += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
    assert paged == await ids(limit=200) and len(set(paged)) == len(d.events) + 1
    assert await ids(kind="health") == [d.hub_event]
    assert len(await ids(type="no_chef_hat")) == len(d.events)
    assert set(await ids(school="sch-e1")) == {d.events["cam-e1a"], d.events["cam-e1b"]}
    assert len(await ids(town="town-e")) == 3
    assert await ids(acknowledged=True) == [d.events["cam-e1a"]]
    assert len(await ids(acknowledged=False)) == len(d.events)
    later = (T0 + timedelta(minutes=1)).isoformat()
    assert set(await ids(since=later)) == {d.events[c] for c in ("cam-e2a", "cam-w1a", "cam-d1a")}
    assert len(await ids(until=later)) == 3  # sch-e1's two and the hub's own

    for bad in (
        {"since": "2026-11-30T03:00:00"},  # no time zone
        {"cursor": "not-a-cursor"},
        {"cursor": "WyIyMDI2LTExLTMwIiwiXHUwMDAwIl0"},  # ["2026-11-30", "\u0000"]
        {"school": "SCH E1"},
        {"limit": 0},
    ):
        r = await web.client.get("/api/events", params=bad, headers=staff)
        assert r.status_code == 422 and "error" in r.json(), bad


async def test_snapshots_and_audited_clips(web: WebApp, tmp_path: Path) -> None:
    d = await seed_district(web)
    clip = make_h264_mp4(tmp_path / "clip.mp4", seconds=1)
    event_id = d.events["cam-e1b"]
    key = f"clips/sch-e1/cam-e1b/{event_id}.mp4"
    await web.hub.store.put_file(key, clip, content_type="video/mp4")
    async with web.hub.db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.clip_key = key
        gone = await s.get(Event, d.events["cam-e1a"])
        assert gone is not None
        gone.snapshot_key = "snapshots/sch-e1/cam-e1a/deleted.jpg"  # past retention
    me = await session_headers(web.auth, d.users["manager-e1"])

    r = await web.client.get(f"/api/events/{event_id}/snapshot", headers=me)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    r = await web.client.get(f"/api/events/{d.events['cam-e1a']}/snapshot", headers=me)
    assert r.status_code == 404
    r = await web.client.get(f"/api/events/{d.events['cam-e1a']}/clip", headers=me)
    assert r.status_code == 404  # this event has no clip
    r = await web.client.get(f"/api/events/{event_id}/clip", headers=me)
    assert r.status_code == 200 and r.content == clip.read_bytes()
    r = await web.client.get(f"/api/events/{event_id}/clip", headers={**me, "Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100  # a player can seek
    async with web.hub.db.session() as s:
        views = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "clip_view")))
    assert [(v.actor, v.camera_id, v.object_key) for v in views] == [
        ("manager-e1", "cam-e1b", key)
    ] * 2
