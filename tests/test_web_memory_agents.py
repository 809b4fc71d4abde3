"""The phone page's search, memory and agent views in a real Chromium against a real `mainloop serve`
whose agents are the real claude-code-mcp driving the scripted stand-in `claude`."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest
from playwright.async_api import Browser, Page, expect

from mainloop_mcp.model import NewMessage, NewThread, Role, ThreadType
from mainloop_mcp.store import open_store
from tests.agent_support import FAKE_CLAUDE, alive, started_pids, wait_for
from tests.browser import (
    DESKTOP,
    DESKTOP_WIDE,
    PHONE,
    PHONE_SMALL,
    call,
    chromium,
    mcp_client,
    screenshot,
    watch_console,
)
from tests.conftest import TOKEN, ServedHub, sqlite_url, start_hub, stop_hub

pytestmark = pytest.mark.anyio

# Days back -> what was said then. 75 days is always a month band, 20 a week, 4 and 3 days; 1 hour is recent.
HISTORY = {
    timedelta(days=75): ["Planted the quince hedge along the north fence.", "The quince saplings came bare-root."],
    timedelta(days=20): ["Mulched the orchard beds with straw."],
    timedelta(days=4): ["Apple scab on the Bramley: sprayed **copper**."],
    timedelta(days=3): ["Ordered netting against the blackbirds."],
    timedelta(hours=1): ["Picked the last pears today."],
}


HOSTILE = (
    "Gooseberry <img src=x onerror=\"window.pwned='img'\"> <script>window.pwned='script'</script> "
    "[link](javascript:window.pwned='md') <b onmouseover=\"window.pwned='b'\">bold</b>"
)
LOGBOOK_SIZE = 120  # one day of messages: more than a page of the thread and more than a page of zoom
NEEDLE_AT = 60  # the message a search looks for: neither in the thread's newest page nor zoom's first


@dataclass
class Setup:
    hub: ServedHub
    orchard_id: str
    logbook_id: str
    work: Path
    records: Path


async def seed(url: str) -> tuple[str, str]:
    """An orchard project with months of history, written before the hub starts (as an import would)."""
    store = await open_store(url)
    try:
        main = await store.main_thread()
        project = NewThread(thread_type=ThreadType.PROJECT, title="Orchard", parent_id=main.id)
        orchard = await store.create_thread(project)
        now = datetime.now(UTC)
        batch = [
            NewMessage(thread_id=orchard.id, role=Role.USER, content=text, created_at=now - ago + timedelta(minutes=i))
            for ago, texts in HISTORY.items()
            for i, text in enumerate(texts)
        ]
        logbook = await store.create_thread(
            NewThread(thread_type=ThreadType.PROJECT, title="Logbook", parent_id=main.id)
        )
        day = (now - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
        batch += [
            NewMessage(
                thread_id=logbook.id,
                role=Role.USER,
                content="Fixed the wheelbarrow tyre." if n == NEEDLE_AT else f"Log entry {n}: checked the beds.",
                created_at=day + timedelta(minutes=n),
            )
            for n in range(LOGBOOK_SIZE)
        ]
        hostile = await store.create_thread(
            NewThread(thread_type=ThreadType.PROJECT, title="Hostile", parent_id=main.id)
        )
        batch.append(
            NewMessage(thread_id=hostile.id, role=Role.AGENT, content=HOSTILE, created_at=now - timedelta(days=4))
        )
        await store.append_messages(batch)
        return orchard.id, logbook.id
    finally:
        await store.close()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("web2")
    work, records = tmp / "work", tmp / "claude-records"
    work.mkdir()
    records.mkdir()
    orchard_id, logbook_id = anyio.run(seed, sqlite_url(tmp))
    env = {
        "MAINLOOP_TOKEN": TOKEN,
        "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(work)]),
        "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
        "MAINLOOP_AGENT_BACKEND": json.dumps({"env": {"FAKE_CLAUDE_DIR": str(records)}}),
    }
    served = start_hub(tmp, env=env)
    try:
        yield Setup(served, orchard_id, logbook_id, work, records)
    finally:
        stop_hub(served)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def logged_in(
    browser: Browser,
    setup: Setup,
    errors: list[str],
    hash_: str = "",
    desktop: bool = False,
    small: bool = False,
    **options: Any,
) -> Page:
    """A page with the token already stored (the login form has its own tests)."""
    if desktop:
        context = await browser.new_context(viewport=DESKTOP)
    elif small:
        context = await browser.new_context(viewport=PHONE_SMALL, is_mobile=True, has_touch=True, **options)
    else:
        context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    await context.add_init_script(f"localStorage.setItem('mainloop.token', {TOKEN!r})")
    page = await context.new_page()
    watch_console(page, errors)
    await page.goto(f"{setup.hub.base}/{hash_}")
    await expect(page.locator("#thread-title")).not_to_have_text("…")
    return page


async def test_search_finds_a_message_and_opens_its_thread(setup: Setup, browser: Browser) -> None:
    async with mcp_client(setup.hub.mcp_url, TOKEN) as desktop:
        greenhouse = await call(desktop, "create_thread", title="Greenhouse", thread_type="project")
        await call(desktop, "post_message", thread_id=greenhouse["id"], content="The thermostat needs a new battery.")
        await call(desktop, "post_message", thread_id=greenhouse["id"], content="Vents open at 24 degrees.")
    errors: list[str] = []
    page = await logged_in(browser, setup, errors)
    try:
        await expect(page.locator("#thread-title")).to_have_text("Main")
        await page.click("#open-search")
        await expect(page.locator("#search-input")).to_be_focused()
        await page.fill("#search-input", "thermostat battery")
        await page.press("#search-input", "Enter")
        result = page.locator(".result").first
        await expect(result.locator(".result-thread")).to_have_text("Greenhouse")
        await expect(result.locator(".badge")).to_have_text("message")
        await expect(result.locator("mark")).to_have_text(["thermostat", "battery"])
        await expect(page.locator(".result")).to_have_count(1)
        await screenshot(page, "phone-search-390x844")

        await result.click()
        await expect(page.locator("#panel")).to_be_hidden()
        await expect(page.locator("#thread-title")).to_have_text("Greenhouse")
        hit = page.locator(".msg.hit")
        await expect(hit).to_contain_text("The thermostat needs a new battery.")
        await expect(hit).to_be_in_viewport()

        await page.click("#open-search")  # the last search is kept; a word nobody wrote finds nothing
        await expect(page.locator(".result")).to_have_count(1)
        await page.fill("#search-input", "zeppelin")
        await page.press("#search-input", "Enter")
        nothing = "Nothing matches “zeppelin”. Every word must appear."
        await expect(page.locator(".view-search .note")).to_have_text(nothing)
        await expect(page.locator(".result")).to_have_count(0)
        assert errors == []
    finally:
        await page.context.close()


async def test_an_older_message_hit_opens_its_day_at_that_message(setup: Setup, browser: Browser) -> None:
    errors: list[str] = []
    page = await logged_in(browser, setup, errors)
    try:
        await page.click("#open-search")
        await page.fill("#search-input", "wheelbarrow")
        await page.press("#search-input", "Enter")
        await page.locator(".result", has_text="Logbook").click()
        await expect(page.locator("#thread-title")).to_have_text("Logbook")
        hit = page.locator(".view-zoom .msg.hit")  # not among the thread's newest 50: its day, zoomed
        await expect(hit).to_contain_text("Fixed the wheelbarrow tyre.")
        await expect(hit).to_be_in_viewport()
        await expect(page.locator(".view-zoom .msg")).to_have_count(100)  # a second zoom page was needed
        await screenshot(page, "phone-search-hit-in-day-390x844")
        assert await page.locator(f"#message-list .msg >> text=Log entry {NEEDLE_AT + 1}:").count() == 0
        assert errors == []
    finally:
        await page.context.close()


async def test_memory_shows_the_pyramid_and_zooms_down_to_messages(setup: Setup, browser: Browser) -> None:
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, f"#thread={setup.orchard_id}")
    try:
        await expect(page.locator("#thread-title")).to_have_text("Orchard")
        await page.click("#open-memory")
        memory = page.locator(".view-memory")
        await expect(memory.locator(".band-recent")).to_contain_text("1 message since")
        await expect(memory.locator(".band-day")).to_have_count(2)
        await expect(memory.locator(".band-day").first).to_contain_text("Ordered netting")  # newest first
        await expect(memory.locator(".band-day .msg-body strong", has_text="copper")).to_be_visible()  # markdown
        assert await memory.locator(".band-week").count() >= 1
        month = memory.locator(".band-month", has_text="quince")
        await expect(month).to_contain_text("2 messages")
        await page.emulate_media(color_scheme="dark")
        await screenshot(page, "phone-memory-dark-390x844")
        await page.emulate_media(color_scheme="light")
        await screenshot(page, "phone-memory-390x844")

        # month -> its weeks (and edge days) -> ... -> the full messages of a day
        await month.click()
        for _ in range(3):
            view = page.locator(".view-zoom:visible")
            await expect(view.locator(".band, .msg").first).to_be_visible()
            if await view.locator(".msg").count():
                break
            await view.locator(".band", has_text="quince").first.click()
        messages = page.locator(".view-zoom:visible .msg")
        await expect(messages).to_have_count(2)
        await expect(messages.first).to_contain_text("Planted the quince hedge")
        await expect(page.locator("#panel-path")).to_contain_text("Memory ›")
        await screenshot(page, "phone-zoom-messages-390x844")
        levels = await page.locator(".view-zoom").count()
        for _ in range(levels):
            await page.click("#panel-back")
        await expect(memory).to_be_visible()
        await page.click("#panel-close")
        await expect(page.locator("#panel")).to_be_hidden()

        # the summaries are searchable now: a month-summary hit opens that month zoomed
        await page.click("#open-search")
        await page.check("#search-here")
        await page.fill("#search-input", "quince hedge")
        await page.press("#search-input", "Enter")
        summary_hit = page.locator(".result[data-kind=month]")
        await expect(summary_hit).to_have_count(1)
        await summary_hit.click()
        await expect(page.locator(".view-zoom")).to_be_visible()
        await expect(page.locator("#panel-title")).to_have_text(re.compile(r"^\w+ \d{4}$"))  # e.g. September 2026
        assert errors == []
    finally:
        await page.context.close()


async def test_summaries_cite_times_in_the_readers_time_zone(setup: Setup, browser: Browser) -> None:
    async with mcp_client(setup.hub.mcp_url, TOKEN) as desktop:
        context = await call(desktop, "get_context", thread_id=setup.orchard_id, token_budget=60000)
    day = next(i for i in context["items"] if i["granularity"] == "day" and "Apple scab" in i["content"])
    cited = re.search(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) user: Apple scab", day["content"])  # the hub's clock: UTC
    assert cited is not None
    utc = datetime.strptime(cited[1], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    tokyo = utc.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    errors: list[str] = []
    page = await logged_in(
        browser, setup, errors, f"#thread={setup.orchard_id}", small=True, timezone_id="Asia/Tokyo", locale="en-GB"
    )
    try:
        await page.click("#open-memory")
        band = page.locator(".view-memory .band-day", has_text="Apple scab")
        await expect(band.locator(".msg-body li", has_text="Apple scab")).to_have_text(
            f"{tokyo} · user: Apple scab on the Bramley: sprayed copper."
        )
        await expect(band.locator("strong").first).to_have_text(tokyo)
        assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", await page.locator(".view-memory").inner_text())
        await screenshot(page, "memory-local-times-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "memory-local-times-1440x900")
        assert errors == []
    finally:
        await page.context.close()


async def test_citations_across_a_daylight_saving_change_keep_their_own_offset(setup: Setup, browser: Browser) -> None:
    # Berlin moved from UTC+1 to UTC+2 at 01:00 UTC on Sunday 29 March 2026, inside ISO week 13.
    week = {
        "granularity": "week",
        "period": "2026-W13",
        "start": "2026-03-22T23:00:00Z",
        "content": "- 2026-03-23 09:00 user: before the change\n- 2026-03-29 14:00 user: after the change",
    }
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, small=True, timezone_id="UTC", locale="en-GB")
    try:
        shown = await page.evaluate(
            "([item]) => import('/static/memory.js')"
            ".then((m) => [m.localTimes(item, 'Europe/Berlin'), m.localTimes(item, null)])",
            [week],
        )
        assert "**Mon 23 Mar, 08:00** · user: before" in shown[0]
        assert "**Sun 29 Mar, 12:00** · user: after" in shown[0]  # CEST: two hours ahead of UTC
        assert "**Sun 29 Mar, 13:00** · user: after" in shown[1]  # without the zone: the week's first offset
        assert errors == []
    finally:
        await page.context.close()


async def test_hostile_content_stays_inert_in_snippets_and_summaries(setup: Setup, browser: Browser) -> None:
    errors: list[str] = []
    page = await logged_in(browser, setup, errors)
    try:
        await page.click("#open-search")
        await page.fill("#search-input", "gooseberry")
        await page.press("#search-input", "Enter")
        snippet = page.locator(".result .snippet").first
        await expect(snippet).to_contain_text("<img src=x")  # shown as the text it is
        assert await snippet.evaluate("el => [...el.querySelectorAll('*')].every(n => n.tagName === 'MARK')")
        await page.locator(".result").first.click()
        await expect(page.locator("#thread-title")).to_have_text("Hostile")
        await page.click("#open-memory")
        summary = page.locator(".view-memory .band-day .band-summary")
        await expect(summary).to_contain_text("Gooseberry")
        await summary.locator("text=bold").hover()
        await summary.locator("text=link").click()
        await page.wait_for_timeout(200)
        assert await page.evaluate("window.pwned") is None
        assert await summary.locator("script, img[onerror], [onmouseover]").count() == 0
        hrefs = await summary.evaluate("el => [...el.querySelectorAll('[href]')].map(a => a.getAttribute('href'))")
        assert not any(h.lower().startswith("javascript:") for h in hrefs), hrefs
        # What the console does show: the CSP refusing the handlers while the sanitiser parses the content
        # (the same as for hostile messages in the thread view), and the hub refusing the image `x` (401).
        unexpected = [e for e in errors if "inline event handler violates" not in e and "status of 401" not in e]
        assert unexpected == []
    finally:
        await page.context.close()


async def test_memory_and_search_at_desktop_width(setup: Setup, browser: Browser) -> None:
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, f"#thread={setup.orchard_id}", desktop=True)
    try:
        await page.click("#open-memory")
        await expect(page.locator(".view-memory .band-month")).to_be_visible()
        await expect(page.locator("#drawer")).to_be_in_viewport()  # the sidebar stays beside the panel
        await screenshot(page, "desktop-memory-1280x800")
        await page.click("#open-search")
        await page.fill("#search-input", "orchard")
        await page.press("#search-input", "Enter")
        await expect(page.locator(".result").first).to_be_visible()
        await page.emulate_media(color_scheme="dark")
        await screenshot(page, "desktop-search-dark-1280x800")
        assert errors == []
    finally:
        await page.context.close()


async def test_ask_the_agent_puts_its_reply_in_the_thread(setup: Setup, browser: Browser) -> None:
    async with mcp_client(setup.hub.mcp_url, TOKEN) as desktop:
        shed = await call(desktop, "create_thread", title="Shed", thread_type="project")
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, f"#thread={shed['id']}")
    try:
        await expect(page.locator("#thread-title")).to_have_text("Shed")
        await page.click("#ask-toggle")
        await expect(page.locator("#ask-toggle")).to_have_attribute("aria-pressed", "true")
        await expect(page.locator("#input")).to_have_attribute("placeholder", "Ask the agent")
        await page.fill("#input", "Which paint for the door? SLEEP=2")  # the stand-in thinks for 2 s
        await page.click("#send")
        thinking = page.locator(".msg.thinking")
        await expect(thinking).to_contain_text("asking claude-code-mcp")  # the tool's first progress note
        await expect(page.locator(".msg.role-user")).to_contain_text("Which paint for the door?")
        await screenshot(page, "phone-ask-waiting-390x844")
        reply = page.locator(".msg.role-assistant .msg-body")
        await expect(reply).to_contain_text("fake-claude", timeout=20_000)
        await expect(reply).to_contain_text("Which paint for the door? SLEEP=2")  # its `last:` line: our question
        await expect(thinking).to_have_count(0)
        await expect(page.locator(".msg.role-user")).to_have_count(1)
        await expect(page.locator("#input")).to_have_value("")
        await screenshot(page, "phone-ask-reply-390x844")
        await page.reload()  # both are stored in the thread, not only shown
        await expect(page.locator(".msg")).to_have_count(2)
        assert errors == []
    finally:
        await page.context.close()


async def test_stop_ends_a_question_to_the_agent(setup: Setup, browser: Browser) -> None:
    async with mcp_client(setup.hub.mcp_url, TOKEN) as desktop:
        porch = await call(desktop, "create_thread", title="Porch", thread_type="project")
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, f"#thread={porch['id']}", small=True)
    try:
        earlier = set(started_pids(setup.records.parent))
        await page.click("#ask-toggle")
        await page.fill("#input", "Paint the porch? SLEEP=60")
        await page.click("#send")
        await expect(page.locator(".msg.thinking .msg-role")).to_have_text("assistant")  # as the reply will say
        await anyio.to_thread.run_sync(
            lambda: wait_for(lambda: set(started_pids(setup.records.parent)) - earlier, what="the stand-in to start")
        )
        pid = sorted(set(started_pids(setup.records.parent)) - earlier)[0]
        await screenshot(page, "ask-stop-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "ask-stop-1440x900")
        await page.click(".stop-ask")
        await expect(page.locator(".msg.thinking")).to_have_count(0)
        await expect(page.locator("#status")).to_contain_text("Stopped")
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: not alive(pid), what="the stand-in to end"))
        await expect(page.locator(".msg.role-user .msg-body")).to_have_text("Paint the porch? SLEEP=60")  # stored
        await page.wait_for_timeout(500)
        assert await page.locator(".msg.role-assistant").count() == 0
        assert errors == []
    finally:
        await page.context.close()


async def test_a_slow_agent_shows_running_and_cancel_ends_it(setup: Setup, browser: Browser) -> None:
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, f"#thread={setup.orchard_id}")
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        earlier = set(started_pids(setup.records.parent))  # the chat test's stand-in ran too
        await page.click("#menu")
        await page.click("#spawn-open")
        await expect(page.locator("#spawn-under")).to_contain_text("“Orchard”")
        await page.fill("#spawn-prompt", "Prune the plum tree. SLEEP=60")
        await page.select_option("#spawn-folder", str(setup.work))
        await page.fill("#spawn-title", "Prune the plum")
        await screenshot(page, "phone-spawn-form-390x844")
        await page.click("#spawn-start")
        run = page.locator(".agent-run", has_text="Prune the plum")
        await expect(run.locator(".badge")).to_have_text("running", timeout=15_000)  # polled while active
        await expect(page.locator("#agents-badge")).to_have_text("1")
        await expect(page.locator(".thread-link.type-task", has_text="Prune the plum")).to_be_visible()
        await screenshot(page, "phone-agents-running-390x844")
        await anyio.to_thread.run_sync(
            lambda: wait_for(lambda: set(started_pids(setup.records.parent)) - earlier, what="the stand-in to start")
        )
        pids = sorted(set(started_pids(setup.records.parent)) - earlier)
        assert len(pids) == 1 and alive(pids[0])

        await run.locator(".agent-cancel").click()
        await expect(run.locator(".badge")).to_have_text("cancelled")
        await expect(run.locator(".agent-cancel")).to_have_count(0)
        await expect(page.locator("#agents-badge")).to_be_hidden()
        assert not alive(pids[0])  # the stand-in `claude` is gone, not just marked
        await page.emulate_media(color_scheme="dark")
        await screenshot(page, "phone-agents-cancelled-dark-390x844")

        await run.locator(".agent-open").click()  # opens its task thread, where the outcome landed
        await expect(page.locator("#thread-title")).to_have_text("Prune the plum")
        await expect(page.locator(".msg").last).to_contain_text("cancel")

        # the parent heard of it in one line whose run id is a link to that task thread
        await page.goto(f"{setup.hub.base}/#thread={setup.orchard_id}")
        await expect(page.locator("#thread-title")).to_have_text("Orchard")
        await page.locator(".msg .id-link", has_text="run_").last.click()
        await expect(page.locator("#thread-title")).to_have_text("Prune the plum")
        assert errors == []
    finally:
        await page.context.close()


async def test_a_refused_spawn_says_why_in_the_form(setup: Setup, browser: Browser) -> None:
    gone = setup.work / "gone-by-now"
    gone.mkdir()
    errors: list[str] = []
    page = await logged_in(browser, setup, errors, small=True)
    try:
        await page.click("#menu")
        await page.click("#spawn-open")
        folders = page.locator("#spawn-folder option")
        await expect(folders).to_have_text([str(setup.work), str(gone)])  # the hub's work roots, as a list
        await page.fill("#spawn-prompt", "Anything\n" * 8)
        await page.select_option("#spawn-folder", str(gone))
        gone.rmdir()  # removed on the hub after the list was read
        await page.click("#spawn-start")
        await expect(page.locator("#spawn-error")).to_contain_text("does not exist")
        for part in ["#spawn-error", "#spawn-start", "#spawn-dialog button[value=cancel]"]:
            await expect(page.locator(part)).to_be_in_viewport(ratio=1)  # fits 390x664 with its error
        await screenshot(page, "spawn-refused-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "spawn-refused-1440x900")
        async with mcp_client(setup.hub.mcp_url, TOKEN) as desktop:
            runs = await call(desktop, "list_agents")
        assert not [r for r in runs["runs"] if r["prompt"].startswith("Anything")]
        assert errors == []
    finally:
        await page.context.close()
