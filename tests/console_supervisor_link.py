"""Special supervisor links in the browser scenario (console_scenario.py): the inspector makes
one on the users page (shown once) and a short one through the API; the short one, opened in
a fresh browser context, plays dc-xx's two cameras and nothing of jz-zx, is refused anything
but live views, and at its real expiry shows the expired page while its views end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page

# console_scenario imports this module for its step: bound here half-loaded, used once loaded.
import tests.console_scenario as scenario

NAME = "家长代表 张女士"
SHORT_S = 30  # long enough for two tiles to connect on a loaded box, short enough to wait out
PLAYING_JS = """() => { const v = [...document.querySelectorAll('.tile video')];
  return v.length === 2 && v.every((x) => x.videoWidth > 0 && x.currentTime > 0.5); }"""
CREATE_JS = """async (body) => {
  const { api } = await import('/js/api.js');
  return api('/api/supervisor-links', { method: 'POST', json: body });
}"""
LIVE_JS = """async () => (await (await fetch('/api/live')).json()).per_camera['cam-0'] ?? 0"""
# What the link may not do, from its own page: (request, what the console logs).
REFUSED_JS = """async (secret) => {
  const auth = { Authorization: `Bearer ${secret}` };
  const other = await fetch('/api/cameras/cam-2/whep', { method: 'POST', body: 'v=0',
    headers: { ...auth, 'Content-Type': 'application/sdp' } });
  const events = await fetch('/api/events', { headers: auth });
  return [other.status, events.status, (await events.json()).error.code];
}"""


async def supervisor_step(ctx: scenario.Console) -> None:
    admin = await ctx.signed_in("inspector")
    watch: Page | None = None
    try:
        await _create_in_the_console(ctx, admin)
        expires_at = datetime.now(UTC) + timedelta(seconds=SHORT_S)
        link: Any = await admin.evaluate(
            CREATE_JS, {"name": NAME, "school": "dc-xx", "expires_at": expires_at.isoformat()}
        )
        watch = await ctx.new_page()  # a fresh context: no console session at all
        before = await admin.evaluate(LIVE_JS)
        await _watch_until_expiry(ctx, watch, link["url"], admin, before)
    except Exception:
        await scenario._shot(watch or admin, "failure-supervisor-link")
        raise
    finally:
        if watch is not None:
            await watch.context.close()
        await admin.context.close()


async def _create_in_the_console(ctx: scenario.Console, page: Page) -> None:
    """The users page's section: create (the link shown once), listed as active, revoke."""
    await page.goto(ctx.base + "/users.html")
    form = page.locator("#link-create")
    await form.locator("select[name=school] option[value='dc-xx']").wait_for(state="attached")
    await form.locator("input[name=name]").fill("校外监督员 李先生")
    await form.locator("select[name=school]").select_option("dc-xx")
    await form.locator("button[type=submit]").click()
    url = await page.locator("#link-url").input_value()
    assert re.fullmatch(re.escape(ctx.base) + r"/watch\.html#bks_[\w-]{43}", url), url
    row = page.locator("#links-table tr[data-state='active']")
    await row.wait_for()
    assert "校外监督员 李先生" in await row.inner_text() and "东城小学" in await row.inner_text()
    await scenario._shot(page, "20-supervisor-links")
    await row.locator("button.revoke").click()
    await page.locator("#links-table tr[data-state='revoked']").wait_for()
    assert "已撤销" in await page.locator("#links-table tr[data-state='revoked']").inner_text()


async def _watch_until_expiry(
    ctx: scenario.Console, watch: Page, url: str, admin: Page, before: int
) -> None:
    await watch.goto(ctx.base + url)
    await watch.wait_for_function(PLAYING_JS, timeout=(SHORT_S - 5) * 1000)
    tiles = await watch.eval_on_selector_all(".tile", "(t) => t.map((x) => x.dataset.camera)")
    assert sorted(tiles) == ["cam-0", "cam-1"], tiles  # dc-xx's, not jz-zx's cam-2 and cam-3
    banner = await watch.text_content("#banner") or ""
    assert banner.startswith("特别监督员观看 · 有效期至"), banner
    assert "东城小学" in (await watch.text_content("#who") or "")
    assert "第一中学" not in await watch.content()
    assert await admin.evaluate(LIVE_JS) == before + 1  # the hub serves the link's view
    await scenario._shot(watch, "21-watch")
    secret = url.split("#", 1)[1]
    assert await watch.evaluate(REFUSED_JS, secret) == [404, 403, "supervisor_link"]
    ctx.expected_failures += ["/api/cameras/cam-2/whep", "/api/events"]

    ended = "#ended:not([hidden]) #ended-title:text('此监督链接已过期')"
    await watch.wait_for_selector(ended, timeout=(SHORT_S + 15) * 1000)
    assert await watch.eval_on_selector_all(".tile video", "(v) => v.length") == 0
    assert not await watch.locator("#grid").is_visible()
    await admin.wait_for_function(  # the link's viewer is gone from the hub too
        f"({LIVE_JS})().then((n) => n === {before})", timeout=15_000
    )
    await scenario._shot(watch, "22-watch-expired")
    await watch.click("#lang-toggle")
    await watch.wait_for_function("document.documentElement.lang === 'en'")
    labels = await watch.evaluate(scenario.LABEL_TEXT_JS)
    assert "This supervisor link has expired" in labels, labels
    assert not [text for text in labels if re.search(scenario.CJK, text)], labels
    await scenario._shot(watch, "23-watch-expired-en")
    await watch.click("#lang-toggle")
    await watch.reload()  # opened again later: the hub refuses the expired link
    await watch.wait_for_selector(ended, timeout=15_000)
    ctx.expected_failures.append("/api/watch")
