"""Account management over the API: who may grant what, and what a change does to sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.db.models import AuditEntry
from tests.webapp import (
    PASSWORD,
    District,
    WebApp,
    seed_district,
    session_headers,
)

NEW_PASSWORD = "a long new password"


def _account(role: str, scope: str, name: str = "new-user") -> dict[str, Any]:
    return {
        "username": name,
        "password": NEW_PASSWORD,
        "display_name": "新账号",
        "role": role,
        "scope": scope,
    }


async def _as(web: WebApp, d: District, who: str) -> dict[str, str]:
    web.client.cookies.clear()
    return await session_headers(web.auth, d.users[who])


async def test_a_district_admin_manages_any_account(web: WebApp) -> None:
    d = await seed_district(web)
    admin = await _as(web, d, "admin-x")
    body = _account("school_principal", "school:sch-w1", "New.Principal")
    r = await web.client.post("/api/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["username"] == "new.principal" and len(created["id"]) == 32
    login = {"username": "new.principal", "password": NEW_PASSWORD}
    assert (await web.client.post("/api/auth/login", json=login)).status_code == 200

    r = await web.client.post("/api/users", json=body, headers=admin)
    assert r.status_code == 409
    for bad, code in (
        ({**body, "username": "bad-2", "password": "9 chars!!"}, "weak_password"),
        ({**body, "username": "bad-3", "role": "town_staff"}, "validation_error"),
        ({**body, "username": "bad-4", "scope": "school:no-such"}, "validation_error"),
        ({**body, "username": "bad-5", "is_admin": True}, "validation_error"),
    ):
        r = await web.client.post("/api/users", json=bad, headers=admin)
        assert (r.status_code, r.json()["error"]["code"]) == (422, code), bad

    url = f"/api/users/{created['id']}"
    r = await web.client.patch(url, json={"role": "canteen_manager"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "canteen_manager"
    assert (await web.client.delete(url, headers=admin)).status_code == 204
    assert (await web.client.get(url, headers=admin)).status_code == 404
    async with web.hub.db.session() as s:
        actions = list(
            await s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "admin-x"))
        )
    assert [a for a in actions if a.startswith("user_")] == [
        "user_create",
        "user_update",
        "user_delete",
    ]


GRANTS = [  # (who asks, role, scope, status): nobody grants above their own power
    ("principal-e1", "canteen_manager", "school:sch-e1", 201),
    ("principal-e1", "school_principal", "school:sch-e1", 403),
    ("principal-e1", "canteen_manager", "school:sch-e2", 403),
    ("manager-e1", "canteen_manager", "school:sch-e1", 403),
    ("town-e-staff", "school_principal", "school:sch-e2", 201),
    ("town-e-staff", "school_principal", "school:sch-w1", 403),
    ("town-e-staff", "canteen_manager", "school:sch-d1", 403),  # bureau-direct: not the town's
    ("town-e-staff", "town_staff", "town:town-e", 403),
    ("town-e-staff", "district_admin", "district", 403),
    ("staff-x", "canteen_manager", "school:sch-e1", 403),
    ("admin-x", "district_admin", "district", 201),
]


async def test_who_may_grant_what(web: WebApp) -> None:
    d = await seed_district(web)
    wrong = []
    for n, (who, role, scope, status) in enumerate(GRANTS):
        body = _account(role, scope, f"grant-{n}")
        r = await web.client.post("/api/users", json=body, headers=await _as(web, d, who))
        if r.status_code != status:
            wrong.append(f"{who} granting {role} at {scope}: {r.status_code} {r.text[:80]}")
    assert not wrong, "\n".join(wrong)


async def test_scoped_admins_cannot_escalate_or_reach_outside(web: WebApp) -> None:
    d = await seed_district(web)
    town = await _as(web, d, "town-e-staff")

    async def patch(who: str, body: dict[str, Any]) -> int:
        r = await web.client.patch(f"/api/users/{d.users[who]}", json=body, headers=town)
        return r.status_code

    assert await patch("principal-e2", {"display_name": "二小校长"}) == 200
    assert await patch("principal-e2", {"role": "town_staff", "scope": "town:town-e"}) == 403
    assert await patch("principal-e2", {"scope": "school:sch-w1"}) == 403
    assert await patch("principal-w1", {"display_name": "x"}) == 404  # another town's account
    assert await patch("town-w-staff", {"display_name": "x"}) == 404
    assert await patch("town-e-staff", {"role": "district_admin"}) == 403  # oneself
    r = await web.client.delete(f"/api/users/{d.users['town-e-staff']}", headers=town)
    assert r.status_code == 403
    admin = await _as(web, d, "admin-x")
    r = await web.client.patch(
        f"/api/users/{d.users['admin-x']}", json={"disabled": True}, headers=admin
    )
    assert r.status_code == 403  # so there is always an admin left: the one acting


async def test_disabling_or_resetting_an_account_ends_its_sessions(web: WebApp) -> None:
    d = await seed_district(web)
    manager = await _as(web, d, "manager-e1")
    other = await _as(web, d, "principal-e2")
    admin = await _as(web, d, "admin-x")
    r = await web.client.patch(
        f"/api/users/{d.users['manager-e1']}", json={"disabled": True}, headers=admin
    )
    assert r.status_code == 200 and r.json()["disabled"]
    assert (await web.client.get("/api/auth/me", headers=manager)).status_code == 401
    login = {"username": "manager-e1", "password": PASSWORD}
    assert (await web.client.post("/api/auth/login", json=login)).status_code == 401
    r = await web.client.patch(
        f"/api/users/{d.users['principal-e2']}", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert r.status_code == 200
    web.client.cookies.clear()
    assert (await web.client.get("/api/auth/me", headers=other)).status_code == 401


async def test_the_account_list_pages(web: WebApp) -> None:
    d = await seed_district(web)
    admin = await _as(web, d, "admin-x")
    names: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await web.client.get("/api/users", params=params, headers=admin)).json()
        names += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == sorted(names) and len(names) == len(set(names)) == len(d.users) + 1
    for junk in ("x", "W10", "WzFd", "WyJhIiwiYiJd"):  # not base64 JSON, [], [1], ["a","b"]
        r = await web.client.get("/api/users", params={"cursor": junk}, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor", junk
