"""The supervision page in the browser scenario (console_scenario.py): the school principal
does a remote inspection round with evidence snapshots from live cameras, records an
accompanied meal, and the compliance view counts both."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

# console_scenario imports this module for its step: bound here half-loaded, used once loaded.
import tests.console_scenario as scenario

FAILED_ITEM = "留样"
FAILED_NOTE = "留样不足 125 克"
MANUAL_NOTE = "切配间一人未戴口罩"
LIVE_TILES_JS = """() => { const v = [...document.querySelectorAll('.duty-cams video')];
  return v.length === 2 && v.every((x) => x.videoWidth > 0 && x.currentTime > 0.5); }"""
THUMBS_JS = """(n) => { const i = [...document.querySelectorAll('#evidence img')];
  return i.length === n && i.every((x) => x.complete && x.naturalWidth > 0); }"""


async def rounds_step(ctx: scenario.Console) -> None:
    page = await ctx.signed_in("principal")
    try:
        round_id = await _do_round(ctx, page)
        await scenario._shot(page, "12-round-finished")
        await _check_round(ctx, page, round_id)
        await _english(page)
        await _record_meal(page)
        await _check_compliance(ctx, page)
        await scenario._shot(page, "14-compliance")
    except Exception:
        await scenario._shot(page, "failure-supervision")
        raise
    finally:
        await page.context.close()  # gives the live views' viewer slots back


async def _do_round(ctx: scenario.Console, page: Page) -> str:
    await page.goto(ctx.base + "/supervision.html")
    await page.wait_for_selector(
        "#start select[name=school_id] option[value='dc-xx']", state="attached"
    )
    await page.select_option("#start select[name=school_id]", "dc-xx")
    await page.select_option("#start select[name=mode]", "remote")
    await page.click("#start-round")
    await page.wait_for_selector("#round[data-round] #items tr[data-item]")
    round_id: Any = await page.get_attribute("#round", "data-round")
    assert "东城小学" in await page.inner_text("#round-head")

    # Finishing with nothing marked is refused, with the API's message in Chinese.
    await page.click("#finish")
    await page.wait_for_selector("#finish-error:text('还有检查项目未填写')")
    ctx.expected_failures.append(f"422 POST {ctx.base}/api/supervision/rounds/{round_id}/finish")

    await page.wait_for_function(LIVE_TILES_JS, timeout=60_000)
    await scenario._shot(page, "11-round-live")
    for n, camera in enumerate(["cam-0", "cam-1"], start=1):
        await page.click(f".duty-cams .tile[data-camera='{camera}'] button.snap")
        await page.wait_for_function(THUMBS_JS, arg=n, timeout=30_000)

    items = await page.eval_on_selector_all(
        "#items tr[data-item]", "r => r.map(x => x.dataset.item)"
    )
    assert FAILED_ITEM in items and len(items) == len(ctx.config.supervision.items)
    for item in items:
        row = page.locator(f"#items tr[data-item='{item}']")
        result = "fail" if item == FAILED_ITEM else "pass"
        if result == "fail":
            await row.locator("input.note").fill(FAILED_NOTE)
        await row.locator(f"button.result.{result}").click()
        await page.wait_for_selector(f"#items tr[data-item='{item}'][data-result='{result}']")
    failed = page.locator(f"#items tr[data-item='{FAILED_ITEM}']")
    assert await failed.locator("input.note").input_value() == FAILED_NOTE

    await page.click("#link-event")  # the seeded violation at dc-xx
    await page.wait_for_selector("#linked li[data-event]")
    # A violation no detector saw, raised by hand with the first snapshot as its picture.
    await page.select_option("#manual-type", "no_mask")
    await page.select_option("#manual-evidence", index=1)
    await page.fill("#manual-note", MANUAL_NOTE)
    await page.click("#raise-manual")
    await page.wait_for_function("document.querySelectorAll('#linked li[data-event]').length === 2")
    await page.click("#finish")
    await page.wait_for_selector("#round-head .status.done")
    assert await page.locator("#finish").count() == 0  # a finished round is final
    assert await page.locator("#round video").count() == 0  # live views closed with it
    # The list below refreshes after the finish: the round shows as done there too.
    await page.locator(f"#rounds tr[data-round='{round_id}']", has_text="已完成").wait_for()
    return str(round_id)


async def _check_round(ctx: scenario.Console, page: Page, round_id: str) -> None:
    """What the page showed is what the hub stored (the page's own session)."""
    reply = await page.request.get(f"{ctx.base}/api/supervision/rounds/{round_id}")
    assert reply.ok, reply.status
    got = await reply.json()
    assert got["finished_at"] and got["missing"] == [] and got["mode"] == "remote"
    assert got["inspector"] == "principal" and got["school_id"] == "dc-xx"
    assert [e["camera_id"] for e in got["evidence"]] == ["cam-0", "cam-1"]
    assert all(e["has_image"] for e in got["evidence"])
    fails = [(i["item"], i["note"]) for i in got["items"] if i["result"] == "fail"]
    assert fails == [(FAILED_ITEM, FAILED_NOTE)] and len(got["items"]) == 9
    assert len(got["event_ids"]) == 2
    events = [await (await page.request.get(f"{ctx.base}/api/events/{e}")).json()
              for e in got["event_ids"]]  # fmt: skip
    (manual,) = [e for e in events if (e["detail"] or {}).get("manual")]
    assert (manual["type"], manual["camera_id"], manual["has_snapshot"]) == (
        "no_mask",
        "cam-0",
        True,
    )
    assert (
        manual["detail"]["summary"] == MANUAL_NOTE and manual["detail"]["raised_by"] == "principal"
    )
    for evidence in got["evidence"]:
        image = await page.request.get(f"{ctx.base}/api/supervision/evidence/{evidence['id']}")
        assert image.ok and image.headers["content-type"] == "image/jpeg"
        assert len(await image.body()) > 5_000  # a real picture of the kitchen


async def _english(page: Page) -> None:
    """The round view in English: checklist items, names and notes are data, the rest labels."""
    await page.click("#lang-toggle")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    labels = await page.evaluate(scenario.LABEL_TEXT_JS)
    leftovers = [text for text in labels if scenario._has_cjk(text)]
    assert not leftovers, f"supervision round: untranslated labels {leftovers}"
    assert "Evidence" in labels and "Fail" in labels and "Finish round" not in labels
    await scenario._shot(page, "13-round-english")
    await page.click("#lang-toggle")
    await page.wait_for_function("document.documentElement.lang === 'zh-CN'")


async def _record_meal(page: Page) -> None:
    await page.select_option("#meal select[name=meal]", "lunch")
    await page.select_option("#meal select[name=quality]", "4")
    await page.select_option("#meal select[name=satisfaction]", "5")
    await page.fill("#meal textarea[name=note]", "菜品新鲜，分量足")
    await page.click("#meal button[type=submit]")
    await page.wait_for_selector("#meal-message:text('已记录陪餐')")
    row = page.locator("#meals tr[data-school='dc-xx']")
    await row.wait_for()
    text = await row.inner_text()
    assert "午餐" in text and "principal" in text and "菜品新鲜" in text


async def _check_compliance(ctx: scenario.Console, page: Page) -> None:
    """The round and the meal count for principal at dc-xx; overdue rows are highlighted."""
    inspection = page.locator(
        "#compliance tr[data-school='dc-xx'][data-rule='principal-inspection']"
    )
    await inspection.wait_for()
    text = await inspection.inner_text()
    assert "1/2" in text and "principal 1" in text and "本周" in text, text
    meal = page.locator("#compliance tr[data-school='dc-xx'][data-rule='principal-meal']")
    assert "1/1" in await meal.inner_text()
    reply = await page.request.get(f"{ctx.base}/api/supervision/compliance")
    rows = {(r["school_id"], r["rule_id"]): r for r in await reply.json()}
    assert rows[("dc-xx", "principal-inspection")]["by_person"] == {"principal": 1}
    shown = await page.eval_on_selector_all(
        "#compliance tr[data-rule]",
        "r => r.map(x => [x.dataset.school, x.dataset.rule, x.classList.contains('overdue')])",
    )
    assert len(shown) == len(rows)
    assert all(rows[(school, rule)]["overdue"] == overdue for school, rule, overdue in shown)
