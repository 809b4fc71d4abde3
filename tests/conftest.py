"""Fixtures that build real things: a SQLite file, a hub, an in-memory MCP client, a served hub."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.server import create_server
from mainloop_mcp.store import Store, open_store
from tests import bq_emulator

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """The one injectable clock for time-travel tests: starts at a fixed instant, moves when told."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mainloop.db'}"


def bigquery_url(tmp_path: Path) -> str:
    return bq_emulator.store_url()


# Every store backend the contract suite runs against; later backends add a factory here.
STORE_URLS: dict[str, Callable[[Path], str]] = {"sqlite": sqlite_url, "bigquery": bigquery_url}


@pytest.fixture(scope="session", autouse=True)
def _stop_bigquery_emulator() -> Iterator[None]:
    """The emulator starts on first use (tests/bq_emulator.py) and ends with the session."""
    yield
    bq_emulator.stop()


def store_url_over(backends: list[str]) -> Any:
    """A `store_url` fixture over some backends: a test module that assigns it to `store_url` runs its
    contract tests on just those (for protocols not every backend implements yet)."""

    @pytest.fixture(params=backends)
    def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
        return STORE_URLS[request.param](tmp_path)

    return store_url


store_url = store_url_over(sorted(STORE_URLS))


def forged_cursor(kind: str, position: Any) -> str:
    """A cursor of the right kind holding values a real one never does (base64 of the JSON a server writes)."""
    raw = json.dumps({"k": kind, "p": position}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
async def store(store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    s = await open_store(store_url, clock=clock)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(store=sqlite_url(tmp_path), push_dir=tmp_path / "push")


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with open_hub(settings) as h:
        yield h


@pytest.fixture(params=["auto", "legacy"])
async def client(request: pytest.FixtureRequest, hub: Hub) -> AsyncIterator[Client]:
    """In-memory MCP client, in both protocol eras (2026-07-28 and the 2025-11-25 handshake)."""
    async with Client(create_server(hub), mode=request.param) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedHub:
    """A real `mainloop serve` process on a loopback port."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"


def start_hub(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    port: int | None = None,
    command: list[str] | None = None,
) -> ServedHub:
    """`mainloop serve` (or `command`, run from the checkout with the same MAINLOOP_* env) on a free port;
    `port` restarts a hub where it was (same store, same address)."""
    port = port or free_port()
    log = tmp_path / f"serve-{port}.log"
    full_env = {
        **os.environ,
        "MAINLOOP_STORE": sqlite_url(tmp_path),
        "MAINLOOP_PORT": str(port),
        "MAINLOOP_CONFIG": str(tmp_path / "absent.toml"),
        "MAINLOOP_PUSH_DIR": str(tmp_path / "push"),
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*(command or [str(VENV_BIN / "mainloop"), "serve"]), *(args or [])],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    hub = ServedHub(proc, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mainloop serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{hub.base}/healthz", timeout=1).status_code == 200:
                return hub
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_hub(hub)
    raise RuntimeError(f"mainloop serve did not come up:\n{log.read_text()}")


def stop_hub(hub: ServedHub) -> None:
    if hub.proc.poll() is None:
        hub.proc.terminate()
        try:
            hub.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            hub.proc.kill()
            hub.proc.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedHub]:
    hub = start_hub(tmp_path)
    try:
        yield hub
    finally:
        stop_hub(hub)


TOKEN = "test-token-5f2b7c"


@pytest.fixture
def served_with_token(tmp_path: Path) -> Iterator[ServedHub]:
    hub = start_hub(tmp_path, env={"MAINLOOP_TOKEN": TOKEN})
    try:
        yield hub
    finally:
        stop_hub(hub)
