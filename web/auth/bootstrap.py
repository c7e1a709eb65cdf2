"""The first administrator: created at the first start with a random password, printed once.

There is no default password anywhere. The password goes to the console (stdout) only, never
to the log, which may be shipped elsewhere; the log just says that it was printed. Later
starts find accounts in the database and print nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TextIO

from sqlalchemy.exc import IntegrityError

from storage.db.database import Database
from storage.db.models_accounts import User
from web.auth import store
from web.auth.passwords import Passwords, random_password
from web.auth.roles import Role, Scope

__all__ = ["ensure_first_admin"]

log = logging.getLogger(__name__)

_BANNER = """\
================================================================================
Bright Kitchen Hub: first start. Created the administrator account.
明厨亮灶平台首次启动，已创建管理员账号。

    user name 用户名: {username}
    password  密码:   {password}

This password is shown ONCE. Log in and change it now.
密码只显示这一次，请立即登录并修改密码。
================================================================================
"""


async def ensure_first_admin(
    db: Database, passwords: Passwords, *, username: str, at: datetime, out: TextIO
) -> str | None:
    """Create a district administrator if no account exists; return its password then."""
    async with db.session() as s:
        if await store.user_count(s) > 0:
            return None
    password = random_password()
    user = User(
        id=store.new_id(),
        username=username.lower(),
        display_name="管理员",
        password_hash=await passwords.hash(password),
        role=Role.DISTRICT_ADMIN.value,
        scope=str(Scope.district()),
        locale="zh-CN",
        disabled=False,
        created_at=at,
        updated_at=at,
    )
    try:
        async with db.session() as s:
            if await store.user_count(s) > 0:  # another hub process got there first
                return None
            s.add(user)
            store.audit(
                s,
                at=at,
                actor="system",
                action="user_create",
                detail={
                    "user": user.username,
                    "role": user.role,
                    "scope": user.scope,
                    "bootstrap": True,
                },
            )
    except IntegrityError:
        return None
    out.write(_BANNER.format(username=user.username, password=password))
    out.flush()
    log.warning("first start: created administrator %r; its password was printed once", username)
    return password
