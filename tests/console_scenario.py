"""The browser scenario of test_console_browser.py; runs only inside its network namespace.

The hub's web app under uvicorn on 127.0.0.1, four simulated cameras, one seeded event with a
snapshot and a clip, and Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aioice.ice
import cv2
import numpy as np
import pytest
import uvicorn
from playwright.async_api import Browser, Page, Response, async_playwright

from camera_adapters.simulator import CameraSimulator
from hub.config import HubConfig, load_config
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_accounts import User
from storage.objectstore import build_object_store
from tests.console_supervision import rounds_step
from tests.console_supervisor_link import supervisor_step
from tests.console_verdicts import verdicts_step
from tests.media import make_h264_mp4
from tests.webapp import PASSWORD, password_hash
from web.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "console"
CAMERAS = 4
CHROMIUM_FLAGS = [  # ENVIRONMENT.md: what works headless on these machines
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
CJK = "[\\u3400-\\u9fff\\uff00-\\uffef]"
# Text the page shows outside data (names marked translate="no"): its labels.
LABEL_TEXT_JS = """() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      if (node.textContent.trim()) out.push(node.textContent.trim());
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    if (node.closest('[translate="no"]') || ['SCRIPT', 'STYLE'].includes(node.tagName)) return;
    if (node.placeholder) out.push(node.placeholder);
    node.childNodes.forEach(walk);
  };
  walk(document.body);
  return out;
}"""
FRAMES_JS = """() => [...document.querySelectorAll('.tile video')].map(
  (v) => [v.videoWidth, v.getVideoPlaybackQuality().totalVideoFrames])"""


def _config(tmp: Path, sim: CameraSimulator) -> HubConfig:
    cams = [
        f"{{id: cam-{i}, name: 烹饪区{i}, rtsp_url: '{sim.main_url(f'cam-{i}')}', "
        f"sub_rtsp_url: '{sim.sub_url(f'cam-{i}')}'}}"
        for i in range(CAMERAS)
    ]
    text = f"""
district: {{id: test, name: 示范区教育局}}
towns: [{{id: dongcheng, name: 东城镇}}]
schools:
  - {{id: dc-xx, name: 东城小学, town: dongcheng, kind: primary,
      kitchens: [{{id: main, name: 学生食堂}}], cameras: [{cams[0]}, {cams[1]}]}}
  - {{id: jz-zx, name: 第一中学, kind: middle,
      kitchens: [{{id: main, name: 教工食堂}}], cameras: [{cams[2]}, {cams[3]}]}}
recording: {{enabled: true, segment_seconds: 5, spool_dir: spool}}  # misses on recorded frames
storage: {{object_store: {{type: local, root: objects}}}}
database: {{url: "sqlite+aiosqlite:///{tmp / "hub.db"}"}}
supervision:  # duties the principal of dc-xx (a town school) owes, for the compliance view
  duties:
    - {{id: principal-inspection, name: 校长巡查, duty: inspection, roles: [school_principal],
       times: 2, per: week}}
    - {{id: town-inspection, name: 中心学校校长巡查, duty: inspection, roles: [town_staff],
       times: 2, per: month, applies_to: [{{direct: false}}]}}
    - {{id: principal-meal, name: 校长陪餐, duty: accompany_meal, roles: [school_principal],
       times: 1, per: week}}
    - {{id: leader-meal, name: 学校领导每餐陪餐, duty: accompany_meal,
       roles: [school_principal, canteen_manager], times: 3, per: day}}
