"""`mainloop stdio --hub URL`: MCP over stdio, answered by a running `mainloop serve`.

Claude Desktop and Claude Code start a stdio server; with `--hub` that server opens no store and
forwards every request to the hub over Streamable HTTP (bearer token from MAINLOOP_TOKEN), so every
client shares one process. Change notifications are forwarded too: a handshake-era subscription or a
2026-07-28 listen stream here becomes a listen stream on the hub.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import NotificationOptions, Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import SUBSCRIPTION_ID_META_KEY
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated, event_to_notification
from mcp_types import (
    INVALID_REQUEST,
    CallToolRequestParams,
    CallToolResult,
    EmptyResult,
    GetPromptRequestParams,
    GetPromptResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    SubscribeRequestParams,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from mainloop_mcp.live.legacy import connection_of

Ctx = ServerRequestContext[Any]


class Bridge:
    """The stdio side's handlers, each answered by `upstream` (a client of the hub)."""

    def __init__(self, upstream: Client, tasks: anyio.abc.TaskGroup) -> None:
        self.up = upstream
        self._tasks = tasks
        self._forwarding: dict[str, anyio.CancelScope] = {}

    def server(self, name: str, version: str) -> Server[Any]:
        return Server(
            name,
            version=version,
            instructions=self.up.instructions,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_templates,
            on_read_resource=self.read_resource,
            on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt,
            on_subscribe_resource=self.subscribe,
            on_unsubscribe_resource=self.unsubscribe,
            on_subscriptions_listen=self.listen,
        )

    async def list_tools(self, ctx: Ctx, params: PaginatedRequestParams | None) -> ListToolsResult:
        return await self.up.list_tools(cursor=params.cursor if params else None)

    async def call_tool(self, ctx: Ctx, params: CallToolRequestParams) -> CallToolResult:
        async def progress(progress: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(progress, total, message)  # a no-op unless the caller asked

        return await self.up.call_tool(params.name, params.arguments, progress_callback=progress)

    async def list_resources(self, ctx: Ctx, params: PaginatedRequestParams | None) -> ListResourcesResult:
        return await self.up.list_resources(cursor=params.cursor if params else None)

    async def list_templates(self, ctx: Ctx, params: PaginatedRequestParams | None) -> ListResourceTemplatesResult:
        return await self.up.list_resource_templates(cursor=params.cursor if params else None)

    async def read_resource(self, ctx: Ctx, params: ReadResourceRequestParams) -> ReadResourceResult:
        return await self.up.read_resource(str(params.uri))

    async def list_prompts(self, ctx: Ctx, params: PaginatedRequestParams | None) -> ListPromptsResult:
        return await self.up.list_prompts(cursor=params.cursor if params else None)

    async def get_prompt(self, ctx: Ctx, params: GetPromptRequestParams) -> GetPromptResult:
        return await self.up.get_prompt(params.name, params.arguments)

    async def subscribe(self, ctx: Ctx, params: SubscribeRequestParams) -> EmptyResult:
        uri = str(params.uri)
        if uri not in self._forwarding:
            scope = self._forwarding[uri] = anyio.CancelScope()
            connection = connection_of(ctx)

            async def forward() -> None:
                with scope:
                    async with self.up.listen(resource_subscriptions=[uri], resources_list_changed=True) as stream:
                        async for event in stream:
                            if isinstance(event, ResourceUpdated):
                                await connection.send_resource_updated(event.uri)
                            elif isinstance(event, ResourcesListChanged):
                                await connection.send_resource_list_changed()

            self._tasks.start_soon(forward)
        return EmptyResult()

    async def unsubscribe(self, ctx: Ctx, params: UnsubscribeRequestParams) -> EmptyResult:
        if (scope := self._forwarding.pop(str(params.uri), None)) is not None:
            scope.cancel()
        return EmptyResult()

    async def listen(self, ctx: Ctx, params: SubscriptionsListenRequestParams) -> SubscriptionsListenResult:
        if ctx.request_id is None:
            raise MCPError(INVALID_REQUEST, "subscriptions/listen requires a request id")
        wanted = params.notifications
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: ctx.request_id}
        async with self.up.listen(
            tools_list_changed=wanted.tools_list_changed is True,
            prompts_list_changed=wanted.prompts_list_changed is True,
            resources_list_changed=wanted.resources_list_changed is True,
            resource_subscriptions=list(wanted.resource_subscriptions or ()),
        ) as stream:
            ack = SubscriptionsAcknowledgedNotificationParams(notifications=stream.honored, _meta=meta)
            await ctx.session.send_notification(
                SubscriptionsAcknowledgedNotification(params=ack), related_request_id=ctx.request_id
            )
            async for event in stream:
                await ctx.session.send_notification(
                    event_to_notification(event, meta), related_request_id=ctx.request_id
                )
        return SubscriptionsListenResult(_meta=meta)


@asynccontextmanager
async def hub_client(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=None)) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client


async def run_bridge(url: str, token: str | None, name: str, version: str) -> None:
    """Serve stdio until stdin closes, answering from the hub at `url`."""
    async with hub_client(url, token) as upstream, anyio.create_task_group() as tasks:
        server = Bridge(upstream, tasks).server(name, version)
        async with stdio_server() as (read, write):
            await server.run(
                read, write, server.create_initialization_options(NotificationOptions(resources_changed=True))
            )
        tasks.cancel_scope.cancel()
