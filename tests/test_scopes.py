"""Scopes through every route of the OpenAPI spec, and what each role sees.

`test_every_route_checks_login_csrf_and_scope` walks `app.openapi()["paths"]`: a route added
later without authentication, CSRF or a scope check fails it; nothing needs listing except
the public routes in PUBLIC, each with the reason it is public.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute

from tests.webapp import (
    ACCOUNTS,
    CAMERAS,
    T0,
    District,
    RawResponse,
    WebApp,
    district_config,
    raw_request,
    seed_district,
    session_headers,
    town_of,
)
from web.auth import CSRF_HEADER

# Public on purpose. /docs, /redoc and /openapi.json are not in the spec's paths at all.
PUBLIC = {
    ("POST", "/api/auth/login"): "how anyone gets a session",
    ("GET", "/healthz"): "liveness for monitoring; totals only, no ids or names",
    # The one-click link in alert messages: the HMAC-signed, expiring token in the URL is the
    # credential and names one event and one recipient (hub.alerts); GET only shows a form.
    ("GET", "/ack/{token}"): "signed acknowledgement link from an alert message",
    ("POST", "/ack/{token}"): "signed acknowledgement link from an alert message",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ME = "principal-e1"  # the caller below: principal of sch-e1 in town-e
OTHER_SCHOOLS = ["sch-e2", "sch-w1", "sch-d1"]  # same town, other town, bureau-direct
PRINCIPAL = {
    "sch-e1": "principal-e1",
    "sch-e2": "principal-e2",
    "sch-w1": "principal-w1",
    "sch-d1": "principal-d1",
}


def foreign_values(d: District, school: str) -> dict[str, str]:
    """A value of `school` (not ME's) for each parameter or body field that names a resource."""
    camera = CAMERAS[school][0]
    return {
        "camera_id": camera,
        "camera": camera,
        "school_id": school,
        "school": school,
        "town_id": town_of(school) or "town-w",
        "town": town_of(school) or "town-w",
        "event_id": d.events[camera],
        "export_id": d.exports[camera],
        "round_id": d.rounds[school],
        "evidence_id": d.evidence[school],
        "user_id": d.users[PRINCIPAL[school]],
        "token_id": d.tokens[PRINCIPAL[school]],
        "link_id": d.links[school],
        "zone_id": d.zones[school],
        # Live sessions need a WebRTC peer to exist; an id that is not the caller's must
        # answer like one of another school's: 404.
        "session_id": secrets.token_hex(16),
        "node": "node-a",
        "scope": f"school:{school}",
    }


def foreign_markers(d: District) -> set[str]:
    """Strings that must never appear in a response to ME."""
    mine = {"sch-e1", *CAMERAS["sch-e1"], ME, "manager-e1"}
    markers = {"town-w", d.hub_event}
    for school in OTHER_SCHOOLS:
        markers |= {school, *CAMERAS[school]}
        markers |= {d.events[c] for c in CAMERAS[school]} | {d.exports[c] for c in CAMERAS[school]}
        markers |= {d.rounds[school], d.evidence[school], d.links[school], d.zones[school]}
    for name in ACCOUNTS:
        if name not in mine:
            markers |= {name, d.users[name], d.tokens[name]}
    return markers


def _schema(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            return _schema(spec, next(n for n in node[key] if n.get("type") != "null"))
    return node


def _sample(spec: dict[str, Any], name: str, node: dict[str, Any], n: int) -> Any:
    """A plausible value by type; the n-th date-time field is n hours after T0, so a
    start/end pair makes a valid range and only the scope can refuse the request."""
    node = _schema(spec, node)
    if "enum" in node:
        return node["enum"][-1]  # roles: the weakest last, e.g. canteen_manager
    kind = node.get("type")
    if kind == "string":
        if node.get("format") == "date-time":
            return (T0 - timedelta(days=1) + timedelta(hours=n)).isoformat()
        if node.get("format") == "date":
            return (T0 - timedelta(days=1)).date().isoformat()
        return "probe-value-12345"
    if kind == "integer":
        return int(node.get("minimum", 1))
    return {"boolean": False, "number": 1.0, "array": [], "object": {}}.get(str(kind))


def request_body(spec: dict[str, Any], op: dict[str, Any], foreign: dict[str, str]) -> Any:
    """The required fields, plus any field naming a resource, which names `foreign`'s."""
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema = _schema(spec, content["application/json"]["schema"])
    props = schema.get("properties", {})
    wanted = set(schema.get("required", [])) | (props.keys() & foreign.keys())
    return {
        name: foreign[name] if name in foreign else _sample(spec, name, props[name], n)
        for n, name in enumerate(props)  # in declaration order: start before end
        if name in wanted
    }


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if (method.upper(), path) not in PUBLIC
    ]


def fill_path(path: str, op: dict[str, Any], values: dict[str, str]) -> str:
    for param in op.get("parameters", []):
        if param["in"] == "path":
            name = param["name"]
            if name not in values:
                pytest.fail(f"{path}: no fixture value for path parameter {name!r}")
            path = path.replace("{" + name + "}", values[name])
    return path


def leaks(text: str, markers: set[str]) -> list[str]:
    return sorted(m for m in markers if m in text)


async def test_every_route_checks_login_csrf_and_scope(web: WebApp) -> None:
    d = await seed_district(web)
    spec = web.app.openapi()
    markers = foreign_markers(d)
    problems: list[str] = []

    async def send(
        method: str, url: str, body: Any, headers: dict[str, str], **params: str
    ) -> RawResponse:
        return await raw_request(
            web, method, url, headers=headers, json_body=body, params=params or None
        )

    walked = operations(spec)
    for method, path, op in walked:
        where = f"{method} {path}"
        anyone = foreign_values(d, "sch-w1")
        url, body = fill_path(path, op, anyone), request_body(spec, op, anyone)
        r = await send(method, url, body, {})
        if r.status != 401:
            problems.append(f"{where}: anonymous caller got {r.status}, not 401")

        if method in UNSAFE:  # a cookie session without the CSRF header
            headers = await session_headers(web.auth, d.users[ME])
            del headers[CSRF_HEADER]
            r = await send(method, url, body, headers)
            if r.status != 403 or b"csrf_failed" not in r.body:
                problems.append(f"{where}: no CSRF token, got {r.status} {r.text[:80]}")

        for school in OTHER_SCHOOLS:
            values = foreign_values(d, school)
            url, body = fill_path(path, op, values), request_body(spec, op, values)
            names_foreign = url != path or bool(body and set(body) & values.keys())
            r = await send(method, url, body, await session_headers(web.auth, d.users[ME]))
            if names_foreign and r.status not in (403, 404):
                problems.append(f"{where} for {school}: got {r.status}, not 403/404")
            elif r.status >= 500:
                problems.append(f"{where}: server error {r.status}")
            elif r.status < 300 and leaks(r.text, markers):
                problems.append(f"{where}: reveals {leaks(r.text, markers)}")
            query: dict[str, str] = {
                p["name"]: values[p["name"]]
                for p in op.get("parameters", [])
                if p["in"] == "query" and p["name"] in values
            }
            if method == "GET" and query:  # asking for another school by filter
                r = await send(
                    method, url, None, await session_headers(web.auth, d.users[ME]), **query
                )
                if r.status < 300 and leaks(r.text, markers):
                    problems.append(f"{where}?{query}: reveals {leaks(r.text, markers)}")
    assert not problems, "\n".join(problems)
    walked_paths = {path for _, path, _ in walked}
    assert {"/api/cameras", "/api/events/{event_id}", "/api/users/{user_id}"} <= walked_paths


# The only routes a special supervisor link may call: its page's own, and the live views.
LINK_ROUTES = {
    ("GET", "/api/watch"),
    ("POST", "/api/cameras/{camera_id}/whep"),
    ("DELETE", "/api/live/sessions/{session_id}"),
    ("GET", "/api/live/ice"),
}
LINK_SCHOOL = "sch-e1"


async def test_a_supervisor_link_reaches_only_its_schools_live_views(web: WebApp) -> None:
    """Every route of the spec, called with sch-e1's link: 403/404 unless it is one of
    LINK_ROUTES naming nothing of another school."""
    d = await seed_district(web)
    spec = web.app.openapi()
    link = {"Authorization": f"Bearer {d.link_secrets[LINK_SCHOOL]}"}
    markers = foreign_markers(d)
    problems: list[str] = []
    reached: set[tuple[str, str]] = set()
    for method, path, op in operations(spec):
        for school in [LINK_SCHOOL, *OTHER_SCHOOLS]:
            values = foreign_values(d, school)
            url, body = fill_path(path, op, values), request_body(spec, op, values)
            r = await raw_request(web, method, url, headers=link, json_body=body)
            names_school = url != path or bool(body and set(body) & values.keys())
            mine = school == LINK_SCHOOL or not names_school
            where = f"{method} {path} for {school}"
            if (method, path) in LINK_ROUTES and mine:
                if r.status in (401, 403):
                    problems.append(f"{where}: the link was refused its own live view")
                reached.add((method, path))
            elif r.status not in (403, 404):
                problems.append(f"{where}: got {r.status}, not 403/404")
            if r.status < 300 and leaks(r.text, markers):
                problems.append(f"{where}: reveals {leaks(r.text, markers)}")
    assert not problems, "\n".join(problems)
    assert reached == LINK_ROUTES  # every allowed route is still in the spec


def test_no_route_hides_from_the_walk(tmp_path: Path) -> None:
    """Routes left out of the spec, and WebSockets, would escape the walk above."""
    from web.app import create_app

    app = create_app(district_config(tmp_path, "sqlite+aiosqlite:///unused.db"))
    for route in app.routes:
        if isinstance(route, APIWebSocketRoute):
            pytest.fail(f"WebSocket {route.path}: give it a scope test and list it here")
        if isinstance(route, APIRoute):
            assert route.include_in_schema, f"{route.path} is hidden from the OpenAPI spec"
    assert PUBLIC.keys() <= {
        (m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops
    }


# -- what each role sees ---------------------------------------------------------------

ALL = {c for cams in CAMERAS.values() for c in cams}
SEES: dict[str, set[str]] = {
    "admin-x": ALL,
    "staff-x": ALL,
    "town-e-staff": {*CAMERAS["sch-e1"], *CAMERAS["sch-e2"]},
    "town-w-staff": set(CAMERAS["sch-w1"]),
    "principal-e1": set(CAMERAS["sch-e1"]),
    "manager-e1": set(CAMERAS["sch-e1"]),
    "principal-d1": set(CAMERAS["sch-d1"]),
}
ACCOUNTS_SEEN: dict[str, set[str] | None] = {  # None: 403, not an account manager
    "admin-x": {*ACCOUNTS, "admin"},
    "staff-x": None,
    "town-e-staff": {"town-e-staff", "principal-e1", "manager-e1", "principal-e2"},
    "principal-e1": {"principal-e1", "manager-e1"},
    "manager-e1": None,
}


async def test_each_role_sees_its_part_of_the_district(web: WebApp) -> None:
    d = await seed_district(web)
    wrong: list[str] = []
    for who, cameras in SEES.items():
        headers = await session_headers(web.auth, d.users[who])
        web.client.cookies.clear()

        async def get(url: str, headers: dict[str, str] = headers, **params: Any) -> Any:
            return await web.client.get(url, headers=headers, params=params)

        listed = {c["id"] for c in (await get("/api/cameras")).json()}
        if listed != cameras:
            wrong.append(f"{who} cameras: {sorted(listed)}")
        events = {e["id"] for e in (await get("/api/events", limit=200)).json()["items"]}
        expected = {d.events[c] for c in cameras} | ({d.hub_event} if cameras == ALL else set())
        if events != expected:
            wrong.append(f"{who} events: {len(events)} instead of {len(expected)}")
        for camera, event_id in d.events.items():
            status = (await get(f"/api/events/{event_id}/snapshot")).status_code
            if status != (200 if camera in cameras else 404):
                wrong.append(f"{who} snapshot of {camera}: {status}")
            filtered = (await get("/api/events", camera=camera)).json()["items"]
            if len(filtered) != (camera in cameras):
                wrong.append(f"{who} events?camera={camera}: {len(filtered)}")
        if who in ACCOUNTS_SEEN:
            r = await get("/api/users", limit=200)
            seen = {u["username"] for u in r.json()["items"]} if r.is_success else None
            if seen != ACCOUNTS_SEEN[who]:
                wrong.append(f"{who} accounts: {r.status} {seen}")
    assert not wrong, "\n".join(wrong)


async def test_audit_log_is_scoped_to_cameras_and_accounts(web: WebApp) -> None:
    d = await seed_district(web)
    for who, cameras in (("admin-x", ALL), ("principal-e1", set(CAMERAS["sch-e1"]))):
        headers = await session_headers(web.auth, d.users[who])
        items = (await web.client.get("/api/audit", headers=headers, params={"limit": 200})).json()[
            "items"
        ]
        assert {e["camera_id"] for e in items if e["camera_id"]} == cameras
        actors = {e["actor"] for e in items} - {"system"}
        if who == "principal-e1":
            assert actors == {"principal-e1", "manager-e1"}
    headers = await session_headers(web.auth, d.users["staff-x"])
    assert (await web.client.get("/api/audit", headers=headers)).status_code == 403
