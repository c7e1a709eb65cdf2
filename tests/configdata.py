"""A small valid district as plain data, and helpers to load variants of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import ConfigError, ConfigProblem, HubConfig, load_config


def district() -> dict[str, Any]:
    """A small valid district: one town school with two kitchens, one bureau-direct school."""
    return {
        "district": {"id": "t", "name": "测试区教育局"},
        "towns": [{"id": "east", "name": "东城镇中心学校"}],
        "schools": [
            {
                "id": "east-primary",
                "name": "东城小学",
                "town": "east",
                "kind": "primary",
                "kitchens": [{"id": "k1", "name": "一号食堂"}, {"id": "k2", "name": "二号食堂"}],
                "cameras": [
                    {
                        "id": "cam-a",
                        "name": "烹饪区",
                        "kitchen": "k1",
                        "rtsp_url": "rtsp://127.0.0.1:8554/cam-a/main",
                    },
                    {
                        "id": "cam-b",
                        "name": "凉菜间",
                        "kitchen": "k2",
                        "room": "cold_dish",
                        "onvif": {"host": "127.0.0.1", "port": 18081, "password": "pw"},
                    },
                ],
            },
            {
                "id": "direct-kg",
                "name": "第一幼儿园",
                "kind": "kindergarten",
                "kitchens": [{"id": "main", "name": "厨房"}],
                "cameras": [
                    {"id": "cam-c", "name": "烹饪区", "rtsp_url": "rtsp://127.0.0.1/cam-c/main"}
                ],
            },
        ],
    }


def write_yaml(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config.yaml"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems_of(
    tmp_path: Path, data: Any, env: dict[str, str] | None = None
) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config(write_yaml(tmp_path, data), env=env or {})
    return list(info.value.problems)


def load_data(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> HubConfig:
    return load_config(write_yaml(tmp_path, data), env=env or {})


def camera_of(data: dict[str, Any], school: int = 0, camera: int = 0) -> dict[str, Any]:
    cam: dict[str, Any] = data["schools"][school]["cameras"][camera]
    return cam
