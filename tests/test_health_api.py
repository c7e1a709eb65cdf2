"""The health API: current state, history and uptime, each filtered by the caller's scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.config import load_config
from storage.db.models_health import MONITORING, HealthPeriod
from tests.webapp import CAMERAS, WebApp, district_config, seed_district, serve_app, session_headers

DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)


@pytest.fixture
async def web(tmp_path: Path, db_url: str) -> AsyncIterator[WebApp]:
    district_config(tmp_path, db_url)  # writes config.yaml: enable its cameras (port 9: refused)
    path = tmp_path / "config.yaml"
    path.write_text(path.read_text().replace("enabled: false", "enabled: true"), encoding="utf-8")
    async with serve_app(load_config(path)) as app:
        yield app


async def test_history_and_uptime_in_scope(web: WebApp) -> None:
    d = await seed_district(web)
    async with web.hub.db.session() as s:
        # Watched the whole (UTC) day; cam-e1a was offline for 6 hours of it.
        s.add(
            HealthPeriod(
                check=MONITORING,
                reason="",
                started_at=DAY - timedelta(days=1),
                ended_at=DAY + timedelta(days=2),
            )
        )
        s.add(
            HealthPeriod(
                camera_id="cam-e1a",
                check="offline",
                reason="auth_failed",
                detail="authentication failed",
                started_at=DAY + timedelta(hours=6),
                ended_at=DAY + timedelta(hours=12),
            )
        )
        s.add(
            HealthPeriod(
                camera_id="cam-w1a",
                check="frozen",
                reason="identical_frames",
                started_at=DAY,
                ended_at=None,
            )
        )
    principal = await session_headers(web.auth, d.users["principal-e1"])
    admin = await session_headers(web.auth, d.users["admin-x"])

    listed = (await web.client.get("/api/health/cameras", headers=principal)).json()
    assert {c["id"] for c in listed} == set(CAMERAS["sch-e1"])
    assert {c["connection"] for c in listed} <= {"connecting", "offline"}

    history = (
        await web.client.get(
            "/api/health/cameras/cam-e1a/history", headers=principal, params={"days": 7}
        )
    ).json()
    assert [(h["check"], h["reason"]) for h in history] == [("offline", "auth_failed")]
    other = await web.client.get("/api/health/cameras/cam-w1a/history", headers=principal)
    assert other.status_code == 404

    day = (DAY + timedelta(hours=12)).date().isoformat()  # the local (UTC+8) day of DAY 12:00
    r = await web.client.get(
        "/api/health/uptime", headers=admin, params={"level": "camera", "day": day}
    )
    rows = {row["id"]: row["uptime"] for row in r.json()["rows"]}
    assert rows["cam-e1b"] == pytest.approx(1.0)
    assert rows["cam-e1a"] < 1.0 and rows["cam-w1a"] < 1.0
    schools = (
        await web.client.get(
            "/api/health/uptime", headers=principal, params={"level": "school", "day": day}
        )
    ).json()["rows"]
    assert [s["id"] for s in schools] == ["sch-e1"]
    for level in ("town", "district"):
        r = await web.client.get("/api/health/uptime", headers=principal, params={"level": level})
        assert r.status_code == 403
    assert (await web.client.get("/api/health/hub", headers=admin)).json() == []
    assert (await web.client.get("/api/health/hub", headers=principal)).status_code == 403
