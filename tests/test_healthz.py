"""/healthz: what a Kubernetes probe sees when the store answers, and when it doesn't."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.web.app import create_app

pytestmark = pytest.mark.anyio


async def test_healthz_is_503_with_the_reason_when_the_store_does_not_answer(settings: Settings) -> None:
    async with open_hub(settings) as hub:
        app = create_app(hub)
        await hub.store.close()
        response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "the store does not answer (ProgrammingError)"}


async def test_healthz_asks_the_store_at_most_once_per_interval(settings: Settings) -> None:
    async with open_hub(settings) as hub:
        app = create_app(hub)
        client = TestClient(app)
        assert client.get("/healthz").status_code == 200
        await hub.store.close()
        # Within the interval the earlier answer stands: probes don't each cost a store query.
        assert client.get("/healthz").status_code == 200
