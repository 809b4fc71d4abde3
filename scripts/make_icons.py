"""Renders the page's PNG icons from static/icon.svg with the system Chromium (run by hand after editing the SVG).

.venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "mainloop_mcp" / "web" / "static"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def main() -> None:
    svg = (STATIC / "icon.svg").read_text()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        try:
            for size in (192, 512):
                page = browser.new_page()
                page.set_viewport_size({"width": size, "height": size})
                page.set_content(
                    f"<style>html,body{{margin:0;background:transparent}}svg{{width:{size}px;height:{size}px;display:block}}"
                    f"</style>{svg}"
                )
                page.screenshot(path=str(STATIC / f"icon-{size}.png"), omit_background=True)
                page.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
