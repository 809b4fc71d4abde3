"""`subscriptions/listen` (2026-07-28) served from the change feed, resumable by sequence number.

The SDK's own handler has no replay. This one keeps its wire contract (acknowledge first, stamp every
frame with the subscription id, deliver only what the filter asked for) and adds: every frame carries
the change's sequence number, the acknowledgement carries the newest one, and a listen request whose
`_meta` names the last sequence number the client saw first replays every later change exactly once
(or, beyond the kept history, one `resources/list_changed` marked resync: refetch everything).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp.server import ServerRequestContext
from mcp.server.subscriptions import SUBSCRIPTION_ID_META_KEY
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    NotificationParams,
    ResourceListChangedNotification,
    ResourceUpdatedNotification,
    ResourceUpdatedNotificationParams,
    ServerNotification,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
)

from mainloop_mcp.changes.feed import ChangeFeed
from mainloop_mcp.live.meta import RESYNC_KEY, SEQ_KEY, SINCE_KEY, change_meta, updated_for
from mainloop_mcp.store.changes import Change

log = logging.getLogger(__name__)


class StreamFilter:
    """What one listen stream asked for."""

    def __init__(self, requested: SubscriptionFilter) -> None:
        self.uris = frozenset(requested.resource_subscriptions or ())
        self.list_changed = requested.resources_list_changed is True
        self.honored = SubscriptionFilter(
            resources_list_changed=True if self.list_changed else None,
            resource_subscriptions=sorted(self.uris) or None,
        )

    def frames(self, change: Change, meta: dict[str, Any]) -> list[ServerNotification]:
        frame_meta = {**meta, **change_meta(change)}
        frames: list[ServerNotification] = []
        for uri in updated_for(change, self.uris):
            params = ResourceUpdatedNotificationParams(uri=uri, _meta=frame_meta)
            frames.append(ResourceUpdatedNotification(params=params))
        if change.tree and self.list_changed:
            frames.append(ResourceListChangedNotification(params=NotificationParams(_meta=frame_meta)))
        return frames


class ResumableListen:
    """The `subscriptions/listen` request handler; one call is one stream."""

    def __init__(self, feed: ChangeFeed, *, max_streams: int = 4096, max_buffered: int = 1024) -> None:
        self._feed = feed
        self._max_streams = max_streams
        self._max_buffered = max_buffered
        self._open = 0

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        subscription_id = ctx.request_id
        if subscription_id is None:
            raise MCPError(INVALID_REQUEST, "subscriptions/listen requires a request id")
        if self._open >= self._max_streams:
            raise MCPError(INTERNAL_ERROR, "Subscription limit reached")
        since = _since(params)
        wanted = StreamFilter(params.notifications)
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: subscription_id}
        send, recv = anyio.create_memory_object_stream[Change](self._max_buffered)

        def deliver(change: Change) -> None:
            if wanted.frames(change, meta):
                try:
                    send.send_nowait(change)
                except anyio.WouldBlock:  # the client stopped reading: end the stream; it resumes by seq
                    log.warning("listen stream %r backlog full; ending it", subscription_id)
                    send.close()
                except anyio.ClosedResourceError:
                    pass

        # Subscribe and take the backlog with no await between: nothing falls in the gap, nothing twice.
        unsubscribe = self._feed.subscribe(deliver)
        backlog = self._feed.since(since) if since is not None else []
        newest = self._feed.last_seq
        self._open += 1

        async def emit(frames: list[ServerNotification]) -> None:
            for frame in frames:
                await ctx.session.send_notification(frame, related_request_id=subscription_id)

        try:
            ack = SubscriptionsAcknowledgedNotificationParams(
                notifications=wanted.honored, _meta={**meta, SEQ_KEY: newest}
            )
            await emit([SubscriptionsAcknowledgedNotification(params=ack)])
            if backlog is None:
                resync = NotificationParams(_meta={**meta, SEQ_KEY: newest, RESYNC_KEY: True})
                await emit([ResourceListChangedNotification(params=resync)])
            else:
                for change in backlog:
                    await emit(wanted.frames(change, meta))
            async for change in recv:
                await emit(wanted.frames(change, meta))
        finally:
            self._open -= 1
            unsubscribe()
            send.close()
            recv.close()
        return SubscriptionsListenResult(_meta=meta)


def _since(params: SubscriptionsListenRequestParams) -> int | None:
    value = (params.meta or {}).get(SINCE_KEY)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MCPError(INVALID_PARAMS, f"_meta[{SINCE_KEY!r}] must be a sequence number >= 0, not {value!r}")
    return value
