"""The `_meta` keys mainloop adds to change notifications, and reads on a resuming listen request."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from mainloop_mcp.resources.activity import ACTIVITY_URI
from mainloop_mcp.store.changes import Change

# On every change notification: the change's sequence number and thread.
SEQ_KEY = "io.mainloop/seq"
THREAD_KEY = "io.mainloop/thread"
# On a subscriptions/listen request: the last sequence number the client saw (it gets every later change).
SINCE_KEY = "io.mainloop/since"
# On the notification that says changes were missed beyond the kept history: refetch everything.
RESYNC_KEY = "io.mainloop/resync"


def change_meta(change: Change) -> dict[str, Any]:
    meta: dict[str, Any] = {SEQ_KEY: change.seq}
    if change.thread_id is not None:
        meta[THREAD_KEY] = change.thread_id
    return meta


def announced_uris(change: Change) -> list[str]:
    """The resources a change makes stale: its own, and the activity of all threads for any thread's."""
    if change.uri.startswith("thread://"):
        return [change.uri, ACTIVITY_URI]
    return [change.uri]


def updated_for(change: Change, subscribed: Collection[str]) -> list[str]:
    """The subscribed resources a change makes stale. `memory://{thread}` stands for every period of
    that thread's memory, so it reaches each subscribed `memory://{thread}/{period}`."""
    found = [uri for uri in announced_uris(change) if uri in subscribed]
    if change.uri.startswith("memory://"):
        found += sorted(uri for uri in subscribed if uri.startswith(change.uri + "/"))
    return found
