"""Special supervisor links (特别监督员, 家校共治): create, list and revoke.

A principal makes links for their school, a town for its schools, the district for any; a
link lets the person named watch that school's live views until it expires (at most
LINK_MAX_DAYS ahead) or is revoked. The secret is shown once, in the creation answer, as the
watch page URL with the secret in its fragment. Revoking a link ends its live views at once;
expiry ends them through the live viewers' deadline (web.live).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select

from hub.config import HubConfig
from storage.db.models_links import SupervisorLink
from web.auth import (
    LINK_MAX_DAYS,
    AuthDep,
    AuthUser,
    Role,
    Via,
    audit,
    ensure_school_visible,
    not_found,
    require_role,
    scope_clause,
)
from web.auth.links import issue_link, link_owner, link_state
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_time_cursor, make_page
from web.params import RandomId, SlugFilter
from web.routes.live import LiveDep

router = APIRouter(
    prefix="/api/supervisor-links", tags=["supervisor links"], responses=ERROR_RESPONSES
)

WATCH_PAGE = "/watch.html"
# Canteen managers run the kitchen being watched: they neither hand out nor withdraw links.
LinkManager = Annotated[
    AuthUser,
    Depends(
        require_role(
            Role.DISTRICT_ADMIN, Role.DISTRICT_STAFF, Role.TOWN_STAFF, Role.SCHOOL_PRINCIPAL
        )
    ),
]
LinkState = Literal["active", "expired", "revoked"]


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="Who it is for: 家长代表 张女士")
    school: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="The school to watch")
    expires_at: AwareDatetime = Field(
        description=f"When the link stops working: in the future, at most {LINK_MAX_DAYS} days"
    )


class LinkView(BaseModel):
    id: str
    name: str
    school: str
    school_name: str
    state: LinkState
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None


class NewLink(LinkView):
    secret: str = Field(description="Shown only in this response")
    url: str = Field(description="The watch page with the secret in its fragment: send this")


def _view(row: SupervisorLink, config: HubConfig, now: datetime) -> LinkView:
    try:
        school_name = config.school(row.school_id).name
    except KeyError:
        school_name = row.school_id  # a school removed from the config since
    refusal = link_state(row, now)
    return LinkView(
        id=row.id,
        name=row.name,
        school=row.school_id,
        school_name=school_name,
        state="active" if refusal is None else "revoked" if row.revoked_at else "expired",
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        last_used_at=row.last_used_at,
    )


@router.post("", status_code=201)
async def create_link(body: LinkCreate, actor: LinkManager, auth: AuthDep, hub: HubDep) -> NewLink:
    """A new link for one school; its secret (in `url`) is shown only here."""
    ensure_school_visible(actor, body.school, hub.config)
    if actor.via is not Via.SESSION:
        # As for API tokens: a leaked token must not mint links that outlive its revocation.
        raise ApiError(403, "forbidden", "log in with a password to create supervisor links")
    name, now = body.name.strip(), auth.now()
    if not name:
        raise ApiError(422, "validation_error", "name is blank", zh="请填写监督员姓名")
    if not now < body.expires_at <= now + timedelta(days=LINK_MAX_DAYS):
        raise ApiError(
            422,
            "validation_error",
            f"expires_at must be in the future and at most {LINK_MAX_DAYS} days ahead",
            zh=f"有效期须在当前时间之后，且不超过 {LINK_MAX_DAYS} 天",
        )
    row, secret = await issue_link(
        hub.db, name=name, school_id=body.school, expires_at=body.expires_at, by=actor.username,
        now=now,
    )  # fmt: skip
    view = _view(row, hub.config, now)
    return NewLink(**view.model_dump(), secret=secret, url=f"{WATCH_PAGE}#{secret}")


@router.get("")
async def list_links(
    actor: LinkManager,
    auth: AuthDep,
    hub: HubDep,
    school: SlugFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LinkView]:
    """Links of the schools in the caller's scope, newest first (never their secrets)."""
    query = select(SupervisorLink).where(
        scope_clause(actor, school_column=SupervisorLink.school_id, config=hub.config)
    )
    if school is not None:
        query = query.where(SupervisorLink.school_id == school)
    if cursor:
        at, last_id = decode_time_cursor(cursor)
        query = query.where(
            or_(
                SupervisorLink.created_at < at,
                and_(SupervisorLink.created_at == at, SupervisorLink.id < last_id),
            )
        )
    query = query.order_by(SupervisorLink.created_at.desc(), SupervisorLink.id.desc())
    async with hub.db.session() as s:
        rows = list(await s.scalars(query.limit(limit + 1)))
    now = auth.now()
    return make_page(
        rows, limit, lambda r: _view(r, hub.config, now), lambda r: (r.created_at.isoformat(), r.id)
    )


@router.delete("/{link_id}", status_code=204)
async def revoke_link(
    link_id: RandomId, actor: LinkManager, auth: AuthDep, hub: HubDep, live: LiveDep
) -> None:
    """Revoke a link: it stops working and its live views end now. Revoking twice is a no-op."""
    now = auth.now()
    async with hub.db.session() as s:
        row = await s.get(SupervisorLink, link_id)
        if row is None:
            raise not_found("supervisor link")
        ensure_school_visible(actor, row.school_id, hub.config)  # 404 outside the scope
        if row.revoked_at is not None:
            return
        row.revoked_at, row.revoked_by = now, actor.username
        audit(
            s,
            at=now,
            actor=actor.username,
            action="supervisor_link_revoke",
            detail={"link": row.id, "name": row.name, "school": row.school_id},
        )
    # After the commit: a viewer opened from here on is refused by the revoked row.
    await live.close_owned_by(link_owner(link_id), reason="revoked")
