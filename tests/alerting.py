"""Shared pieces of the alert tests: a small district with alert routing, an injectable clock,
the registry rows events refer to, and an event factory."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import HubConfig
from storage.db import models
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Event

T0 = datetime(2026, 11, 29, 5, 5, 2, tzinfo=UTC)  # 13:05:02 in Asia/Shanghai, a Sunday


@dataclass
class FakeClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def district(alerts: dict[str, Any] | None = None, **web: Any) -> dict[str, Any]:
    """Two town schools (one with two kitchens) and a bureau-direct school."""
    cam = "rtsp://127.0.0.1:8554/{}/main"
    return {
        "district": {"id": "t", "name": "测试区教育局"},
        "towns": [{"id": "dongcheng", "name": "东城镇中心学校"}],
        "schools": [
            {
                "id": "dcxx",
                "name": "东城镇中心小学",
                "town": "dongcheng",
                "kind": "primary",
                "kitchens": [{"id": "main", "name": "学生食堂"}, {"id": "k2", "name": "二号食堂"}],
                "cameras": [
                    {"id": "dcxx-hot", "name": "烹饪区 1", "kitchen": "main", "rtsp_url": cam},
                    {"id": "dcxx-prep", "name": "切配区", "kitchen": "main", "rtsp_url": cam},
                    {"id": "dcxx-k2", "name": "二号烹饪区", "kitchen": "k2", "rtsp_url": cam},
                ],
            },
            {
                "id": "dcyey",
                "name": "东城镇中心幼儿园",
                "town": "dongcheng",
                "kind": "kindergarten",
                "kitchens": [{"id": "main", "name": "幼儿园厨房"}],
                "cameras": [{"id": "dcyey-hot", "name": "烹饪区", "rtsp_url": cam}],
            },
            {
                "id": "sfsy",
                "name": "示范区实验学校",
                "kind": "nine_year",
                "kitchens": [{"id": "main", "name": "师生食堂"}],
                "cameras": [{"id": "sfsy-hot", "name": "烹饪区", "rtsp_url": cam}],
            },
        ],
        "alerts": alerts or {},
        "web": {"public_url": "https://bkhub.example.edu/", **web},
    }


def routing(channels: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Alerts to every level over `channels`; no grouping or rate limit unless given."""
    names = [c.get("name") or c["type"] for c in channels]
    email = {"email": "wang@dcxx.example.edu"} if any(c["type"] == "smtp" for c in channels) else {}
    alerts: dict[str, Any] = {
        "enabled": True,
        "ack_secret": "test-ack-secret",
        "channels": channels,
        "recipients": [
            {
                "id": "dcxx-principal",
                "name": "王校长",
                "role": "principal",
                "school": "dcxx",
                "channels": names,
                "mobile": "13800000001",
                **email,
            },
            {
                "id": "dcyey-principal",
                "name": "李园长",
                "role": "principal",
                "school": "dcyey",
                "channels": names,
                **email,
            },
            {
                "id": "sfsy-principal",
                "name": "赵校长",
                "role": "principal",
                "school": "sfsy",
                "channels": names,
                **email,
            },
            {
                "id": "dongcheng-staff",
                "name": "东城镇值班",
                "role": "town_staff",
                "town": "dongcheng",
                "channels": names,
                **email,
            },
            {
                "id": "district-desk",
                "name": "区教育局值班",
                "role": "district_desk",
                "channels": names,
                **email,
            },
        ],
        "types": {
            "rat": {"severity": "urgent", "town_after_min": 1, "district_after_min": 2},
            "no_gloves": {"severity": "warning", "escalate": False},
        },
        "grouping": {"window_s": 0, "dedupe_s": 0},
        "rate_limit": {"max_messages": 10_000, "window_s": 60},
        "delivery": {"poll_s": 0.2, "backoff_initial_s": 0.05, "backoff_max_s": 0.3},
    }
    return merge(alerts, extra)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def hub_config(alerts: dict[str, Any]) -> HubConfig:
    return HubConfig.model_validate(district(alerts))


async def seed_registry(db: Database, config: HubConfig) -> None:
    towns = [models.Town(id=t.id, name=t.name) for t in config.towns]
    schools = [
        models.School(id=s.id, name=s.name, town_id=s.town, kind=str(s.kind), boarding=False)
        for s in config.schools
    ]
    cameras = [
        models.Camera(id=c.id, school_id=s.id, kitchen_id=c.kitchen, name=c.name, room=str(c.room))
        for s, c in config.iter_cameras()
    ]
    async with db.session() as session:
        await repo.sync_registry(session, towns, schools, cameras)


def violation(camera: str, kind: str = "rat", *, at: datetime = T0, **fields: Any) -> Event:
    return Event(
        kind="violation",
        type=kind,
        severity=fields.pop("severity", "warning"),
        camera_id=camera,
        started_at=at,
        **fields,
    )
