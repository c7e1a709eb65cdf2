"""GET /api/reports/monthly: each role gets the report of its own scope, as JSON, PDF or XLSX."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from tests.webapp import WebApp, district_config, seed_district, serve_app, session_headers


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[WebApp]:
    async with serve_app(
        district_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    ) as app:
        yield app


async def test_each_scope_gets_its_own_schools(web: WebApp) -> None:
    d = await seed_district(web)  # one bare-head event per camera in November 2026

    async def get(user: str, **params: str) -> tuple[int, dict[str, Any]]:
        headers = await session_headers(web.auth, d.users[user])
        r = await web.client.get("/api/reports/monthly", params=params, headers=headers)
        return r.status_code, r.json()

    status, body = await get("staff-x", month="2026-11")
    assert status == 200
    assert [s["id"] for s in body["schools"]] == ["sch-e1", "sch-e2", "sch-w1", "sch-d1"]
    assert [s["figures"]["violations"] for s in body["schools"]] == [
        {"no_chef_hat": 2}, {"no_chef_hat": 1}, {"no_chef_hat": 1}, {"no_chef_hat": 1}
    ]  # fmt: skip
    assert body["total"]["total"] == 5 and body["total"]["repeats"] == 1
    assert [t["id"] for t in body["towns"]] == ["town-e", "town-w", ""]
    assert body["title"] == "测试区教育局 明厨亮灶监管月报（2026年11月）"

    status, body = await get("staff-x", month="2026-11", town="town-w")
    assert status == 200 and [s["id"] for s in body["schools"]] == ["sch-w1"]
    assert body["title"] == "测试区教育局·西城镇 明厨亮灶监管月报（2026年11月）"

    status, body = await get("town-e-staff", month="2026-11")
    assert status == 200 and [s["id"] for s in body["schools"]] == ["sch-e1", "sch-e2"]
    assert (await get("town-e-staff", month="2026-11", town="town-w"))[0] == 403
    status, body = await get("principal-e1", month="2026-11")
    assert status == 200 and [s["id"] for s in body["schools"]] == ["sch-e1"]
    assert (await get("principal-e1", month="2026-11", town="town-e"))[0] == 403

    assert (await get("staff-x", month="2026-13"))[0] == 422
    assert (await get("staff-x", month="2026-11", town="nowhere"))[0] == 404
    status, body = await get("staff-x", month="2026-10")  # nothing happened: zeros, not errors
    assert status == 200 and body["total"]["total"] == 0 and body["total"]["ack_rate"] is None


async def test_the_files_download_with_a_chinese_name(web: WebApp) -> None:
    d = await seed_district(web)
    headers = await session_headers(web.auth, d.users["town-e-staff"])
    params = {"month": "2026-11", "format": "pdf"}
    r = await web.client.get("/api/reports/monthly", params=params, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and len(r.content) > 10_000
    disposition = r.headers["content-disposition"]
    assert 'filename="test-town-e-2026-11-monthly.pdf"' in disposition
    assert "东城镇 明厨亮灶监管月报" in unquote(disposition)

    params["format"] = "xlsx"
    r = await web.client.get("/api/reports/monthly", params=params, headers=headers)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    rows = list(book["学校明细"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == ["学校sch-e1", "学校sch-e2"]
