"""The district as the console's tree shows it: towns, schools, kitchens, cameras (names only;
live state comes from /api/cameras). Filtered to the caller's scope."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.config import HubConfig, School
from web.auth import CurrentUser, visible_school_ids
from web.deps import HubDep
from web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api", tags=["cameras"], responses=ERROR_RESPONSES)


class TreeCamera(BaseModel):
    id: str
    name: str
    room: str
    enabled: bool
    has_sub_stream: bool


class TreeKitchen(BaseModel):
    id: str
    name: str
    cameras: list[TreeCamera]


class TreeSchool(BaseModel):
    id: str
    name: str
    kind: str
    kitchens: list[TreeKitchen]


class TreeTown(BaseModel):
    id: str
    name: str
    schools: list[TreeSchool]


class DistrictTree(BaseModel):
    id: str
    name: str
    timezone: str
    towns: list[TreeTown]
    direct_schools: list[TreeSchool] = Field(description="Bureau-direct schools (局直学校)")


def _school(school: School) -> TreeSchool:
    kitchens = {k.id: TreeKitchen(id=k.id, name=k.name, cameras=[]) for k in school.kitchens}
    for camera in school.cameras:
        kitchen_id = camera.kitchen or (school.kitchens[0].id if school.kitchens else "")
        kitchen = kitchens.setdefault(
            kitchen_id, TreeKitchen(id=kitchen_id, name=kitchen_id, cameras=[])
        )
        kitchen.cameras.append(
            TreeCamera(
                id=camera.id,
                name=camera.name,
                room=str(camera.room),
                enabled=camera.enabled,
                has_sub_stream=camera.sub_rtsp_url is not None,
            )
        )
    return TreeSchool(
        id=school.id, name=school.name, kind=str(school.kind), kitchens=list(kitchens.values())
    )


def district_tree(config: HubConfig, visible: frozenset[str]) -> DistrictTree:
    schools = [s for s in config.schools if s.id in visible]
    towns = [
        TreeTown(id=t.id, name=t.name, schools=[_school(s) for s in schools if s.town == t.id])
        for t in config.towns
    ]
    return DistrictTree(
        id=config.district.id,
        name=config.district.name,
        timezone=config.district.timezone,
        towns=[t for t in towns if t.schools],
        direct_schools=[_school(s) for s in schools if s.town is None],
    )


@router.get("/tree")
async def get_tree(user: CurrentUser, hub: HubDep) -> DistrictTree:
    """District > town > school > kitchen > camera, as far as the caller may see."""
    return district_tree(hub.config, visible_school_ids(user, hub.config))
