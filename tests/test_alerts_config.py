"""hub.config.alerts: channels, recipients, rules, and the mistakes caught at load time."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import ConfigError, HubConfig, load_config
from hub.config.alerts import (
    AlertsConfig,
    AlertSeverity,
    DingTalkChannel,
    RecipientRole,
    SmtpChannel,
    SmtpSecurity,
)
from tests.alerting import district, routing

REPO = Path(__file__).resolve().parent.parent


def _problems(tmp_path: Path, alerts: dict[str, Any], env: dict[str, str] | None = None) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(district(alerts), allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return str(info.value)


def test_every_channel_kind_loads_with_secrets_from_env(tmp_path: Path) -> None:
    channels: list[dict[str, Any]] = [
        {"type": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${K}"},
        {
            "type": "dingtalk",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=${K}",
            "secret": "${S}",
        },
        {"type": "webhook", "name": "ops", "url": "https://ops.example.edu/hook", "secret": "${S}"},
        {
            "type": "smtp",
            "host": "smtp.example.edu",
            "port": 465,
            "security": "tls",
            "username": "bkhub",
            "password": "${S}",
        },
        {"type": "mqtt", "host": "127.0.0.1", "topic_prefix": "edu/bkhub"},
        {"type": "console"},
    ]
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(district(routing(channels)), allow_unicode=True), encoding="utf-8"
    )
    config = load_config(path, env={"K": "key-1234", "S": "SEC-very-secret"})
    alerts = config.alerts
    assert [c.name for c in alerts.channels] == [
        "wecom",
        "dingtalk",
        "ops",
        "smtp",
        "mqtt",
        "console",
    ]
    ding = alerts.channels[1]
    assert isinstance(ding, DingTalkChannel)
    assert ding.secret.get_secret_value() == "SEC-very-secret"
    smtp = alerts.channels[3]
    assert isinstance(smtp, SmtpChannel) and smtp.security is SmtpSecurity.TLS
    assert "SEC-very-secret" not in repr(config) and "key-1234" not in repr(config)
    assert alerts.recipients[0].role is RecipientRole.PRINCIPAL
    assert alerts.types["rat"].severity is AlertSeverity.URGENT


def test_quiet_hours_and_duty_windows_parse() -> None:
    alerts = AlertsConfig.model_validate(
        {
            "channels": [{"type": "console"}],
            "recipients": [
                {
                    "id": "m",
                    "name": "食堂管理员",
                    "role": "canteen_manager",
                    "school": "dcxx",
                    "channels": ["console"],
                    "quiet_hours": {"start": "22:00", "end": "06:30"},
                    "on_duty": [{"days": ["mon", "tue"], "start": "06:00", "end": "14:00"}],
                }
            ],
        }
    )
    person = alerts.recipients[0]
    assert person.quiet_hours is not None and person.quiet_hours.end == time(6, 30)
    assert person.on_duty[0].start == time(6)


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            {"recipients": [{"id": "a", "name": "A", "role": "principal", "channels": ["x"]}]},
            "role principal needs exactly 'school'",
        ),
        (
            {
                "recipients": [
                    {
                        "id": "a",
                        "name": "A",
                        "role": "district_desk",
                        "town": "dongcheng",
                        "channels": ["x"],
                    }
                ]
            },
            "needs neither 'school' nor 'town'",
        ),
        (
            {
                "channels": [{"type": "console"}],
                "recipients": [
                    {"id": "a", "name": "A", "role": "district_desk", "channels": ["nope"]}
                ],
            },
            "unknown channel 'nope'",
        ),
        (
            {
                "channels": [{"type": "smtp", "host": "mail"}],
                "recipients": [
                    {"id": "a", "name": "A", "role": "district_desk", "channels": ["smtp"]}
                ],
            },
            "channel 'smtp' needs email",
        ),
        (
            {"channels": [{"type": "console"}, {"type": "console"}]},
            "duplicate channel 'console'",
        ),
        (
            {
                "channels": [{"type": "console"}],
                "recipients": [
                    {
                        "id": "a",
                        "name": "A",
                        "role": "principal",
                        "school": "nowhere",
                        "channels": ["console"],
                    }
                ],
            },
            "unknown school id 'nowhere'",
        ),
        (
            {"escalation": {"town_after_min": 30, "district_after_min": 10}},
            "district_after_min must be >= town_after_min",
        ),
        ({"channels": [{"type": "pager", "url": "x"}]}, "unknown type 'pager'"),
        ({"grouping": {"window_s": -1}}, "alerts.grouping.window_s"),
        (
            {
                "channels": [{"type": "console"}],
                "recipients": [
                    {
                        "id": "a",
                        "name": "A",
                        "role": "district_desk",
                        "channels": ["console"],
                        "on_duty": [{"start": "18:00", "end": "06:00"}],
                    }
                ],
            },
            "end must be after start",
        ),
    ],
)
def test_mistakes_are_reported_at_load(
    tmp_path: Path, alerts: dict[str, Any], message: str
) -> None:
    assert message in _problems(tmp_path, alerts)


def test_a_malformed_url_is_not_a_load_error() -> None:
    # Checked when the channel is built, so the hub still starts (see test_alerts_delivery).
    config = HubConfig.model_validate(
        district(routing([{"type": "webhook", "url": "htp:/not a url"}]))
    )
    assert config.alerts.channels[0].name == "webhook"


def test_shipped_config_keeps_alerts_harmless() -> None:
    config = load_config(REPO / "config.yaml", env={})
    assert {c.type for c in config.alerts.channels} <= {"console"}
