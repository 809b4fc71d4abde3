"""The phone page for real phones, in a real Chromium against a real `mainloop serve`: bad networks (the
service worker, the saved state, the outbox: nothing lost, nothing doubled; the connection dot, thread
switches), triage in the thread list, and the composer (per-thread drafts, copy buttons)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.browser import DESKTOP_WIDE, PHONE_SMALL, call, chromium, mcp_client, screenshot, watch_console
from tests.conftest import TOKEN, ServedHub, start_hub, stop_hub

pytestmark = pytest.mark.anyio

LIVE_ON = re.compile(r"\bon\b")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    served = start_hub(tmp_path_factory.mktemp("offline"), env={"MAINLOOP_TOKEN": TOKEN})
    try:
        yield served
    finally:
        stop_hub(served)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


KEEP_TOKEN = f"localStorage.getItem('mainloop.token') || localStorage.setItem('mainloop.token', {TOKEN!r})"


async def logged_in(browser: Browser, hub: ServedHub, errors: list[str], **options: Any) -> tuple[BrowserContext, Page]:
    """A page at the hub as a returning user (the token already in this browser), live."""
    context = await browser.new_context(**{"viewport": PHONE_SMALL, "is_mobile": True, "has_touch": True, **options})
    await context.add_init_script(KEEP_TOKEN)
    page = await context.new_page()
    watch_console(page, errors)
    await page.goto(hub.base)
    await expect(page.locator("#live")).to_have_class(LIVE_ON, timeout=20_000)  # a loaded machine is slow
    return context, page


async def messages_of(hub: ServedHub, thread_id: str) -> list[str]:
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        page = await call(agent, "read_messages", thread_id=thread_id, limit=100)
    return [m["content"] for m in sorted(page["messages"], key=lambda m: (m["created_at"], m["id"]))]


async def test_offline_posts_wait_in_the_outbox_and_go_once_when_back(hub: ServedHub, browser: Browser) -> None:
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors)
    try:
        await page.evaluate("navigator.serviceWorker.ready")  # the shell is cached
        await page.fill("#input", "Before the tunnel.")
        await page.click("#send")
        await expect(page.locator(".msg:not(.queued) .msg-body")).to_have_text(["Before the tunnel."])
        main_id = await page.evaluate("JSON.parse(localStorage.getItem('mainloop.snapshot.tree')).mainId")

        await context.set_offline(True)
        await expect(page.locator("#live")).not_to_have_class(LIVE_ON, timeout=10_000)  # honest within 10 s
        await expect(page.locator("body")).to_have_class(re.compile(r"\boffline\b"))
        await page.fill("#input", "Written in the tunnel.")
        await page.click("#send")
        queued = page.locator(".msg.queued")
        await expect(queued.locator(".queued-note")).to_have_text("queued: sends when the hub is back")
        await screenshot(page, "offline-queued-390x664")

        # a reload offline: the service worker serves the page, the saved state shows, read-only
        await page.reload()
        await expect(page.locator("#thread-title")).to_have_text("Main")
        await expect(page.locator(".msg:not(.queued) .msg-body")).to_have_text(["Before the tunnel."])
        await expect(page.locator(".message-list.stale")).to_be_visible()
        await expect(page.locator(".msg.queued .msg-body")).to_have_text("Written in the tunnel.")
        await expect(page.locator("#status")).to_contain_text("Offline: showing what this phone saved")
        await screenshot(page, "offline-reload-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "offline-reload-1440x900")
        await page.set_viewport_size(PHONE_SMALL)

        await context.set_offline(False)
        await expect(page.locator(".msg.queued")).to_have_count(0, timeout=15_000)
        await expect(page.locator(".msg .msg-body")).to_have_text(["Before the tunnel.", "Written in the tunnel."])
        await expect(page.locator("#live")).to_have_class(LIVE_ON, timeout=15_000)
        assert await messages_of(hub, main_id) == ["Before the tunnel.", "Written in the tunnel."]
        await screenshot(page, "offline-back-390x664")
        assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e and "Failed to fetch" not in e] == []
    finally:
        await context.close()


async def test_a_post_whose_answer_was_lost_is_sent_again_and_stored_once(hub: ServedHub, browser: Browser) -> None:
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        thread = await call(agent, "create_thread", title="Lossy line", thread_type="project")
    errors: list[str] = []
    # page.route sees the page's own fetches only without a service worker in between
    context, page = await logged_in(browser, hub, errors, service_workers="block")
    lost: list[str] = []

    async def lose_first_answer(route: Route) -> None:
        body = route.request.post_data or ""
        if '"post_message"' in body and not lost:
            await route.fetch()  # the hub stores it...
            lost.append(body)
            await route.abort("connectionreset")  # ...and the answer never reaches the phone
            return
        await route.continue_()

    try:
        await page.route("**/mcp", lose_first_answer)
        await page.goto(f"{hub.base}/#thread={thread['id']}")
        await expect(page.locator("#thread-title")).to_have_text("Lossy line")
        await page.fill("#input", "Only once, please.")
        await page.click("#send")
        await expect(page.locator(".msg:not(.queued) .msg-body")).to_have_text(["Only once, please."], timeout=15_000)
        await expect(page.locator(".msg.queued")).to_have_count(0)
        assert lost, "the first answer was not dropped"
        assert await messages_of(hub, thread["id"]) == ["Only once, please."]
        assert await page.evaluate("localStorage.getItem('mainloop.outbox')") == "[]"
    finally:
        await context.close()


async def test_a_thread_switch_never_shows_the_previous_threads_state(hub: ServedHub, browser: Browser) -> None:
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        busy = await call(agent, "create_thread", title="Busy", thread_type="project")
        for n in range(55):  # more than a page: "Load older" shows
            await call(agent, "post_message", thread_id=busy["id"], content=f"busy {n}")
        quiet = await call(agent, "create_thread", title="Quiet", thread_type="project")
        await call(agent, "post_message", thread_id=quiet["id"], content="quiet one")
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors, service_workers="block")
    try:
        await page.goto(f"{hub.base}/#thread={busy['id']}")
        await expect(page.locator("#older")).to_be_visible()
        await expect(page.locator(".msg").last).to_contain_text("busy 54")
        held: list[Route] = []

        async def hold_quiet(route: Route) -> None:
            if quiet["id"] in (route.request.post_data or "") and "read_messages" in (route.request.post_data or ""):
                held.append(route)
                return
            await route.continue_()

        await page.route("**/mcp", hold_quiet)
        await page.click("#menu")
        await page.click(".thread-link:has-text('Quiet')")
        await expect(page.locator("#thread-title")).to_have_text("Quiet")
        await expect(page.locator(".message-list.skeleton-rows")).to_be_visible()  # the skeleton, not Busy's messages
        assert await page.locator(".msg").count() == 0
        await expect(page.locator("#older")).to_be_hidden()
        await screenshot(page, "switch-loading-390x664")
        while not held:
            await page.wait_for_timeout(50)
        await held[0].continue_()
        await expect(page.locator(".msg .msg-body")).to_have_text(["quiet one"])
        assert errors == []
    finally:
        await context.close()


async def test_desktop_offline_banner(hub: ServedHub, browser: Browser) -> None:
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors, viewport=DESKTOP_WIDE, is_mobile=False, has_touch=False)
    try:
        await context.set_offline(True)
        await expect(page.locator("#live")).not_to_have_class(LIVE_ON, timeout=10_000)
        await page.fill("#input", "From the laptop, offline.")
        await page.click("#send")
        await expect(page.locator(".msg.queued")).to_be_visible()
        await screenshot(page, "offline-queued-1440x900")
        await context.set_offline(False)
        await expect(page.locator(".msg.queued")).to_have_count(0, timeout=15_000)
    finally:
        await context.close()


async def test_the_thread_list_triages_unread_previews_and_times(hub: ServedHub, browser: Browser) -> None:
    long_title = "Garden plans for the whole long summer season with the kids and the neighbours"
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        garden = await call(agent, "create_thread", title=long_title, thread_type="project")
        await call(agent, "post_message", thread_id=garden["id"], role="user", content="Seen before.")
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors)
    try:
        await page.click("#menu")
        row = page.locator(".thread-link", has_text="Garden plans")
        await expect(row.locator(".thread-name")).to_have_text(long_title)  # whole, wrapped
        await expect(row.locator(".thread-preview")).to_have_text("You: Seen before.")
        await expect(row.locator(".unread")).to_have_count(0)  # a new device starts with everything read
        await page.click("#scrim", position={"x": 370, "y": 300})
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            for n in range(3):
                await call(
                    agent, "post_message", thread_id=garden["id"], role="assistant", content=f"Idea {n}: **beans**"
                )
        await page.click("#menu")
        await expect(row.locator(".unread")).to_have_text("3")
        await expect(row.locator(".thread-preview")).to_have_text("Idea 2: beans")
        await expect(row.locator(".thread-time")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
        box = await row.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        await screenshot(page, "triage-drawer-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "triage-drawer-1440x900")
        await page.set_viewport_size(PHONE_SMALL)
        await row.click()
        await expect(page.locator(".msg")).to_have_count(4)
        await page.click("#menu")
        await expect(row.locator(".unread")).to_have_count(0)  # read now
        await page.click("#scrim", position={"x": 370, "y": 300})

        # the pill: new messages while scrolled up
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            for n in range(12):
                await call(
                    agent, "post_message", thread_id=garden["id"], role="assistant", content=f"Filler {n}\n\n" * 3
                )
        await expect(page.locator(".msg")).to_have_count(16)
        await page.locator("#messages").evaluate("box => box.scrollTop = 0")
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            await call(agent, "post_message", thread_id=garden["id"], role="assistant", content="Below the fold.")
        pill = page.locator("#new-pill")
        await expect(pill).to_have_text("↓ 1 new message")
        await screenshot(page, "triage-pill-390x664")
        await pill.click()
        await expect(pill).to_be_hidden()
        await expect(page.locator(".msg").last).to_be_in_viewport()
        assert errors == []
    finally:
        await context.close()


async def test_drafts_stay_with_their_thread_and_survive_a_reload(hub: ServedHub, browser: Browser) -> None:
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        one = await call(agent, "create_thread", title="Draft one", thread_type="project")
        two = await call(agent, "create_thread", title="Draft two", thread_type="project")
        await call(agent, "post_message", thread_id=one["id"], content="```sh\nmake garden\n```")
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors)
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        await page.goto(f"{hub.base}/#thread={one['id']}")
        await expect(page.locator("#thread-title")).to_have_text("Draft one")
        await page.fill("#input", "half a thought for one")
        await page.goto(f"{hub.base}/#thread={two['id']}")
        await expect(page.locator("#thread-title")).to_have_text("Draft two")
        await expect(page.locator("#input")).to_have_value("")  # the draft did not follow
        await page.fill("#input", "and one for two")
        await page.reload()
        await expect(page.locator("#thread-title")).to_have_text("Draft two")
        await expect(page.locator("#input")).to_have_value("and one for two")
        await page.goto(f"{hub.base}/#thread={one['id']}")
        await expect(page.locator("#input")).to_have_value("half a thought for one")

        await page.locator("pre > .copy").click()  # the code block's own copy button
        await expect(page.locator("pre > .copy")).to_have_text("Copied")
        assert await page.evaluate("navigator.clipboard.readText()") == "make garden\n"
        await page.locator(".msg-head .copy:not(.speak)").click()  # the whole message, as markdown
        assert await page.evaluate("navigator.clipboard.readText()") == "```sh\nmake garden\n```"
        await screenshot(page, "composer-draft-copy-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "composer-draft-copy-1440x900")
        await page.set_viewport_size(PHONE_SMALL)
        assert errors == []
    finally:
        await context.close()


# Stand-ins for the browser's speech engines (headless Chromium has none that work offline): they
# record what the page asks of them and answer as an engine would.
SPEECH_STAND_INS = """
window.spoken = [];
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, 'speechSynthesis', { value: {
  speaking: false, cancel() {}, speak(u) { window.spoken.push(u.text); } } });
