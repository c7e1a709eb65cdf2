"""Accounts: hashing, log-in and log-out, cookies, CSRF, API tokens, rate limits, first admin."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from hub.config.web import WebConfig
from storage.db.database import Database
from storage.db.models import AuditEntry
from tests.webapp import PASSWORD, WebApp, add_user, district_config, serve_app, session_headers
from web.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, Auth, Role
from web.auth.passwords import Passwords
from web.auth.ratelimit import LoginLimiter, SlidingWindow
from web.auth.service import BadCredentials


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- passwords and limits, without a server ------------------------------------------------


async def test_passwords_are_salted_argon2id() -> None:
    passwords = Passwords()
    first, second = await passwords.hash("s3cret-enough"), await passwords.hash("s3cret-enough")
    assert first.startswith("$argon2id$") and first != second
    assert await passwords.verify(first, "s3cret-enough")
    assert not await passwords.verify(first, "s3cret-enougH")
    assert not await passwords.verify("not a hash", "s3cret-enough")
    assert not await passwords.verify(None, "")  # unknown user: a real check, always False
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x")
    assert passwords.needs_rehash(weak) and not passwords.needs_rehash(first)


def test_sliding_window_blocks_then_forgets() -> None:
    clock = FakeClock()
    window = SlidingWindow(limit=3, window_s=60, max_keys=100, clock=clock)
    for _ in range(3):
        assert window.retry_after("u") is None
        window.fail("u")
        clock.t += 10
    assert window.retry_after("u") == pytest.approx(30)  # the first failure is 30 s from expiry
    clock.t += 30
    assert window.retry_after("u") is None


def test_limiter_memory_is_bounded_and_success_clears_the_user_only() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(per_user=2, per_ip=3, window_s=60, max_keys=50, clock=clock)
    for n in range(10_000):  # a flood of made-up names from made-up addresses
        limiter.failed(f"user{n}", f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._users) == len(limiter._ips) == 50
    limiter.failed("amy", "10.9.9.9")
    limiter.failed("amy", "10.9.9.9")
    assert limiter.retry_after("amy", "10.1.1.1") is not None  # per user, from any address
    limiter.succeeded("amy")
    assert limiter.retry_after("amy", "10.1.1.1") is None
    limiter.failed("bob", "10.9.9.9")
    assert limiter.retry_after("carol", "10.9.9.9") is not None  # per address, any user


# -- first start --------------------------------------------------------------------------


async def test_first_start_prints_a_random_admin_password_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    auth = Auth(db, WebConfig())
    await auth.start(out)
    guesser = Auth(db, WebConfig())  # its own rate limiter
    for guess in ("admin", "123456", "password", "admin123"):  # no default password
        with pytest.raises(BadCredentials):
            await guesser.login("admin", guess, client="t")
    printed = out.getvalue()
    password = next(line.split()[-1] for line in printed.splitlines() if "password" in line)
    assert len(password) >= 20 and password.count(password[0]) < 5
    login = await auth.login("admin", password, client="t")
    assert login.user.role is Role.DISTRICT_ADMIN and str(login.user.scope) == "district"
    assert password not in caplog.text  # the log only says that it was printed
    again = io.StringIO()
    await Auth(db, WebConfig()).start(again)
    assert again.getvalue() == ""


async def test_the_app_prints_the_password_at_its_first_start_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = district_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    async with serve_app(config):
        pass
    assert capsys.readouterr().out.count("Created the administrator") == 1
    async with serve_app(config):
        pass
    assert "administrator" not in capsys.readouterr().out


async def test_sessions_end_when_idle_and_at_their_maximum_age(db: Database) -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    config = WebConfig.model_validate({"auth": {"session_idle_min": 30, "session_max_age_h": 2}})
    auth = Auth(db, config, now=lambda: now)
    user_id = await add_user(auth, "amy", Role.CANTEEN_MANAGER, "school:s1")
    idle = await auth.open_session(user_id, client="t")
    busy = await auth.open_session(user_id, client="t")
    for _ in range(5):  # 20-minute steps: the busy session stays, the idle one ends
        now += timedelta(minutes=20)
        assert await auth.authenticate_session(busy.session_token) is not None
    assert await auth.authenticate_session(idle.session_token) is None
    now += timedelta(minutes=21)  # 2 h 1 min after log-in
    assert await auth.authenticate_session(busy.session_token) is None


# -- over HTTP ----------------------------------------------------------------------------


@pytest.fixture
async def web(tmp_path: Path, db_url: str) -> AsyncIterator[WebApp]:
    extra = "auth: {login_max_failures_per_user: 3, login_max_failures_per_ip: 5}"
    async with serve_app(district_config(tmp_path, db_url, extra_web=extra)) as app:
        yield app


def _cookies(set_cookie: list[str]) -> dict[str, set[str]]:
    """name -> its attributes, lowercased (httponly, samesite=lax, path=/, ...)."""
    parsed = {}
    for header in set_cookie:
        name_value, *attrs = (part.strip() for part in header.split(";"))
        parsed[name_value.split("=", 1)[0]] = {a.lower() for a in attrs}
    return parsed


async def test_login_me_logout(web: WebApp) -> None:
    await add_user(web.auth, "amy", Role.SCHOOL_PRINCIPAL, "school:sch-e1")
    r = await web.client.post("/api/auth/login", json={"username": "Amy ", "password": PASSWORD})
    assert r.status_code == 200, r.text
    me = r.json()
    assert (me["username"], me["role"], me["scope"]) == ("amy", "school_principal", "school:sch-e1")
    assert me["scope_name"] == "学校sch-e1" and me["locale"] == "zh-CN" and me["admin"]
    cookies = _cookies(r.headers.get_list("set-cookie"))
    assert {"httponly", "samesite=lax", "path=/"} <= cookies[SESSION_COOKIE]
    assert "secure" not in cookies[SESSION_COOKIE]  # plain http: the console has no https URL
    assert "httponly" not in cookies[CSRF_COOKIE]  # the console's script reads it
    assert r.cookies[CSRF_COOKIE] == me["csrf_token"]

    assert (await web.client.get("/api/auth/me")).json()["csrf_token"] == me["csrf_token"]
    csrf = {CSRF_HEADER: me["csrf_token"]}
    assert (await web.client.post("/api/auth/logout", headers=csrf)).status_code == 204
    assert SESSION_COOKIE not in web.client.cookies
    web.client.cookies.clear()
    stale = {"Cookie": f"{SESSION_COOKIE}={r.cookies[SESSION_COOKIE]}"}
    r = await web.client.get("/api/auth/me", headers=stale)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    actions = await _audit_actions(web)
    assert actions[-2:] == ["login", "logout"]


async def test_https_deployments_get_secure_strict_cookies(tmp_path: Path) -> None:
    extra = "public_url: 'https://mcld.example.edu.cn/', auth: {cookie_samesite: strict}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with serve_app(district_config(tmp_path, url, extra_web=extra)) as web:
        await add_user(web.auth, "amy", Role.DISTRICT_STAFF, "district")
        r = await web.client.post("/api/auth/login", json={"username": "amy", "password": PASSWORD})
    for attrs in _cookies(r.headers.get_list("set-cookie")).values():
        assert {"secure", "samesite=strict"} <= attrs


async def test_wrong_password_and_unknown_user_answer_alike(web: WebApp) -> None:
    await add_user(web.auth, "amy", Role.DISTRICT_STAFF, "district")
    wrong = await web.client.post("/api/auth/login", json={"username": "amy", "password": "x"})
    nobody = await web.client.post("/api/auth/login", json={"username": "bob", "password": "x"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()
    assert wrong.json()["error"]["code"] == "bad_credentials"
    assert (await _audit_actions(web))[-2:] == ["login_failed", "login_failed"]


async def test_disabled_accounts_cannot_log_in(web: WebApp) -> None:
    await add_user(web.auth, "amy", Role.DISTRICT_STAFF, "district", disabled=True)
    r = await web.client.post("/api/auth/login", json={"username": "amy", "password": PASSWORD})
    assert r.status_code == 401


async def test_login_is_rate_limited_per_user_and_per_address(web: WebApp) -> None:
    for name in ("amy", "bob", "cat"):
        await add_user(web.auth, name, Role.DISTRICT_STAFF, "district")
    login = "/api/auth/login"
    for _ in range(3):
        r = await web.client.post(login, json={"username": "amy", "password": "guess"})
        assert r.status_code == 401
    r = await web.client.post(login, json={"username": "amy", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right one
    assert r.json()["error"]["code"] == "rate_limited"
    r = await web.client.post(login, json={"username": "bob", "password": PASSWORD})
    assert r.status_code == 200  # another user from the same address (1 more failure left)
    for _ in range(2):
        await web.client.post(login, json={"username": "bob", "password": "guess"})
    r = await web.client.post(login, json={"username": "cat", "password": PASSWORD})
    assert r.status_code == 429  # the address has used up its 5 failures


async def test_every_change_with_a_session_needs_the_csrf_token(web: WebApp) -> None:
    user_id = await add_user(web.auth, "amy", Role.DISTRICT_STAFF, "district")
    headers = await session_headers(web.auth, user_id)
    cookie_only = {"Cookie": headers["Cookie"]}
    assert (await web.client.get("/api/auth/me", headers=cookie_only)).status_code == 200
    for csrf in ({}, {CSRF_HEADER: "forged"}, {CSRF_HEADER: ""}):
        r = await web.client.patch(
            "/api/auth/me", json={"locale": "en"}, headers={**cookie_only, **csrf}
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await web.client.patch("/api/auth/me", json={"locale": "en"}, headers=headers)
    assert r.status_code == 200 and r.json()["locale"] == "en"


async def test_api_tokens(web: WebApp) -> None:
    user_id = await add_user(web.auth, "amy", Role.TOWN_STAFF, "town:town-e")
    session = await session_headers(web.auth, user_id)
    r = await web.client.post(
        "/api/auth/tokens", json={"name": "大屏", "days": 30}, headers=session
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("bkh_")
    bearer = {"Authorization": f"Bearer {created['token']}"}
    me = (await web.client.get("/api/auth/me", headers=bearer)).json()
    assert me["username"] == "amy" and me["csrf_token"] is None
    r = await web.client.patch("/api/auth/me", json={"locale": "en"}, headers=bearer)
    assert r.status_code == 200  # no CSRF token: browsers never send bearer tokens by themselves
    r = await web.client.post("/api/auth/tokens", json={"name": "x"}, headers=bearer)
    assert r.status_code == 403  # a token cannot mint tokens
    listed = (await web.client.get("/api/auth/tokens", headers=session)).json()
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    r = await web.client.delete(f"/api/auth/tokens/{created['id']}", headers=session)
    assert r.status_code == 204
    assert (await web.client.get("/api/auth/me", headers=bearer)).status_code == 401
    for junk in ("Bearer bkh_nope", "Bearer ", "Basic YWRtaW46YWRtaW4="):
        r = await web.client.get("/api/auth/me", headers={"Authorization": junk})
        assert r.status_code == 401


async def test_changing_the_password_ends_other_sessions(web: WebApp) -> None:
    user_id = await add_user(web.auth, "amy", Role.DISTRICT_STAFF, "district")
    here = await session_headers(web.auth, user_id)
    elsewhere = await session_headers(web.auth, user_id)
    url = "/api/auth/password"
    body = {"current_password": "wrong", "new_password": "a much longer one"}
    assert (await web.client.post(url, json=body, headers=here)).status_code == 403
    body = {"current_password": PASSWORD, "new_password": "short"}
    assert (await web.client.post(url, json=body, headers=here)).status_code == 422
    body = {"current_password": PASSWORD, "new_password": "a much longer one"}
    assert (await web.client.post(url, json=body, headers=here)).status_code == 204
    assert (await web.client.get("/api/auth/me", headers=here)).status_code == 200
    assert (await web.client.get("/api/auth/me", headers=elsewhere)).status_code == 401
    login = {"username": "amy", "password": "a much longer one"}
    assert (await web.client.post("/api/auth/login", json=login)).status_code == 200


async def test_errors_are_json_and_do_not_echo_input(web: WebApp) -> None:
    r = await web.client.get("/api/no-such-thing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await web.client.post("/api/auth/login", json={"username": "amy", "password": 12345678})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error" and error["message_zh"]
    assert error["details"][0]["loc"] == ["body", "password"]
    assert "12345678" not in r.text
    r = await web.client.put("/api/auth/me")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def _audit_actions(web: WebApp) -> list[str]:
    async with web.hub.db.session() as s:
        return list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
