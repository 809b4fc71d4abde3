"""Web Push end to end: the page subscribes this device, the hub pushes (VAPID-signed, encrypted for the
device) to a push-service stand-in on 127.0.0.1 when a reply lands or an agent run ends, per the device's
settings, and the page's service worker shows what arrives. The stand-in replaces only the browser
vendor's push service (FCM, Mozilla, Apple), which a test cannot reach."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import http_ece
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.async_api import Browser, expect

from tests.agent_support import FAKE_CLAUDE, wait_for
from tests.browser import DESKTOP_WIDE, PHONE_SMALL, call, chromium, mcp_client, screenshot, watch_console
from tests.conftest import TOKEN, ServedHub, start_hub, stop_hub

pytestmark = pytest.mark.anyio


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class PushService:
    """Accepts pushes like a real push service (201), or says a subscription is gone (410) under /gone/."""

    port: int
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            service.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(410 if self.path.startswith("/gone/") else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    tmp = tmp_path_factory.mktemp("push")
    (tmp / "work").mkdir()
    (tmp / "records").mkdir()
    env = {
        "MAINLOOP_TOKEN": TOKEN,
        "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(tmp / "work")]),
        "MAINLOOP_CLAUDE_CLI": str(FAKE_CLAUDE),
        "MAINLOOP_AGENT_BACKEND": json.dumps({"env": {"FAKE_CLAUDE_DIR": str(tmp / "records")}}),
    }
    served = start_hub(tmp, env=env)
    try:
        yield served
    finally:
        stop_hub(served)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


class Device:
    """A browser's side of a subscription: its ECDH key pair and auth secret (what the hub encrypts for)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def read(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        note: dict[str, Any] = json.loads(plain)
        return note


def pushes_to(service: PushService, path: str) -> list[tuple[dict[str, str], bytes]]:
    return [(headers, body) for p, headers, body in service.received if p == path]


def devices_file(hub: ServedHub) -> list[dict[str, Any]]:
    path = Path(hub.log).parent / "push" / "devices.json"
    return json.loads(path.read_text()) if path.exists() else []


