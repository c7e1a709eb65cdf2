"""Errors the API turns into a clear status instead of a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import database
from tests.webapp import district_config, seed_district, serve_app, session_headers
from web.errors import DATABASE_RETRY_AFTER_S


async def test_a_locked_database_is_a_503_to_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short, so that the lock held below outlasts it at once.
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "hub.db"
    async with serve_app(district_config(tmp_path, f"sqlite+aiosqlite:///{path}")) as web:
        d = await seed_district(web)
        headers = await session_headers(web.auth, d.users["admin-x"])
        holder = sqlite3.connect(path, isolation_level=None)  # another writer, e.g. a backup
        try:
            holder.execute("BEGIN IMMEDIATE")
            locked = await web.client.get("/api/users", headers=headers)
        finally:
            holder.rollback()
            holder.close()
        assert locked.status_code == 503, locked.text
        assert locked.headers["retry-after"] == str(DATABASE_RETRY_AFTER_S)
        assert locked.json()["error"]["code"] == "database_unavailable"
        assert locked.json()["error"]["message_zh"]
        again = await web.client.get("/api/users", headers=headers)
        assert again.status_code == 200, again.text
