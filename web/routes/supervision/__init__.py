"""Supervision duties, within the caller's scope, as three routers under /api/supervision:

- rounds: the checklist, inspection rounds (巡查) and their evidence snapshots;
- duties: accompany-meal records (陪餐) and the compliance view of every duty rule;
- manual: violations an inspector raises by hand during a round.
"""

from fastapi import APIRouter

from . import duties, manual, rounds

__all__ = ["router"]

router = APIRouter()
router.include_router(rounds.router)
router.include_router(duties.router)
router.include_router(manual.router)