async def test_a_device_subscribes_and_hears_replies_and_runs_per_its_settings(
    hub: ServedHub, push_service: PushService, browser: Browser
) -> None:
    phone = Device(push_service.endpoint("phone-1"))
    context = await browser.new_context(viewport=PHONE_SMALL, is_mobile=True, has_touch=True)
    await context.grant_permissions(["notifications"])
    await context.add_init_script(f"localStorage.setItem('mainloop.token', {TOKEN!r})")
    # The stand-in for the browser vendor's push service registration: subscribe() hands out our endpoint.
    await context.add_init_script(
        "PushManager.prototype.subscribe = async function (options) {"
        f"  const json = {json.dumps(phone.subscription())};"
        "  window.subscribedWithKey = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));"
        "  return { toJSON: () => json, unsubscribe: async () => true, endpoint: json.endpoint };"
        "};"
    )
    errors: list[str] = []
    page = await context.new_page()
    watch_console(page, errors)
    try:
        await page.goto(hub.base)
        await expect(page.locator("#thread-title")).to_have_text("Main")
        await page.evaluate("navigator.serviceWorker.ready")
        await page.click("#menu")
        await page.check("#push-on")
        await expect(page.locator("#push-kinds")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("Notifications are on for this device.")
        await screenshot(page, "push-settings-390x664")
        [saved] = devices_file(hub)
        assert saved["subscription"]["endpoint"] == phone.endpoint
        assert saved["settings"] == {"replies": True, "runs": True, "follow": []}
        async with httpx.AsyncClient(base_url=hub.base) as http:
            key = (await http.get("/push/key", headers={"Authorization": f"Bearer {TOKEN}"})).json()["publicKey"]
            assert (await http.get("/push/key")).status_code == 401  # behind the same credentials as /mcp
        padded = key + "=" * (-len(key) % 4)
        raw_key = base64.urlsafe_b64decode(padded)
        assert await page.evaluate("window.subscribedWithKey") == base64.b64encode(raw_key).decode()

        # a reply lands in a thread: the device is told, encrypted for it and signed by the hub
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            beds = await call(agent, "create_thread", title="Raised beds", thread_type="project")
            await call(agent, "post_message", thread_id=beds["id"], role="user", content="How deep?")  # no push
            await call(agent, "post_message", thread_id=beds["id"], role="assistant", content="About **30 cm**.")
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: pushes_to(push_service, "/phone-1"), what="a push"))
        [(headers, body)] = pushes_to(push_service, "/phone-1")
        note = phone.read(body)
        assert note == {"title": "Raised beds", "body": "About **30 cm**.", "thread_id": beds["id"], "tag": beds["id"]}
        scheme, _, params = headers["authorization"].partition(" ")
        assert scheme == "vapid"
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        assert fields["k"] == key
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), base64.urlsafe_b64decode(padded))
        claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=f"http://127.0.0.1:{push_service.port}")
        assert claims["sub"].startswith("mailto:")

        # the service worker shows what arrives (handed over as the browser would, through CDP)
        cdp = await context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        heard = anyio.Event()

        def on_registrations(event: dict[str, Any]) -> None:
            registrations.extend(event["registrations"])
            heard.set()

        cdp.on("ServiceWorker.workerRegistrationUpdated", on_registrations)
        await cdp.send("ServiceWorker.enable")
        await heard.wait()
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": hub.base, "registrationId": registrations[0]["registrationId"], "data": json.dumps(note)},
        )
        shown_js = "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => n.title))"
        for _ in range(100):
            if await page.evaluate(shown_js):
                break
            await anyio.sleep(0.05)
        assert await page.evaluate(shown_js) == ["Raised beds"]

        # replies off: the next reply is not pushed, an agent run that ends still is
        await page.uncheck("#push-replies")
        await expect(page.locator("#push-replies")).not_to_be_checked()
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: not devices_file(hub)[0]["settings"]["replies"]))
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            await call(agent, "post_message", thread_id=beds["id"], role="assistant", content="Not pushed.")
            work = str(Path(hub.log).parent / "work")
            run = await call(
                agent, "spawn_agent", prompt="Level the soil", parent_thread_id=beds["id"], work_folder=work
            )
        await anyio.to_thread.run_sync(
            lambda: wait_for(lambda: len(pushes_to(push_service, "/phone-1")) >= 2, what="the run's push")
        )
        await anyio.sleep(0.5)
        notes = [phone.read(body) for _, body in pushes_to(push_service, "/phone-1")]
        assert [n["title"] for n in notes] == ["Raised beds", "Agent finished: Level the soil"]
        assert notes[1]["thread_id"] == run["thread_id"]

        # following a thread: what others add there is pushed (replies still off), the person's own words not
        await page.click("#scrim", position={"x": 370, "y": 400})  # the drawer with the settings closes
        await page.goto(f"{hub.base}/#thread={beds['id']}")
        await expect(page.locator("#thread-title")).to_have_text("Raised beds")
        await page.click("#follow")
        await expect(page.locator("#follow")).to_have_attribute("aria-pressed", "true")
        await anyio.to_thread.run_sync(
            lambda: wait_for(lambda: devices_file(hub)[0]["settings"]["follow"] == [beds["id"]])
        )
        await screenshot(page, "push-follow-390x664")
        async with mcp_client(hub.mcp_url, TOKEN) as agent:
            await call(agent, "post_message", thread_id=beds["id"], role="user", content="Mine, not pushed.")
            await call(agent, "post_message", thread_id=beds["id"], role="agent", content="Soil delivered.")
        await anyio.to_thread.run_sync(
            lambda: wait_for(lambda: len(pushes_to(push_service, "/phone-1")) >= 3, what="the followed thread's push")
        )
        await anyio.sleep(0.5)
        notes = [phone.read(body) for _, body in pushes_to(push_service, "/phone-1")]
        assert [n["body"] for n in notes[2:]] == ["Soil delivered."]
        await page.set_viewport_size(DESKTOP_WIDE)
        await screenshot(page, "push-follow-1440x900")
        assert errors == []
    finally:
        await context.close()


async def test_a_subscription_the_push_service_says_is_gone_is_dropped(
    hub: ServedHub, push_service: PushService
) -> None:
    gone = Device(push_service.endpoint("gone/laptop"))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=hub.base, headers=headers) as http:
        saved = await http.post("/push/devices", json={"subscription": gone.subscription()})
        bad = await http.post("/push/devices", json={"subscription": {"endpoint": "nope"}})
    assert saved.status_code == 200, saved.text
    assert bad.status_code == 400 and "subscription.endpoint" in bad.json()["error"]
    async with mcp_client(hub.mcp_url, TOKEN) as agent:
        main = await call(agent, "get_thread")
        await call(agent, "post_message", thread_id=main["id"], role="assistant", content="Anyone there?")
    await anyio.to_thread.run_sync(
        lambda: wait_for(lambda: all(d["id"] != saved.json()["id"] for d in devices_file(hub)), what="the drop")
    )
    assert pushes_to(push_service, "/gone/laptop")
