"""Suppression zones: proposed from repeated false alarms at one place, applied once accepted."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from detectors.detection import Detection
from hub.config.detection import ViolationType
from hub.detection.judge import CameraJudge, JudgeSettings
from hub.detection.rules import Opened
from hub.detection.suppression import as_zone, evidence_box, propose
from storage.db.models import AuditEntry
from storage.db.models_suppression import SuppressionZone
from tests.webapp import (
    District,
    WebApp,
    seed_district,
    seed_false_alarms,
    session_headers,
)

RAT = ViolationType.RAT
DRAIN = (0.40, 0.70, 0.50, 0.80)  # where the drain is, as parts of the picture


def _near(box: tuple[float, float, float, float], d: float) -> tuple[float, ...]:
    return tuple(v + d for v in box)


def test_three_false_alarms_at_one_place_propose_a_zone_around_them() -> None:
    alarms = [("cam-1", RAT, _near(DRAIN, d)) for d in (0.0, 0.01, -0.01)]
    (proposal,) = propose(alarms, decided=[])
    assert (proposal.camera_id, proposal.type, proposal.false_alarms) == ("cam-1", RAT, 3)
    x0, y0, x1, y1 = proposal.box  # the union of the three, grown by a tenth on each side
    assert x0 < 0.39 and y0 < 0.69 and x1 > 0.51 and y1 > 0.81 and x1 - x0 < 0.2
    assert propose(alarms[:2], decided=[]) == []  # two are not yet a pattern
    elsewhere = [("cam-1", RAT, (0.1, 0.1, 0.2, 0.2)), ("cam-2", RAT, DRAIN),
                 ("cam-1", ViolationType.COCKROACH, DRAIN)]  # fmt: skip
    assert propose(alarms[:2] + elsewhere, decided=[]) == []  # other places, cameras, rules
    assert propose(alarms, decided=[("cam-1", RAT, proposal.box)]) == []  # decided already


def test_the_evidence_box_comes_from_the_events_detail() -> None:
    detail = json.dumps({"evidence": [["rat", 0.8, 512, 504, 640, 576]], "frame_size": [1280, 720]})
    assert evidence_box(detail, RAT) == (0.4, 0.7, 0.5, 0.8)
    assert evidence_box(detail, ViolationType.NO_CHEF_HAT) is None  # no head_bare in it
    assert evidence_box("not json", RAT) is None and evidence_box(None, RAT) is None


def test_an_accepted_zone_silences_its_rule_there_and_nowhere_else() -> None:
    settings = JudgeSettings(
        rules=frozenset({RAT}), zones=(), persistence=lambda t: (2, 3), min_score=lambda t: 0.5,
        cooldown_s=30, update_every_s=60, track_max_age_s=10,
    )  # fmt: skip

    def opened(judge: CameraJudge, x: float) -> bool:
        rat = Detection("rat", 0.9, x, 540, x + 100, 590)
        transitions = [t for s in range(4) for t in judge.sample(1000.0 + s, [rat], (1280, 720))]
        return any(isinstance(t, Opened) for t in transitions)

    judge = CameraJudge(settings)
    judge.suppress([as_zone(RAT, DRAIN)])
    assert not opened(judge, 520)  # centre (570, 565): inside the zone
    assert opened(CameraJudge(settings), 520)  # without it: an event
    other = CameraJudge(settings)
    other.suppress([as_zone(RAT, DRAIN)])
    assert opened(other, 100)  # the zone is not the whole picture


async def _as(web: WebApp, d: District, who: str) -> dict[str, str]:
    return await session_headers(web.auth, d.users[who])


async def test_proposals_are_scoped_and_only_a_principal_or_above_decides(web: WebApp) -> None:
    d = await seed_district(web)
    await seed_false_alarms(web.hub.db, "cam-e1a", "sch-e1", "town-e", 3)
    me = await _as(web, d, "principal-e1")
    r = await web.client.get("/api/verdicts/zone-proposals", headers=me)
    assert r.status_code == 200, r.text
    (proposal,) = r.json()
    assert (proposal["camera_id"], proposal["type"], proposal["false_alarms"]) == (
        "cam-e1a", "rat", 3
    )  # fmt: skip
    other = await _as(web, d, "principal-e2")
    assert (await web.client.get("/api/verdicts/zone-proposals", headers=other)).json() == []

    decision = {k: proposal[k] for k in ("type", "x1", "y1", "x2", "y2")} | {"accepted": True}
    url = "/api/cameras/cam-e1a/suppression-zones"
    for headers, target, body, status in [
        (await _as(web, d, "manager-e1"), url, decision, 403),  # a canteen manager: no
        (other, url, decision, 404),  # another school's camera
        (me, "/api/cameras/cam-e1b/suppression-zones", decision, 422),  # no proposal there
        (me, url, {**decision, "x1": 0.0}, 422),  # not the proposal: nobody draws one by hand
        (me, url, {**decision, "x2": 1.5}, 422),
    ]:
        r = await web.client.post(target, json=body, headers=headers)
        assert r.status_code == status, (headers, body, r.text)

    async def decided() -> int:  # besides the one seed_district puts on every school
        async with web.hub.db.session() as s:
            n = await s.scalar(select(func.count(SuppressionZone.id)))
        return int(n or 0) - len(d.zones)

    assert await decided() == 0

    r = await web.client.post(url, json=decision, headers=me)
    assert r.status_code == 201, r.text
    zone = r.json()
    assert zone["accepted"] and zone["decided_by"] == "principal-e1" and zone["false_alarms"] == 3
    assert (await web.client.get("/api/verdicts/zone-proposals", headers=me)).json() == []
    listed = (await web.client.get(url, headers=me)).json()
    assert [z["id"] for z in listed] == [d.zones["sch-e1"], zone["id"]]  # oldest first
    assert await decided() == 1
    assert (await web.client.get(url, headers=other)).status_code == 404
    async with web.hub.db.session() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("suppression_zone%"))))  # fmt: skip
    assert actions == ["suppression_zone"]

    # Forgetting the decision: the place is proposed again.
    r = await web.client.delete(f"{url}/{zone['id']}", headers=me)
    assert r.status_code == 204, r.text
    assert (await web.client.delete(f"{url}/{zone['id']}", headers=me)).status_code == 404
    assert len((await web.client.get("/api/verdicts/zone-proposals", headers=me)).json()) == 1
    # Turned down: not proposed again, and nothing applies.
    r = await web.client.post(url, json={**decision, "accepted": False}, headers=me)
    assert r.status_code == 201 and not r.json()["accepted"]
    assert (await web.client.get("/api/verdicts/zone-proposals", headers=me)).json() == []
