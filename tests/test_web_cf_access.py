"""Cloudflare Access: a hub that trusts signed `Cf-Access-Jwt-Assertion` headers, checked against a JWKS
served on 127.0.0.1 with a key made here (the real team domain needs the internet)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.async_api import expect
from pydantic import ValidationError

from mainloop_mcp.config import Settings
from tests.browser import PHONE, chromium, screenshot, watch_console
from tests.conftest import TOKEN, ServedHub, start_hub, stop_hub

AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
KID = "test-key-1"
DISCOVER = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "server/discover",
    "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    },
}
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "server/discover",
}


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Team:
    """A stand-in Cloudflare Access team: its signing key and a JWKS endpoint on loopback."""

    def __init__(self) -> None:
        self.key = new_key()
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()

        class Certs(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/cdn-cgi/access/certs"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if found else b"{}")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def assertion(self, key: rsa.RSAPrivateKey | None = None, kid: str = KID, **claims: Any) -> str:
        now = int(time.time())
        payload = {"aud": [AUDIENCE], "iss": self.url, "iat": now, "exp": now + 300, "email": "me@example.com"}
        payload.update(claims)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def team() -> Iterator[Team]:
    t = Team()
    try:
        yield t
    finally:
        t.close()


@pytest.fixture(scope="module")
def hub(team: Team, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    env = {"MAINLOOP_TOKEN": TOKEN, "MAINLOOP_CF_ACCESS_TEAM_DOMAIN": team.url, "MAINLOOP_CF_ACCESS_AUD": AUDIENCE}
    served = start_hub(tmp_path_factory.mktemp("cf"), env=env)
    try:
        yield served
    finally:
        stop_hub(served)


def discover(hub: ServedHub, **headers: str) -> httpx.Response:
    return httpx.post(hub.mcp_url, json=DISCOVER, headers={**MCP_HEADERS, **headers})


def test_valid_assertion_is_accepted_without_a_bearer_token(hub: ServedHub, team: Team) -> None:
    answer = discover(hub, **{"Cf-Access-Jwt-Assertion": team.assertion()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["supportedVersions"] == ["2026-07-28"]


def test_bearer_token_still_works_beside_access(hub: ServedHub) -> None:
    assert discover(hub, Authorization=f"Bearer {TOKEN}").status_code == 200
    assert discover(hub).status_code == 401


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "Signature has expired"),
        ("other audience", "Audience doesn't match"),
        ("other issuer", "Invalid issuer"),
        ("other key", "Signature verification failed"),
        ("unknown kid", "Unable to find a signing key"),
        ("not a jwt", "Cloudflare Access assertion rejected"),
        ("hs256 instead of rs256", "Cloudflare Access assertion rejected"),
    ],
)
def test_bad_assertions_are_refused_with_the_reason(hub: ServedHub, team: Team, case: str, reason: str) -> None:
    now = int(time.time())
    makers: dict[str, Callable[[], str]] = {
        "expired": lambda: team.assertion(iat=now - 600, exp=now - 60),
        "other audience": lambda: team.assertion(aud=["someone-elses-app"]),
        "other issuer": lambda: team.assertion(iss="https://evil.cloudflareaccess.com"),
        "other key": lambda: team.assertion(key=new_key()),
        "unknown kid": lambda: team.assertion(kid="rotated-away"),
        "not a jwt": lambda: "garbage",
        "hs256 instead of rs256": lambda: jwt.encode(
            {"aud": AUDIENCE, "iss": team.url, "iat": now, "exp": now + 60},
            "a-shared-secret-of-forty-bytes-or-so-...",
            "HS256",
            headers={"kid": KID},
        ),
    }
    assertion = makers[case]()
    answer = discover(hub, **{"Cf-Access-Jwt-Assertion": assertion})
    assert answer.status_code == 401
    message = answer.json()["message"]
    assert message.startswith("Cloudflare Access assertion rejected")
    assert reason in message


def test_access_settings_come_in_pairs_and_need_https() -> None:
    assert Settings(cf_access_team_domain="myteam.cloudflareaccess.com", cf_access_aud="x").cf_access_team_domain == (
        "https://myteam.cloudflareaccess.com"
    )
    with pytest.raises(ValidationError, match="set both cf_access_team_domain and cf_access_aud"):
        Settings(cf_access_team_domain="myteam.cloudflareaccess.com")
    with pytest.raises(ValidationError, match="must be an https URL"):
        Settings(cf_access_team_domain="http://myteam.example.com", cf_access_aud="x")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    async with chromium() as browser:
        context = await browser.new_context(viewport=PHONE)
        try:
            yield context
        finally:
            await context.close()


@pytest.mark.anyio
async def test_page_behind_access_needs_no_token(hub: ServedHub, team: Team, browser_page: Any) -> None:
    """Cloudflare adds the assertion to every request it forwards; the page then never asks for a token."""
    await browser_page.set_extra_http_headers({"Cf-Access-Jwt-Assertion": team.assertion()})
    page = await browser_page.new_page()
    errors: list[str] = []
    watch_console(page, errors)
    await page.goto(hub.base)
    await expect(page.locator("#thread-title")).to_have_text("Main")
    await expect(page.locator("#login")).to_be_hidden()
    await screenshot(page, "phone-cf-access-390x844")
    assert errors == []
