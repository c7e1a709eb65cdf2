"""The health config section: defaults, bounds, strictness, references to the district."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.config import ConfigError, HubConfig, load_config
from hub.config.health import CheckName, HealthConfig

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_and_the_demo_config() -> None:
    cfg = HealthConfig()
    assert cfg.enabled and cfg.sample_every_s == 4.0 and cfg.kitchen_hours == ()
    assert load_config(ROOT / "config.yaml").health == cfg


def test_strict_and_bounded() -> None:
    with pytest.raises(ValidationError, match="extra"):
        HealthConfig.model_validate({"sample_evry_s": 2})
    with pytest.raises(ValidationError):
        HealthConfig.model_validate({"check_every_s": 0})
    with pytest.raises(ValidationError):
        HealthConfig.model_validate({"checks": {"melted": {}}})
    cfg = HealthConfig.model_validate({"checks": {"moved": {"raise_after": 3}}})
    assert cfg.checks[CheckName.MOVED].raise_after == 3


def test_kitchen_hours_must_name_real_schools_and_kitchens(tmp_path: Path) -> None:
    base = {
        "schools": [
            {
                "id": "s1",
                "name": "一小",
                "kind": "primary",
                "kitchens": [{"id": "main", "name": "食堂"}],
            }
        ]
    }
    hours = [{"start": "05:30", "end": "19:00"}]
    ok = {**base, "health": {"kitchen_hours": [{"school": "s1", "open": hours}]}}
    HubConfig.model_validate(ok)
    bad = {
        **base,
        "health": {
            "kitchen_hours": [
                {"school": "s9", "open": hours},
                {"school": "s1", "kitchen": "x", "open": hours},
            ]
        },
    }
    with pytest.raises(ValidationError) as info:
        HubConfig.model_validate(bad)
    text = str(info.value)
    assert "unknown school id 's9'" in text and "unknown kitchen 'x'" in text
    path = tmp_path / "c.yaml"
    path.write_text(
        "health: {kitchen_hours: [{school: nope, open: [{start: '06:00', end: '18:00'}]}]}\n"
    )
    with pytest.raises(ConfigError, match=r"health\.kitchen_hours"):
        load_config(path)
