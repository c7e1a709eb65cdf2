"""A recorded frame to box a miss on: the right frame of real segments, kept by the miss."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from hub.config import HubConfig
from tests.test_exports_api import T0, _logged_in, recorded  # noqa: F401  (a fixture)
from web.auth import Role

RAT = {"cls": "rat", "x1": 0.1, "y1": 0.6, "x2": 0.3, "y2": 0.9}


def _white(image: np.ndarray, x: int) -> bool:
    """Whether tests.media's frame-counter block covers column x (rows 10..40)."""
    return bool(image[25, x].min() > 200)


async def test_the_recorded_frame_at_a_moment_becomes_the_misses_hard_example(
    recorded: HubConfig,  # noqa: F811
) -> None:
    # 5.02 s in: frame 125 of tests.media's clip, whose counter block spans x 110..140
    # (frame 124's spans 106..136).
    at = T0 + timedelta(seconds=5.02)
    async with _logged_in(recorded, Role.SCHOOL_PRINCIPAL, "school:s1") as client:
        r = await client.get("/api/cameras/cam-1/frame", params={"at": at.isoformat()})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/jpeg"
        shown = datetime.fromisoformat(r.headers["x-frame-at"])
        assert abs((shown - (T0 + timedelta(seconds=5))).total_seconds()) < 0.005, shown
        image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (240, 320, 3)
        assert _white(image, 138) and not _white(image, 108)

        body = {"frame_id": r.headers["x-frame-id"], "type": "rat", "labels": [RAT]}
        miss = await client.post("/api/cameras/cam-1/misses", json=body)
        assert miss.status_code == 201, miss.text
        assert miss.json()["has_hard_example"]
        assert datetime.fromisoformat(miss.json()["at"]) == shown  # the frame's own time
        kept = list((Path(recorded.storage.object_store.root) / "hard-examples").rglob("*.jpg"))
        assert len(kept) == 1 and kept[0].read_bytes() == r.content  # unannotated, as shown

        for params, status, code in [
            ({"at": (T0 + timedelta(hours=2)).isoformat()}, 404, "no_footage"),
            ({"at": (T0 - timedelta(seconds=1)).isoformat()}, 404, "no_footage"),
            ({"at": "2099-01-01T00:00:00+08:00"}, 422, "in_the_future"),
            ({"at": "2026-11-30T11:00:00"}, 422, "validation_error"),  # no time zone
            ({}, 409, "no_live_picture"),  # the camera is disabled: nothing live
        ]:
            r = await client.get("/api/cameras/cam-1/frame", params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (params, r.text)
            assert r.json()["error"]["message_zh"]
        unknown = {**body, "frame_id": "0" * 32}
        r = await client.post("/api/cameras/cam-1/misses", json=unknown)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "frame_unknown"), r.text
        assert len(list(kept[0].parent.rglob("*.jpg"))) == 1  # nothing more kept
    async with _logged_in(recorded, Role.SCHOOL_PRINCIPAL, "school:other") as client:
        r = await client.get("/api/cameras/cam-1/frame", params={"at": at.isoformat()})
        assert r.status_code == 404  # another school's camera
