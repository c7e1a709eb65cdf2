"""The watch page's own route: what a special supervisor link may watch, and until when.

Only a link's holder gets an answer (web.auth.SupervisorLinkDep); the page then opens the
school's cameras through the live routes, which accept the same link.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from web.auth import SupervisorLinkDep, not_found
from web.deps import HubDep
from web.errors import ERROR_RESPONSES
from web.routes.tree import TreeSchool, district_tree

router = APIRouter(prefix="/api", tags=["supervisor links"], responses=ERROR_RESPONSES)


class WatchView(BaseModel):
    name: str
    expires_at: datetime
    school: TreeSchool


@router.get("/watch")
async def watch(link: SupervisorLinkDep, hub: HubDep) -> WatchView:
    """The link's holder, its expiry and its school's kitchens and cameras (names only)."""
    tree = district_tree(hub.config, frozenset({link.school_id}))
    schools = [*(s for t in tree.towns for s in t.schools), *tree.direct_schools]
    if not schools:  # removed from the config since the link was made
        raise not_found("school")
    return WatchView(name=link.name, expires_at=link.expires_at, school=schools[0])
