"""Auth on the real HTTP endpoint: only `Authorization: Bearer <token>` from a loopback Host/Origin gets in,
and the token never reaches the server log."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TOKEN, ServedHub, start_hub, stop_hub

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "auth-test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
GOOD = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    """One `mainloop serve` with a token for the whole module: starting one costs seconds."""
    hub = start_hub(tmp_path_factory.mktemp("auth"), env={"MAINLOOP_TOKEN": TOKEN})
    try:
        yield hub
    finally:
        stop_hub(hub)


@pytest.fixture
def http(guarded: ServedHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=guarded.base, timeout=10) as client:
        yield client


def test_the_right_bearer_token_gets_in(http: httpx.Client) -> None:
    response = http.post("/mcp", json=INITIALIZE, headers=GOOD)
    assert response.status_code == 200
    assert "mainloop" in response.text


@pytest.mark.parametrize(
    ("case", "headers", "query"),
    [
        ("no token", MCP_HEADERS, {}),
        ("wrong token", {**MCP_HEADERS, "Authorization": "Bearer not-the-token"}, {}),
        ("token without the Bearer scheme", {**MCP_HEADERS, "Authorization": TOKEN}, {}),
        ("token of a different case", {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN.upper()}"}, {}),
        ("token in the query string", MCP_HEADERS, {"token": TOKEN}),
        ("access_token in the query string", MCP_HEADERS, {"access_token": TOKEN}),
    ],
)
def test_requests_without_the_header_token_are_refused(
    http: httpx.Client, case: str, headers: dict[str, str], query: dict[str, str]
) -> None:
    response = http.post("/mcp", json=INITIALIZE, headers=headers, params=query)
    assert response.status_code == 401, case
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "mainloop" not in response.text  # nothing of the server's answer leaks


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("foreign Host", {"Host": "evil.example.com"}),
        ("foreign Host with a port", {"Host": "evil.example.com:80"}),
        ("foreign Origin", {"Origin": "http://evil.example.com"}),
        ("look-alike Origin", {"Origin": "http://127.0.0.1.evil.example.com"}),
    ],
)
def test_foreign_host_or_origin_is_refused_even_with_the_token(
    http: httpx.Client, case: str, extra: dict[str, str]
) -> None:
    response = http.post("/mcp", json=INITIALIZE, headers={**GOOD, **extra})
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert "mainloop" not in response.text


def test_the_token_never_reaches_the_log(guarded: ServedHub, http: httpx.Client) -> None:
    # Every way a token could be sent, right and wrong, then look for it in everything the server wrote.
    http.post("/mcp", json=INITIALIZE, headers=GOOD)
    http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS, params={"token": TOKEN})
    http.get("/mcp", params={"access_token": TOKEN}, headers={"Accept": "text/event-stream"})
    http.post("/mcp", json=INITIALIZE, headers={**GOOD, "Host": "evil.example.com"})
    http.get(f"/healthz?token={TOKEN}")
    log = guarded.log.read_text()
    assert '"POST /mcp?[redacted] HTTP/1.1" 401' in log, "the access log should still show the refused request"
    assert TOKEN not in log
    assert TOKEN.upper() not in log


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(http: httpx.Client, scheme: str) -> None:
    response = http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200, response.text


def test_the_bound_address_is_always_an_allowed_host(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import ROOT, VENV_BIN, free_port, sqlite_url

    port = free_port()
    env = {**os.environ, "MAINLOOP_STORE": sqlite_url(tmp_path), "MAINLOOP_CONFIG": str(tmp_path / "absent.toml")}
    proc = subprocess.Popen(
        [str(VENV_BIN / "mainloop"), "serve", "--host", "127.0.0.2", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.2:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        response = httpx.post(f"{base}/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=10)
        assert response.status_code == 200, response.text  # its own Host, not 421
    finally:
        proc.terminate()
        proc.wait(timeout=10)
