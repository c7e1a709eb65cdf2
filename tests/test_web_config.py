"""hub.config.web: the accounts section (sessions, cookies, log-in limits, first admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from hub.config import ConfigError, HubConfig, load_config
from hub.config.web import AuthConfig, SameSite, WebConfig


def _problems(tmp_path: Path, web: dict[str, Any]) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"web": web}), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return [str(p) for p in info.value.problems]


def test_defaults_are_safe() -> None:
    auth = WebConfig().auth
    assert auth.cookie_samesite is SameSite.LAX
    assert auth.session_idle_min * 60 <= auth.session_max_age_h * 3600
    assert auth.login_max_failures_per_user <= 10
    assert auth.password_min_length >= 10
    assert auth.bootstrap_admin == "admin"
    assert not hasattr(auth, "bootstrap_password")  # no default password, not even a setting


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [(None, False), ("http://10.1.1.5:8000/", False), ("https://mcld.example.edu.cn/", True)],
)
def test_secure_cookies_follow_the_public_url(public_url: str | None, secure: bool) -> None:
    assert WebConfig.model_validate({"public_url": public_url}).secure_cookies is secure


def test_a_full_auth_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    section = {
        "session_idle_min": 30,
        "session_max_age_h": 12,
        "cookie_samesite": "strict",
        "login_max_failures_per_user": 3,
        "login_max_failures_per_ip": 50,
        "login_window_min": 10,
        "password_min_length": 12,
        "api_token_max_days": 30,
        "bootstrap_admin": "jyj-admin",
    }
    path.write_text(yaml.safe_dump({"web": {"auth": section}}), encoding="utf-8")
    auth = load_config(path, env={}).web.auth
    assert auth.model_dump(mode="json") == section


@pytest.mark.parametrize(
    ("auth", "where", "fragment"),
    [
        ({"session_idle_min": 1}, "web.auth.session_idle_min", "5"),
        ({"session_max_age_h": 0}, "web.auth.session_max_age_h", "1"),
        ({"cookie_samesite": "none"}, "web.auth.cookie_samesite", "lax"),
        ({"login_max_failures_per_user": 0}, "web.auth.login_max_failures_per_user", "1"),
        ({"password_min_length": 6}, "web.auth.password_min_length", "8"),
        ({"bootstrap_admin": "a"}, "web.auth.bootstrap_admin", ""),
        ({"bootstrap_admin": "管理员"}, "web.auth.bootstrap_admin", ""),
        ({"bootstrap_password": "x"}, "web.auth.bootstrap_password", ""),
        (
            {"session_idle_min": 600, "session_max_age_h": 2},
            "web.auth",
            "session_idle_min must not exceed session_max_age_h",
        ),
    ],
)
def test_mistakes_name_the_field(
    tmp_path: Path, auth: dict[str, Any], where: str, fragment: str
) -> None:
    problems = _problems(tmp_path, {"auth": auth})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{where}: ")
    assert fragment in problems[0]


def test_the_section_is_frozen() -> None:
    config = HubConfig()
    with pytest.raises(ValidationError):
        config.web.auth.session_idle_min = 5  # type: ignore[misc]
    assert isinstance(config.web.auth, AuthConfig)