window.SpeechRecognition = class {
  start() { window.recognition = this; }
  stop() { this.onend?.(); }
  hear(text) {
    const alternative = [{ transcript: text }];
    this.onresult?.({ results: [alternative] });
  }
};
"""
NO_SPEECH = """
delete window.SpeechRecognition; delete window.webkitSpeechRecognition;
delete window.speechSynthesis; delete window.SpeechSynthesisUtterance;
"""


async def test_dictation_and_read_aloud_where_the_browser_has_them(hub: ServedHub, browser: Browser) -> None:
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        thread = await call(agent, "create_thread", title="Voice", thread_type="project")
        await call(agent, "post_message", thread_id=thread["id"], content="Water the **tomatoes** at six.")
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors)
    try:
        await context.add_init_script(SPEECH_STAND_INS)
        await page.goto(f"{hub.base}/#thread={thread['id']}")
        await page.reload()
        await expect(page.locator("#thread-title")).to_have_text("Voice")
        await page.click("#dictate")
        await expect(page.locator("#dictate")).to_have_attribute("aria-pressed", "true")
        await page.evaluate("window.recognition.hear('remind me tomorrow')")
        await expect(page.locator("#input")).to_have_value("remind me tomorrow")
        await page.click("#dictate")
        await expect(page.locator("#dictate")).to_have_attribute("aria-pressed", "false")
        await page.locator(".msg.role-assistant .speak").click()
        assert await page.evaluate("window.spoken") == ["Water the tomatoes at six."]
        await screenshot(page, "voice-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "voice-1440x900")
        assert errors == []
    finally:
        await context.close()

    context, page = await logged_in(browser, hub, errors)
    try:
        await context.add_init_script(NO_SPEECH)
        await page.goto(f"{hub.base}/#thread={thread['id']}")
        await page.reload()
        await expect(page.locator(".msg")).to_have_count(1)
        await expect(page.locator("#dictate")).to_be_hidden()
        assert await page.locator(".speak").count() == 0
    finally:
        await context.close()


async def test_text_shared_from_another_app_lands_in_the_box(hub: ServedHub, browser: Browser) -> None:
    errors: list[str] = []
    context, page = await logged_in(browser, hub, errors)
    try:
        manifest = await (await page.request.get(f"{hub.base}/manifest.webmanifest")).json()
        share = manifest["share_target"]
        assert share["action"] == "/" and share["method"] == "GET"
        assert share["params"] == {"title": "title", "text": "text", "url": "url"}
        await page.goto(
            f"{hub.base}/?title=Seed%20sale&text=Half%20price%20beans&url=https%3A%2F%2Fexample.com%2Fbeans"
        )
        await expect(page.locator("#input")).to_have_value("Seed sale\n\nHalf price beans https://example.com/beans")
        await expect(page.locator("#status")).to_contain_text("Shared text is in the box of “Main”")
        assert "?" not in page.url
        await screenshot(page, "share-390x664")
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "share-1440x900")
        await page.set_viewport_size(PHONE_SMALL)
        assert errors == []
    finally:
        await context.close()
