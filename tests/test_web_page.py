"""The phone page in a real Chromium against a real `mainloop serve`: login, threads, markdown, live updates."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from mainloop_mcp.model import NewMessage, Role
from mainloop_mcp.store import open_store
from tests.browser import DESKTOP, PHONE, call, chromium, mcp_client, screenshot, watch_console
from tests.conftest import TOKEN, ServedHub, sqlite_url, start_hub, stop_hub

pytestmark = pytest.mark.anyio

CODE_MESSAGE = "Plan for the garden:\n\n```python\ndef water(plants):\n    return [p for p in plants if p.dry]\n```\n"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    served = start_hub(tmp_path_factory.mktemp("web"), env={"MAINLOOP_TOKEN": TOKEN})
    try:
        yield served
    finally:
        stop_hub(served)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        yield context
    finally:
        await context.close()


async def open_page(context: BrowserContext, hub: ServedHub, errors: list[str], hash_: str = "") -> Page:
    page = await context.new_page()
    watch_console(page, errors)
    await page.goto(f"{hub.base}/{hash_}")
    return page


async def log_in(page: Page, errors: list[str], token: str = TOKEN) -> None:
    """Logs in at the token form. The page's first, token-less probe of /mcp is refused (401) by design:
    that is how it learns it must ask; so the console is checked from here on."""
    await expect(page.locator("#login")).to_be_visible()
    errors.clear()
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")


def test_page_and_assets_load_without_token_but_mcp_stays_guarded(hub: ServedHub) -> None:
    page = httpx.get(f"{hub.base}/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path in ["/static/app.js", "/static/mcp.js", "/static/vendor/marked.js", "/manifest.webmanifest"]:
        assert httpx.get(f"{hub.base}{path}").status_code == 200, path
    vendored = httpx.get(f"{hub.base}/static/vendor/highlight.js", headers={"Accept-Encoding": "gzip"})
    assert vendored.headers["content-encoding"] == "gzip"
    again = httpx.get(f"{hub.base}/static/vendor/highlight.js", headers={"If-None-Match": vendored.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(f"{hub.base}/static/vendor/package.json").status_code == 404
    assert httpx.get(f"{hub.base}/static/%2e%2e/page.py").status_code == 404
    refused = httpx.post(f"{hub.mcp_url}", json={"jsonrpc": "2.0", "id": 1, "method": "server/discover"})
    assert refused.status_code == 401
    assert "missing bearer token" in refused.json()["message"]


async def test_wrong_token_shows_a_clear_error_and_no_data(hub: ServedHub, phone: BrowserContext) -> None:
    errors: list[str] = []
    page = await open_page(phone, hub, errors)
    await expect(page.locator("#login")).to_be_visible()
    await log_in(page, errors, "not-the-token")
    await expect(page.locator("#login-error")).to_have_text(
        "The hub refused this token (wrong bearer token). Check MAINLOOP_TOKEN and try again."
    )
    await expect(page.locator("#app")).to_be_hidden()
    assert await page.locator(".msg, .thread-link").count() == 0
    assert await page.evaluate("localStorage.getItem('mainloop.token')") is None
    await screenshot(page, "phone-wrong-token")
    assert errors and all("401" in e for e in errors), errors  # the refused fetches are all the console saw


async def test_phone_flow_create_post_highlight_live_update_and_switch(hub: ServedHub, phone: BrowserContext) -> None:
    errors: list[str] = []
    page = await open_page(phone, hub, errors)
    await log_in(page, errors)
    await expect(page.locator("#thread-title")).to_have_text("Main")
    await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))

    # create a project thread from the drawer
    await page.click("#menu")
    await expect(page.locator("#drawer")).to_be_in_viewport()
    await page.click("#new-thread")
    await page.fill("#new-title", "Garden")
    await page.click("#new-create")
    await expect(page.locator("#thread-title")).to_have_text("Garden")
    await expect(page.locator("#drawer")).not_to_be_in_viewport()
    project_id = page.url.split("#thread=")[1]

    # post a message with a code block: rendered as markdown and highlighted
    await page.fill("#input", CODE_MESSAGE)
    await page.click("#send")
    mine = page.locator(".msg.role-user").last
    await expect(mine.locator("p")).to_have_text("Plan for the garden:")
    await expect(mine.locator("pre code.hljs.language-python .hljs-keyword").first).to_have_text("def")
    await expect(page.locator("#input")).to_have_value("")

    # a separate MCP client (the handshake era, as Claude Desktop speaks) posts: it shows up without reload
    async with mcp_client(hub.mcp_url, TOKEN, mode="legacy") as desktop:
        await call(desktop, "post_message", thread_id=project_id, role="assistant", content="Watered **twice**.")
        await call(desktop, "create_thread", title="Buy hose", thread_type="task", parent_id=project_id)
    live = page.locator(".msg.role-assistant .msg-body strong")
    await expect(live).to_have_text("twice")
    assert await page.locator(".msg").count() == 2
    await screenshot(page, "phone-thread-390x844")

    # the new task appeared in the tree under the project, live; then switch back to main
    await page.click("#menu")
    task = page.locator(".thread-link.type-project + ul .thread-link.type-task")
    await expect(task).to_contain_text("Buy hose")
    await screenshot(page, "phone-drawer-390x844")
    await page.click(".thread-link.type-main")
    await expect(page.locator("#thread-title")).to_have_text("Main")
    await expect(page.locator(".msg")).to_have_count(0)

    # a reload keeps the login and comes back to the thread in the address
    await page.goto(f"{hub.base}/#thread={project_id}")
    await page.reload()
    await expect(page.locator("#thread-title")).to_have_text("Garden")
    await expect(page.locator(".msg")).to_have_count(2)
    assert errors == []


async def test_html_and_script_in_messages_render_inert(hub: ServedHub, phone: BrowserContext) -> None:
    hostile = (
        "Look: <img src=x onerror=\"window.pwned='img'\"> <script>window.pwned='script'</script>\n\n"
        "<a href=\"javascript:window.pwned='href'\" id=bad>click me</a> "
        "[md link](javascript:window.pwned='md') <svg onload=\"window.pwned='svg'\"></svg>\n\n"
        "<iframe srcdoc=\"<script>parent.pwned='iframe'</script>\"></iframe>"
        '<div style="position:fixed;inset:0" onclick="window.pwned=\'div\'">overlay</div>'
    )
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        thread = await call(agent, "create_thread", title="Hostile", thread_type="project")
        await call(agent, "post_message", thread_id=thread["id"], role="agent", content=hostile)
    errors: list[str] = []
    page = await open_page(phone, hub, errors, f"#thread={thread['id']}")
    await log_in(page, errors)
    body = page.locator(".msg.role-agent .msg-body")
    await expect(body).to_contain_text("Look:")
    await expect(body).to_contain_text("click me")
    await body.locator("text=click me").click()
    await body.locator("text=overlay").click()
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.pwned") is None
    assert await body.locator("script, iframe, object, embed, [style], [srcdoc]").count() == 0
    handlers = await body.evaluate(
        "el => [...el.querySelectorAll('*')].flatMap(n => [...n.attributes].map(a => a.name))"
        ".filter(a => a.startsWith('on'))"
    )
    assert handlers == []
    hrefs = await body.evaluate("el => [...el.querySelectorAll('[href]')].map(a => a.getAttribute('href'))")
    assert not any(h.lower().startswith("javascript:") for h in hrefs), hrefs
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "phone-hostile-dark-390x844")


async def test_desktop_layout_shows_the_tree_beside_the_thread(hub: ServedHub, browser: Browser) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    try:
        errors: list[str] = []
        page = await open_page(context, hub, errors)
        await log_in(page, errors)
        await expect(page.locator("#thread-title")).to_have_text("Main")
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            main = await call(agent, "get_thread")
            await call(agent, "post_message", thread_id=main["id"], content="Morning. What is open today?")
            await call(
                agent,
                "post_message",
                thread_id=main["id"],
                role="assistant",
                content="Two projects:\n\n- Garden\n- Hostile",
            )
        await expect(page.locator(".msg")).to_have_count(2)
        await expect(page.locator("#drawer")).to_be_in_viewport()
        await expect(page.locator("#menu")).to_be_hidden()
        await screenshot(page, "desktop-1280x800")
        await page.emulate_media(color_scheme="dark")
        await screenshot(page, "desktop-dark-1280x800")
        assert errors == []
    finally:
        await context.close()


async def test_archive_hides_a_thread_until_archived_are_shown(hub: ServedHub, phone: BrowserContext) -> None:
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        project = await call(agent, "create_thread", title="Old shed", thread_type="project")
        await call(agent, "create_thread", title="Paint the door", thread_type="task", parent_id=project["id"])
    errors: list[str] = []
    page = await open_page(phone, hub, errors, f"#thread={project['id']}")
    page.on("dialog", lambda dialog: dialog.accept())
    await log_in(page, errors)
    await expect(page.locator("#thread-title")).to_have_text("Old shed")
    await page.click("#archive")
    await expect(page.locator("#thread-title")).to_have_text("Main")
    await page.click("#menu")
    shed = page.locator(".thread-link", has_text="Old shed")
    await expect(shed).to_have_count(0)
    await expect(page.locator(".type-main + ul .thread-link", has_text="Paint the door")).to_be_visible()  # not lost
    await page.check("#show-archived")
    await expect(shed.locator(".badge")).to_have_text("archived")
    await shed.click()
    await expect(page.locator("#thread-meta")).to_contain_text("archived")
    await expect(page.locator("#archive")).to_be_hidden()
    assert errors == []


async def test_a_refused_tool_call_shows_the_hubs_reason(hub: ServedHub, phone: BrowserContext) -> None:
    errors: list[str] = []
    page = await open_page(phone, hub, errors)
    await log_in(page, errors)
    await expect(page.locator("#thread-title")).to_have_text("Main")
    await page.click("#menu")
    await page.click("#new-thread")
    await page.fill("#new-title", "   ")  # passes the form's `required`, refused by the hub
    await page.click("#new-create")
    await expect(page.locator("#new-error")).to_have_text("title: title must not be empty")
    await expect(page.locator("#new-dialog")).to_be_visible()
    assert errors == []


async def test_live_updates_resume_after_the_hub_comes_back(tmp_path: Path, browser: Browser) -> None:
    first = start_hub(tmp_path, env={"MAINLOOP_TOKEN": TOKEN})
    context = await browser.new_context(viewport=PHONE)
    try:
        errors: list[str] = []
        page = await open_page(context, first, errors)
        await log_in(page, errors)
        await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
        first.proc.kill()  # a crash, or the phone's network dropping: the stream breaks mid-way
        first.proc.wait()
        await expect(page.locator("#live")).not_to_have_class(re.compile(r"\bon\b"))
        # Written by another process while the page was cut off: the page resumes from the last change it
        # saw and gets this one replayed (it does not refetch on reconnecting).
        store = await open_store(sqlite_url(tmp_path))
        try:
            main = await store.main_thread()
            await store.post_message(NewMessage(thread_id=main.id, role=Role.ASSISTANT, content="While you were away."))
        finally:
            await store.close()
        again = start_hub(tmp_path, env={"MAINLOOP_TOKEN": TOKEN}, port=first.port)
        try:
            await expect(page.locator(".msg-body")).to_have_text("While you were away.", timeout=20_000)
            async with mcp_client(again.mcp_url, TOKEN) as agent:
                await call(agent, "post_message", thread_id=main.id, role="assistant", content="Back online.")
            await expect(page.locator(".msg-body")).to_have_text(
                ["While you were away.", "Back online."], timeout=20_000
            )
            await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
        finally:
            stop_hub(again)
    finally:
        await context.close()
        stop_hub(first)


async def test_a_loopback_hub_without_token_opens_directly(served: ServedHub, phone: BrowserContext) -> None:
    errors: list[str] = []
    page = await open_page(phone, served, errors)
    await expect(page.locator("#thread-title")).to_have_text("Main")
    await expect(page.locator("#login")).to_be_hidden()
    assert errors == []
