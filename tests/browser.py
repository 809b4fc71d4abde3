"""Debian's Chromium driven by Playwright (system browser, never a downloaded build), and an MCP client
over HTTP with a bearer token: the two kinds of client the phone page tests put side by side."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE_SMALL: ViewportSize = {"width": 390, "height": 664}  # a phone with its browser bars showing
DESKTOP_WIDE: ViewportSize = {"width": 1440, "height": 900}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium; Playwright gives each launch a fresh, temporary user data dir."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before launching)
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/setup --dev (it installs Debian's chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def watch_console(page: Page, errors: list[str]) -> None:
    """Collects page errors and console errors, so a test can insist there were none."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), animations="disabled")  # transitions jump to their end
    return path


@asynccontextmanager
async def mcp_client(url: str, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    """An MCP client over Streamable HTTP that sends the bearer token, like Claude Desktop would."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content
