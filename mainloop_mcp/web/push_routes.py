"""Web Push for the page: the hub's public VAPID key, and devices subscribing, changing what they
want to hear about, and leaving. Behind the same credentials as /mcp (these are not open paths)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio.to_thread
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.push.devices import DeviceBook, DeviceSettings, Subscription


class NewDevice(BaseModel):
    subscription: Subscription
    settings: DeviceSettings = DeviceSettings()


Handler = Callable[[Request], Awaitable[Response]]


def _json_errors(handler: Handler) -> Handler:
    """Bad input is a 400 with a one-line reason; nothing is stored."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return JSONResponse({"error": f"{where}: {first['msg']}"}, status_code=400)
        except (InvalidInput, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return guarded


def push_routes(book: DeviceBook, public_key: str) -> list[BaseRoute]:
    async def key(_: Request) -> Response:
        return JSONResponse({"publicKey": public_key})

    async def subscribe(request: Request) -> Response:
        new = NewDevice.model_validate_json(await request.body())
        device = await anyio.to_thread.run_sync(book.save, new.subscription, new.settings)
        return JSONResponse({"id": device.id, "settings": device.settings.model_dump()})

    async def change(request: Request) -> Response:
        settings = DeviceSettings.model_validate_json(await request.body())
        device = await anyio.to_thread.run_sync(book.update, request.path_params["id"], settings)
        return JSONResponse({"id": device.id, "settings": device.settings.model_dump()})

    async def leave(request: Request) -> Response:
        await anyio.to_thread.run_sync(book.remove, request.path_params["id"])
        return Response(status_code=204)

    return [
        Route("/push/key", key),
        Route("/push/devices", _json_errors(subscribe), methods=["POST"]),
        Route("/push/devices/{id}", _json_errors(change), methods=["PUT"]),
        Route("/push/devices/{id}", _json_errors(leave), methods=["DELETE"]),
    ]