"""
    (tmp / "config.yaml").write_text(text, encoding="utf-8")
    return load_config(tmp / "config.yaml")


def _annotated_snapshot(path: Path) -> Path:
    image = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(image, (250, 80), (400, 330), (0, 0, 255), 3)  # the detector's box
    cv2.putText(image, "no_chef_hat 0.91", (250, 70), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
    cv2.imwrite(str(path), image)
    return path


# The accounts the browser logs in with (username, display name, role, scope).
ACCOUNTS = [
    ("inspector", "督查员", "district_admin", "district"),
    ("principal", "王校长", "school_principal", "school:dc-xx"),
]


async def _seed_accounts(config: HubConfig) -> None:
    """The accounts, before the app starts (so there is no first-start admin)."""
    db = Database(config.database.url)
    await db.start()
    now = datetime.now(UTC)
    try:
        async with db.session() as s:
            for username, display_name, role, scope in ACCOUNTS:
                s.add(
                    User(
                        id=secrets.token_hex(16),
                        username=username,
                        display_name=display_name,
                        password_hash=password_hash(),
                        role=role,
                        scope=scope,
                        locale="zh-CN",
                        disabled=False,
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await db.stop()


async def _seed_event(config: HubConfig, tmp: Path) -> str:
    """One violation with its annotated snapshot and clip, as the rules would leave it."""
    event_id = secrets.token_hex(16)
    store = build_object_store(config.storage.object_store)
    snapshot = f"snapshots/dc-xx/cam-0/{event_id}.jpg"
    clip = f"clips/dc-xx/cam-0/{event_id}.mp4"
    frame = f"frames/dc-xx/cam-0/{event_id}.jpg"  # unannotated: a verdict's hard example
    await store.put_file(snapshot, _annotated_snapshot(tmp / "s.jpg"), content_type="image/jpeg")
    cv2.imwrite(str(tmp / "f.jpg"), np.full((360, 640, 3), 90, np.uint8))
    await store.put_file(frame, tmp / "f.jpg", content_type="image/jpeg")
    await store.put_file(clip, make_h264_mp4(tmp / "c.mp4", seconds=4), content_type="video/mp4")
    now = datetime.now(UTC)
    db = Database(config.database.url)  # the hub has synced the registry the event points to
    await db.start()
    try:
        async with db.session() as s:
            s.add(
                Event(
                    id=event_id,
                    kind="violation",
                    type="no_chef_hat",
                    severity="warning",
                    camera_id="cam-0",
                    school_id="dc-xx",
                    town_id="dongcheng",
                    started_at=now - timedelta(minutes=5),
                    updated_at=now,
                    confidence=0.91,
                    snapshot_key=snapshot,
                    clip_key=clip,
                    frame_key=frame,
                )
            )
    finally:
        await db.stop()
    return event_id


@asynccontextmanager
async def _serve(config: HubConfig) -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve(), name="test:uvicorn")
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _note_failure(response: Response, console: list[str]) -> None:
    if response.status >= 400:
        console.append(f"{response.status} {response.request.method} {response.url}")


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@dataclass
class Console:
    """What every step of the scenario shares: the browser, the hub's address and config, the
    simulator, and what the pages reported (JavaScript errors, console lines, failed requests)."""

    browser: Browser
    base: str
    config: HubConfig
    sim: CameraSimulator
    tmp: Path
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    expected_failures: list[str] = field(default_factory=list)  # "401 /api/..." a step caused

    async def new_page(self) -> Page:
        page = await (
            await self.browser.new_context(viewport={"width": 1400, "height": 900})
        ).new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        page.on("response", lambda r: _note_failure(r, self.console))
        return page

    async def signed_in(self, username: str) -> Page:
        """A new browser context logged in as `username` (one of ACCOUNTS), on its first page."""
        page = await self.new_page()
        await page.goto(self.base + "/login.html")
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/cameras.html")
        return page


async def test_console_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In the namespace aioice finds no address at all: give the hub the loopback one.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # only this run's screenshots
    with CameraSimulator() as sim:
        for i in range(CAMERAS):
            sim.add_camera(f"cam-{i}", clip="people")
        config = _config(tmp_path, sim)
        await _seed_accounts(config)
        async with _serve(config) as base, async_playwright() as pw:
            event_id = await _seed_event(config, tmp_path)
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, headless=True
            )
            ctx = Console(browser=browser, base=base, config=config, sim=sim, tmp=tmp_path)
            page = await ctx.new_page()
            try:
                await _login(page, base)
                await _grid(page, base, sim)
                await _tour(page, base)
                await _language(page, base)
                await _event_desk(page, base, event_id)
                await _other_pages(page, base)
                await rounds_step(ctx)
                await verdicts_step(ctx, event_id)
                await supervisor_step(ctx)
            except Exception:
                await _shot(page, "failure")
                print("browser console:", *ctx.console, sep="\n  ")
                raise
            finally:
                await browser.close()
    assert ctx.errors == [], f"JavaScript errors: {ctx.errors}"
    # The only failed requests: the visit before log-in, the wrong password, and what a step
    # caused on purpose.
    failed = [line for line in ctx.console if line[:1].isdigit()]
    expected = ["/api/auth/", "/api/auth/", *ctx.expected_failures]
    assert len(failed) == len(expected) and all(
        want in line for want, line in zip(expected, failed, strict=True)
    ), failed


async def _login(page: Page, base: str) -> None:
    await page.goto(base + "/")
    await page.wait_for_url("**/login.html**")
    await _shot(page, "01-login")
    await page.fill("input[name=username]", "inspector")
    await page.fill("input[name=password]", "wrong password")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#login-error:text('用户名或密码错误')")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/cameras.html")
    await page.wait_for_function(
        f"document.querySelectorAll('#tree .state-online').length === {CAMERAS}", timeout=60_000
    )
    await _shot(page, "02-camera-tree")


async def _grid(page: Page, base: str, sim: CameraSimulator) -> None:
    await page.goto(base + "/grid.html?n=4")
    await page.wait_for_function(
        f"(() => {{ const v = [...document.querySelectorAll('.tile video')];"
        f" return v.length === {CAMERAS} && v.every((x) => x.videoWidth > 0); }})()",
        timeout=60_000,
    )
    before = await page.evaluate(FRAMES_JS)
    await page.wait_for_timeout(3_000)
    after = await page.evaluate(FRAMES_JS)
    await _shot(page, "03-grid-4")
    assert all(width == 640 for width, _ in after), after  # tiles take the sub-stream
    assert all(a[1] > b[1] + 25 for a, b in zip(after, before, strict=True)), (before, after)
    stats = sim.stats()
    assert all(stats[f"/cam-{i}/sub"] == 1 and stats[f"/cam-{i}/main"] == 1 for i in range(CAMERAS))


async def _tour(page: Page, base: str) -> None:
    """One tile takes the main stream; the tour turns to the next camera and stops."""
    await page.goto(base + "/grid.html?n=1&interval=3")
    main_stream = "document.querySelector('.tile video')?.videoWidth === 1280"
    await page.wait_for_function(main_stream, timeout=60_000)
    first = await page.get_attribute(".tile", "data-camera")
    await page.click("#tour")
    await page.wait_for_function(
        f"document.querySelector('.tile')?.dataset.camera !== '{first}'", timeout=60_000
    )
    await page.click("#tour")  # stop, so the page below holds still
    await page.wait_for_function(main_stream, timeout=60_000)
    await _shot(page, "04-tour-single")
    # Turning the page closed the first camera's viewer: one is left.
    await page.wait_for_function(
        "fetch('/api/live').then((r) => r.json()).then((s) => s.viewers === 1)", timeout=60_000
    )


async def _language(page: Page, base: str) -> None:
    zh_labels: list[str] = await page.evaluate(LABEL_TEXT_JS)
    assert any("视频墙" in text for text in zh_labels)
    await page.click("#lang-toggle")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    en_labels: list[str] = await page.evaluate(LABEL_TEXT_JS)
    leftovers = [text for text in en_labels if _has_cjk(text)]
    assert not leftovers, f"untranslated labels: {leftovers}"
    assert "Video wall" in en_labels
    await _shot(page, "05-english")
    await page.reload()  # the choice is remembered
    await page.wait_for_selector("header nav a.current:text('Video wall')")
    await page.click("#lang-toggle")
    await page.wait_for_function("document.documentElement.lang === 'zh-CN'")


def _has_cjk(text: str) -> bool:
    import re

    return re.search(CJK, text) is not None


async def _event_desk(page: Page, base: str, event_id: str) -> None:
    await page.goto(base + "/events.html")
    row = page.locator(f"tr[data-id='{event_id}']")
    await row.wait_for()
    for kind, shown in [("rat", False), ("no_chef_hat", True)]:  # filter by type
        await page.select_option("select[name=type]", kind)
        await page.click("#filters button[type=submit]")
        await row.wait_for(state="visible" if shown else "detached")
    await row.click()
    await page.wait_for_function(
        "document.querySelector('#snapshot')?.complete && "
        "document.querySelector('#snapshot').naturalWidth === 640"
    )
    await page.evaluate("document.querySelector('#clip').play()")
    await page.wait_for_function(
        "(() => { const v = document.querySelector('#clip');"
        " return v.videoWidth === 320 && v.currentTime > 0.5; })()",
        timeout=60_000,
    )
    await _shot(page, "06-event-desk")
    await page.fill("#ack textarea", "已通知食堂负责人整改")
    await page.click("#ack button[type=submit]")
    await page.wait_for_selector("#acked")
    text: Any = await page.text_content("#detail")
    assert "已通知食堂负责人整改" in text and "inspector" in text  # recorded under the user
    await _shot(page, "07-event-acknowledged")


async def _other_pages(page: Page, base: str) -> None:
    """Every other page loads, and in English shows no Chinese label."""
    for name, ready in [
        ("cameras.html", "#tree .state-online"),
        ("events.html", "#list tbody tr"),
        ("camera.html?id=cam-1", "#info tr"),
        ("health.html", "#card-online"),
        ("export.html", "#export select option"),
        ("users.html", "tr[data-user='inspector']"),
        ("reports.html", "#schools tr[data-school='dc-xx']"),
        ("supervision.html", "#compliance tr[data-school='dc-xx']"),
    ]:
        await page.goto(f"{base}/{name}")
        await page.wait_for_selector(ready, state="attached")
        await _shot(page, "08-" + name.split(".")[0])
        await page.click("#lang-toggle")
        await page.wait_for_function("document.documentElement.lang === 'en'")
        leftovers = [text for text in await page.evaluate(LABEL_TEXT_JS) if _has_cjk(text)]
        assert not leftovers, f"{name}: untranslated labels {leftovers}"
        await page.click("#lang-toggle")
    await _reports(page, base)
    await page.goto(f"{base}/camera.html?id=cam-1")
    await page.wait_for_function(
        "document.querySelector('#video').videoWidth === 1280", timeout=60_000
    )  # the single view takes the main stream
    await _shot(page, "09-camera-main-stream")


async def _reports(page: Page, base: str) -> None:
    """This month's report counts the seeded event, and its PDF and XLSX links download."""
    await page.goto(f"{base}/reports.html")
    row = page.locator("#schools tr[data-school='dc-xx']")
    await row.wait_for()
    assert "未戴厨师帽 1" in await row.inner_text()
    for link, media in [("#pdf", "application/pdf"), ("#xlsx", "spreadsheetml")]:
        href = await page.get_attribute(link, "href")
        assert href is not None
        reply = await page.request.get(base + href)  # the page's own session cookie
        assert reply.ok and media in reply.headers["content-type"], (link, reply.status)
        assert len(await reply.body()) > 3000
    await _shot(page, "10-reports")
