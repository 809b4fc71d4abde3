"""First load of the phone page: bytes over the wire and time from navigation to the thread visible.

Runs a real `mainloop serve` (temp SQLite, bearer token) on loopback, seeds the main thread with
50 messages (markdown with code), and loads the page in Debian's Chromium at 390x844 as a
returning user (token already in localStorage), with an empty cache each run. Bytes are Chromium's
own count of encoded (compressed) bytes per finished response, headers included; the listen stream
stays open and is not counted. The time is the page's `mainloop:thread-visible` mark (set once the
messages are rendered), i.e. milliseconds since navigation start. Loopback only; the machine is
shared, so expect noise.

Then the same page on a slow network (Chromium's "Slow 3G" via CDP: 2 s round trip, 50 KB/s each
way): a first visit (nothing cached) beside a returning visit (service worker and saved state in
place), each timed to the first paint (the skeleton), the saved thread drawn, and the fresh thread.

    .venv/bin/python bench/web_first_load.py [--runs 7] [--slow-runs 3]
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


# Resolves once a registered service worker is active (its cache filled); at once where there is none.
WORKER_SETTLED = """async () => {
  for (let i = 0; i < 40; i++) {
    if (await navigator.serviceWorker.getRegistration()) return navigator.serviceWorker.ready.then(() => true);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}"""
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
MARKS = """() => {
  const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  const paint = at('first-contentful-paint');
  return { paint, saved: at('mainloop:saved-visible'), fresh: at('mainloop:thread-visible') };
}"""


async def slow_visit(browser: Any, base: str, returning: bool) -> dict[str, float | None]:
    """Milliseconds from navigation to first paint, saved thread drawn, fresh thread drawn, on Slow 3G."""
    context = await browser.new_context(viewport=PHONE)
    await context.add_init_script(f"localStorage.setItem('mainloop.token', {TOKEN!r})")
    try:
        page = await context.new_page()
        if returning:
            await page.goto(base)
            await page.wait_for_selector(f".msg >> nth={MESSAGES - 1}")
            await page.evaluate(WORKER_SETTLED)
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        await page.goto(base) if not returning else await page.reload()
        marks: dict[str, float | None] = {"fresh": None}
        for _ in range(1200):  # up to 2 minutes; the page's CSP forbids wait_for_function's eval
            marks = await page.evaluate(MARKS)
            if marks["fresh"] is not None:
                break
            await anyio.sleep(0.1)
        return marks
    finally:
        await context.close()


async def measure_slow(base: str, runs: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            visits = {kind: [await slow_visit(browser, base, kind == "returning") for _ in range(runs)]
                      for kind in ("first visit", "returning")}  # fmt: skip
        finally:
            await browser.close()
    print(f"slow 3G (2000 ms latency, 50 KB/s), {runs} runs each, median ms from navigation:")
    print(f"  {'':12} {'first paint':>12} {'saved thread':>13} {'fresh thread':>13}")
    for kind, marks in visits.items():
        cells = []
        for key in ("paint", "saved", "fresh"):
            values = [m[key] for m in marks if m[key] is not None]
            cells.append(f"{statistics.median(values):.0f}" if values else "-")
        print(f"  {kind:12} {cells[0]:>12} {cells[1]:>13} {cells[2]:>13}")


async def measure(base: str, runs: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            times: list[float] = []
            totals: list[int] = []
            per_url: dict[str, list[int]] = defaultdict(list)
            warm: list[float] = []
            worker_totals: list[int] = []
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
                # The service worker's own fetches (filling its cache) are not the page's: count them apart.
                worker_requests: list[Any] = []

                def on_request(request: Any, kept: list[Any] = worker_requests) -> None:
                    if request.service_worker:
                        kept.append(request)

                context.on("requestfinished", on_request)
                await page.goto(base)
                await page.wait_for_selector(f".msg >> nth={MESSAGES - 1}")
                mark = await page.evaluate("performance.getEntriesByName('mainloop:thread-visible')[0].startTime")
                times.append(mark)
                totals.append(sum(sizes.values()))
                await page.evaluate(WORKER_SETTLED)
                await anyio.sleep(0.2)
                worker_bytes = 0
                for request in worker_requests:
                    got = await request.sizes()
                    worker_bytes += got["responseBodySize"] + got["responseHeadersSize"]
                worker_totals.append(worker_bytes)
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
    print(
        f"  + the service worker filling its cache after that: median {statistics.median(worker_totals) / 1024:.1f} KiB"
        " (0 where there is none)"
    )
    print(f"  navigation -> thread visible: median {statistics.median(times):.0f} ms, min {min(times):.0f} ms")
    print(f"  reload (revalidating cache): median {statistics.median(warm):.0f} ms")
    print("  per resource (median bytes):")
    for url, sizes_ in sorted(per_url.items(), key=lambda kv: -statistics.median(kv[1])):
        label = url if not url.startswith("/mcp") else "/mcp (all MCP answers)"
        print(f"    {statistics.median(sizes_) / 1024:7.1f} KiB  {label}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--slow-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = start_hub(Path(tmp), env={"MAINLOOP_TOKEN": TOKEN, "MAINLOOP_LOG_LEVEL": "WARNING"})
        try:
            anyio.run(seed, hub.mcp_url)
            anyio.run(measure, hub.base, args.runs)
            if args.slow_runs:
                anyio.run(measure_slow, hub.base, args.slow_runs)
        finally:
            stop_hub(hub)


if __name__ == "__main__":
    main()
