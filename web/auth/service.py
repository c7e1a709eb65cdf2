"""Authentication: log-in, browser sessions and API tokens.

Sessions are rows on the server, not signed cookies: logging out, disabling a user or
changing their role takes effect on the next request, there is no signing key to keep
secret and rotate, and the tens of users a district has cost one indexed lookup per request.
The cookie holds 256 random bits; the row keeps only their SHA-256.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final, TextIO

from hub.config.web import USERNAME_PATTERN, WebConfig
from storage.db.database import Database
from storage.db.models_accounts import ApiToken, User, UserSession
from web.auth import store
from web.auth.bootstrap import ensure_first_admin
from web.auth.passwords import Passwords
from web.auth.ratelimit import LoginLimiter
from web.auth.roles import Role, Scope

__all__ = [
    "TOKEN_PREFIX",
    "Auth",
    "AuthError",
    "AuthUser",
    "BadCredentials",
    "Login",
    "RateLimited",
    "Via",
]

log = logging.getLogger(__name__)

TOKEN_PREFIX: Final = "bkh_"  # tells API tokens apart from other secrets in logs and scanners
_TOUCH_EVERY: Final = timedelta(seconds=60)  # last_seen/last_used writes at most this often
_USERNAME_RE: Final = re.compile(USERNAME_PATTERN)


class AuthError(Exception):
    """Log-in refused."""


class BadCredentials(AuthError):
    """Unknown user, wrong password or disabled account: deliberately indistinguishable."""


class RateLimited(AuthError):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed log-ins; retry in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class Via(StrEnum):
    SESSION = "session"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class AuthUser:
    """The authenticated caller of one request."""

    id: str
    username: str
    display_name: str
    role: Role
    scope: Scope
    locale: str
    via: Via
    credential_id: str  # the session's hash or the API token's id
    csrf_token: str | None  # sessions only: must come back in X-CSRF-Token on changes


@dataclass(frozen=True, slots=True)
class Login:
    user: AuthUser
    session_token: str  # the cookie value; never stored
    expires_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _auth_user(user: User, via: Via, credential_id: str, csrf: str | None) -> AuthUser:
    return AuthUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        scope=Scope.parse(user.scope),
        locale=user.locale,
        via=via,
        credential_id=credential_id,
        csrf_token=csrf,
    )


class Auth:
    """Owned by the web app's lifespan; routes reach it through web.auth.deps."""

    def __init__(
        self,
        db: Database,
        web: WebConfig,
        *,
        passwords: Passwords | None = None,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        cfg = web.auth
        self.db = db
        self.config = cfg
        self.secure_cookies = web.secure_cookies
        self.passwords = passwords or Passwords()
        self.now = now
        self.session_max_age = timedelta(hours=cfg.session_max_age_h)
        self._idle = timedelta(minutes=cfg.session_idle_min)
        self.limiter = LoginLimiter(
            per_user=cfg.login_max_failures_per_user,
            per_ip=cfg.login_max_failures_per_ip,
            window_s=cfg.login_window_min * 60,
            clock=monotonic,
        )

    async def start(self, out: TextIO | None = None) -> None:
        """Create the first administrator if there are no accounts at all."""
        await ensure_first_admin(
            self.db,
            self.passwords,
            username=self.config.bootstrap_admin,
            at=self.now(),
            out=out or sys.stdout,
        )

    async def login(self, username: str, password: str, *, client: str) -> Login:
        name = username.strip().lower()
        wait = self.limiter.retry_after(name, client)
        if wait is not None:
            raise RateLimited(wait)
        user = None
        if _USERNAME_RE.match(name):
            async with self.db.session() as s:
                user = await store.user_by_username(s, name)
        usable = user is not None and not user.disabled
        # The check runs (against a dummy hash) even for unknown users: same time either way.
        ok = await self.passwords.verify(user.password_hash if usable and user else None, password)
        now = self.now()
        if not (ok and usable and user):
            self.limiter.failed(name, client)
            async with self.db.session() as s:
                store.audit(
                    s,
                    at=now,
                    actor=name if _USERNAME_RE.match(name) else "?",
                    action="login_failed",
                    detail={"client": client},
                )
            raise BadCredentials("wrong user name or password")
        self.limiter.succeeded(name)
        rehash = None
        if self.passwords.needs_rehash(user.password_hash):
            rehash = await self.passwords.hash(password)
        return await self.open_session(user.id, client=client, rehash=rehash)

    async def open_session(self, user_id: str, *, client: str, rehash: str | None = None) -> Login:
        """A new browser session for the user, recorded as a log-in."""
        now = self.now()
        token, csrf = store.new_secret(), store.new_secret()
        row = UserSession(
            id=store.digest(token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.session_max_age,
            client=client[:64],
        )
        async with self.db.session() as s:
            user = await s.get(User, user_id)
            if user is None or user.disabled:
                raise BadCredentials("no such user")
            await store.delete_expired_sessions(s, now)
            s.add(row)
            user.last_login_at = now
            if rehash is not None:
                user.password_hash = rehash
            store.audit(s, at=now, actor=user.username, action="login", detail={"client": client})
            auth_user = _auth_user(user, Via.SESSION, row.id, csrf)
        return Login(auth_user, token, row.expires_at)

    async def logout(self, user: AuthUser) -> None:
        """End the caller's browser session; an API token is left alone (revoke it instead)."""
        if user.via is not Via.SESSION:
            return
        async with self.db.session() as s:
            row = await s.get(UserSession, user.credential_id)
            if row is not None:
                await s.delete(row)
            store.audit(s, at=self.now(), actor=user.username, action="logout")

    async def authenticate_session(self, token: str) -> AuthUser | None:
        session_id = store.digest(token)
        now = self.now()
        async with self.db.session() as s:
            found = await store.session_with_user(s, session_id)
            if found is None:
                return None
            row, user = found
            if user.disabled or row.expires_at <= now or now - row.last_seen_at > self._idle:
                await s.delete(row)
                return None
            if now - row.last_seen_at >= _TOUCH_EVERY:
                row.last_seen_at = now
            return _auth_user(user, Via.SESSION, row.id, row.csrf_token)

    async def authenticate_token(self, token: str) -> AuthUser | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = self.now()
        async with self.db.session() as s:
            found = await store.token_with_user(s, store.digest(token))
            if found is None:
                return None
            row, user = found
            if user.disabled or row.expires_at <= now:
                return None
            if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
                row.last_used_at = now
            return _auth_user(user, Via.TOKEN, row.id, None)

    async def issue_token(self, user: AuthUser, name: str, days: int) -> tuple[ApiToken, str]:
        """A new API token for the user; the secret is returned here and never again."""
        now = self.now()
        secret = TOKEN_PREFIX + store.new_secret()
        row = ApiToken(
            id=store.new_id(),
            user_id=user.id,
            name=name,
            token_hash=store.digest(secret),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        async with self.db.session() as s:
            s.add(row)
            store.audit(
                s, at=now, actor=user.username, action="token_create", detail={"token": row.id}
            )
        return row, secret
