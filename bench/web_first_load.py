"""First load of the phone page: bytes over the wire and time from navigation to the thread visible.

Runs a real `mainloop serve` (temp SQLite, bearer token) on loopback, seeds the main thread with
50 messages (markdown with code), and loads the page in Debian's Chromium at 390x844 as a
returning user (token already in localStorage), with an empty cache each run. Bytes are Chromium's
own count of encoded (compressed) bytes per finished response, headers included; the listen stream
stays open and is not counted. The time is the page's `mainloop:thread-visible` mark (set once the
messages are rendered), i.e. milliseconds since navigation start. Loopback only; the machine is
shared, so expect noise.

    .venv/bin/python bench/web_first_load.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, call, mcp_client
from tests.conftest import TOKEN, start_hub, stop_hub

MESSAGES = 50
SAMPLE = "Step {n}: water the **beds**.\n\n```python\ndef water(bed):\n    return bed.moisture < 0.3\n```\n"


async def seed(url: str) -> None:
    async with mcp_client(url, TOKEN) as client:
        main = await call(client, "get_thread")
        for n in range(MESSAGES):
            await call(client, "post_message", thread_id=main["id"], content=SAMPLE.format(n=n))


async def measure(base: str, runs: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            times: list[float] = []
            totals: list[int] = []
            per_url: dict[str, list[int]] = defaultdict(list)
            warm: list[float] = []
            for run in range(runs):
                context = await browser.new_context(viewport=PHONE)
                await context.add_init_script(f"localStorage.setItem('mainloop.token', {TOKEN!r})")
                page = await context.new_page()
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                await cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
                urls: dict[str, str] = {}
                sizes: dict[str, int] = defaultdict(int)

                def on_response(event: Any, urls: dict[str, str] = urls) -> None:
                    urls[event["requestId"]] = event["response"]["url"]

                def on_finished(event: Any, urls: dict[str, str] = urls, sizes: dict[str, int] = sizes) -> None:
                    sizes[urls.get(event["requestId"], "?")] += int(event["encodedDataLength"])

                cdp.on("Network.responseReceived", on_response)
                cdp.on("Network.loadingFinished", on_finished)
                await page.goto(base)
                await page.wait_for_selector(f".msg >> nth={MESSAGES - 1}")
                mark = await page.evaluate("performance.getEntriesByName('mainloop:thread-visible')[0].startTime")
                times.append(mark)
                totals.append(sum(sizes.values()))
                for url, size in sizes.items():
                    per_url[url.replace(base, "") or "/"].append(size)
                await page.reload()
                await page.wait_for_selector(f".msg >> nth={MESSAGES - 1}")
                warm.append(await page.evaluate("performance.getEntriesByName('mainloop:thread-visible')[0].startTime"))
                await context.close()
                print(f"run {run + 1}: {totals[-1] / 1024:.1f} KiB, thread visible at {mark:.0f} ms", file=sys.stderr)
        finally:
            await browser.close()

    print(f"first load, empty cache, {runs} runs, {MESSAGES} messages in the thread, viewport 390x844")
    print(f"  bytes over the wire (compressed, with headers): median {statistics.median(totals) / 1024:.1f} KiB")
    print(f"  navigation -> thread visible: median {statistics.median(times):.0f} ms, min {min(times):.0f} ms")
    print(f"  reload (revalidating cache): median {statistics.median(warm):.0f} ms")
    print("  per resource (median bytes):")
    for url, sizes_ in sorted(per_url.items(), key=lambda kv: -statistics.median(kv[1])):
        label = url if not url.startswith("/mcp") else "/mcp (all MCP answers)"
        print(f"    {statistics.median(sizes_) / 1024:7.1f} KiB  {label}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = start_hub(Path(tmp), env={"MAINLOOP_TOKEN": TOKEN, "MAINLOOP_LOG_LEVEL": "WARNING"})
        try:
            anyio.run(seed, hub.mcp_url)
            anyio.run(measure, hub.base, args.runs)
        finally:
            stop_hub(hub)


if __name__ == "__main__":
    main()
