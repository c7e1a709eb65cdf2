"""Verdicts in the browser scenario (console_scenario.py), issue 15's acceptance: the school
principal marks the seeded event 误报, boxes a missed rat on a recorded frame of a camera,
and `bkhub dataset export` holds both with the right labels."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
from playwright.async_api import Page

# console_scenario imports this module for its step: bound here half-loaded, used once loaded.
import tests.console_scenario as scenario
from storage.db.database import Database
from tests.webapp import seed_false_alarms

SHANGHAI = ZoneInfo("Asia/Shanghai")
RAT_CLASS = 7  # detectors/scenes/labels.py CLASS_NAMES
DRAG = ((0.30, 0.60), (0.50, 0.90))  # the box dragged on the frame, as parts of its size


async def verdicts_step(ctx: scenario.Console, event_id: str) -> None:
    page = await ctx.signed_in("principal")
    try:
        await _false_alarm(page, ctx.base, event_id)
        await scenario._shot(page, "15-false-alarm")
        at = await _recorded_moment(page, ctx.base)
        await _miss_on_recorded_frame(page, ctx.base, at)
        await scenario._shot(page, "16-miss-marked")
        await _export_holds_both(ctx, at)
        await _accept_suppression_zone(ctx, page)
    except Exception:
        await scenario._shot(page, "failure-verdicts")
        raise
    finally:
        await page.context.close()  # gives the live view's viewer slot back


async def _false_alarm(page: Page, base: str, event_id: str) -> None:
    await page.goto(base + "/events.html")
    await page.locator(f"tr[data-id='{event_id}']").click()
    await page.select_option("#verdict select[name=reason]", "wrong_object")
    await page.fill("#verdict textarea[name=note]", "是排水沟的阴影")
    await page.click("#false-alarm")
    given = page.locator("#verdict-given")
    await given.wait_for()
    assert (
        "误报（识别对象错误）" in await given.inner_text()
        and "principal" in await given.inner_text()
    )
    # The rates count it: this week, cam-0's no_chef_hat alarms are all false.
    row = page.locator("#rates-table tr[data-camera='cam-0'][data-type='no_chef_hat']")
    await row.wait_for()
    assert "100%" in await row.inner_text()


async def _recorded_moment(page: Page, base: str) -> datetime:
    """A whole second a finished 5 s segment of cam-0 holds (recording began at log-in)."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=15)
    url = f"{base}/api/cameras/cam-0/frame"
    for _ in range(60):
        reply = await page.request.get(url, params={"at": at.isoformat()})
        if reply.ok:
            return at
        assert reply.status == 404, await reply.text()  # no_footage: not finished yet
        await asyncio.sleep(1)
    raise AssertionError(f"no recorded frame of cam-0 at {at} within a minute")


async def _miss_on_recorded_frame(page: Page, base: str, at: datetime) -> None:
    await page.goto(base + "/camera.html?id=cam-0")
    await page.fill("#miss input[name=at]", at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S"))
    await page.click("#miss-recorded")
    await page.wait_for_function(
        "document.querySelector('#miss-frame').complete && "
        "document.querySelector('#miss-frame').naturalWidth === 1280",  # the main stream
        timeout=60_000,
    )
    shown = await page.text_content("#miss-frame-at")
    assert shown is not None and "画面时间" in shown  # the frame at or just before `at`
    await page.locator("#miss-frame").scroll_into_view_if_needed()  # the mouse drags in view
    box = await page.locator("#miss-frame").bounding_box()
    assert box is not None
    (x1, y1), (x2, y2) = DRAG
    await page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"])
    await page.mouse.down()
    await page.mouse.move(box["x"] + x2 * box["width"], box["y"] + y2 * box["height"], steps=5)
    await page.mouse.up()
    await page.select_option("#miss select[name=type]", "rat")
    await page.click("#miss button[type=submit]")
    await page.wait_for_selector("#miss-done:text('已记录漏报')")


async def _export_holds_both(ctx: scenario.Console, at: datetime) -> None:
    from hub.cli import main as bkhub

    out = ctx.tmp / "verdict-export"
    day = datetime.now(SHANGHAI).date()
    since, until = day - timedelta(days=1), day + timedelta(days=1)
    command = ["-c", str(ctx.tmp / "config.yaml"), "dataset", "export", "--out", str(out),
               "--from", str(since), "--to", str(until)]  # fmt: skip
    assert await asyncio.to_thread(bkhub, command) == 0
    with (out / "manifest.csv").open(encoding="utf-8") as f:
        rows = {row["verdict"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"false_alarm", "missed"}, rows
    fa, miss = rows["false_alarm"], rows["missed"]
    assert (fa["camera"], fa["reason"], fa["type"], fa["who"]) == (
        "cam-0", "wrong_object", "no_chef_hat", "principal"
    )  # fmt: skip
    assert _label(out, fa["image"]) == ""  # a negative
    assert (miss["camera"], miss["type"], miss["who"]) == ("cam-0", "rat", "principal")
    shown_at = datetime.fromisoformat(miss["time"])  # local, to the second
    assert timedelta(0) <= at - shown_at <= timedelta(seconds=1), (at, shown_at)
    cls, cx, cy, w, h = _label(out, miss["image"]).split()
    (x1, y1), (x2, y2) = DRAG
    assert int(cls) == RAT_CLASS
    for got, want in ((cx, (x1 + x2) / 2), (cy, (y1 + y2) / 2), (w, x2 - x1), (h, y2 - y1)):
        assert abs(float(got) - want) < 0.02, (cls, cx, cy, w, h)
    image = cv2.imread(str(out / miss["image"]))
    assert image is not None and image.shape[:2] == (720, 1280)  # the recorded frame itself


def _label(out: Path, image: str) -> str:
    return (out / image.replace("images/", "labels/", 1)).with_suffix(".txt").read_text()


async def _accept_suppression_zone(ctx: scenario.Console, page: Page) -> None:
    """Three false rats at cam-0's drain: the event desk proposes a zone; accepting applies it."""
    db = Database(ctx.config.database.url)
    await db.start()
    try:
        await seed_false_alarms(db, "cam-0", "dc-xx", "dongcheng", 3)
    finally:
        await db.stop()
    await page.goto(ctx.base + "/events.html")
    row = page.locator("#zones-table tr[data-camera='cam-0'][data-type='rat']")
    await row.wait_for()
    assert "3" in await row.inner_text()
    await scenario._shot(page, "17-zone-proposed")
    await row.locator("button.primary").click()
    await page.locator("#zones-body p.notice[data-i18n='zones.none']").wait_for()  # decided
    reply = await page.request.get(f"{ctx.base}/api/cameras/cam-0/suppression-zones")
    zones = await reply.json()
    assert [(z["type"], z["accepted"], z["decided_by"]) for z in zones] == [
        ("rat", True, "principal")
    ], zones
