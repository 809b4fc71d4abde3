"""What devices hear, from the hub's change feed: an assistant's reply landing in a thread, an agent
run finishing (or failing), and any new message in a thread the device follows (except the person's
own words and the hub's summaries). Each subscribed device gets a Web Push message (encrypted for it,
signed with the hub's VAPID key) if its settings ask for that kind; a push service that says the
subscription is gone (404/410) drops the device."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from mainloop_mcp.hub import Hub
from mainloop_mcp.model import AgentRun, Message, Role
from mainloop_mcp.push.devices import Device, DeviceBook
from mainloop_mcp.store.changes import RECENT_AGENTS_URI, Change

log = logging.getLogger(__name__)

BODY_CHARS = 180
TTL_SECONDS = 6 * 3600  # a phone that is off for longer does not need stale news
RECENT_RUNS = 20
# What may be pushed from a thread: never the person's own words nor the hub's summaries and digests.
TOLD_ROLES = frozenset({Role.ASSISTANT, Role.AGENT, Role.SYSTEM})

Send = Callable[[Device, dict[str, Any]], None]


class PushNotifier:
    def __init__(self, hub: Hub, book: DeviceBook, vapid: Vapid02, contact: str) -> None:
        self._hub = hub
        self._book = book
        self._vapid = vapid
        self._contact = contact
        self._since: datetime = hub.clock()
        self._told: set[str] = set()  # message ids already pushed
        self._runs: dict[str, str] = {}  # run id -> last status seen

    async def run(self) -> None:
        """Pushes until cancelled; call as a task beside the server."""
        if self._hub.changes is None:
            return
        send, recv = anyio.create_memory_object_stream[Change](1000)

        def deliver(change: Change) -> None:
            try:
                send.send_nowait(change)
            except anyio.WouldBlock:
                log.warning("push: too many changes at once; some notifications are skipped")

        self._runs = {r.id: r.status.value for r in await self._recent_runs()}
        unsubscribe = self._hub.changes.subscribe(deliver)
        try:
            async for change in recv:
                try:
                    await self.handle(change)
                except Exception:
                    log.exception("push: could not notify about %s", change.uri)
        finally:
            unsubscribe()

    async def handle(self, change: Change) -> None:
        if change.uri == RECENT_AGENTS_URI:
            for run in await self._recent_runs():
                before = self._runs.get(run.id)
                self._runs[run.id] = run.status.value
                if run.status.finished and before != run.status.value:
                    await self._notify(lambda d: d.settings.runs, _run_note(run))
        elif change.uri.startswith("thread://") and change.thread_id is not None:
            page = await self._hub.store.read_messages(change.thread_id, limit=5)
            fresh = [m for m in page.messages if m.role in TOLD_ROLES and m.created_at >= self._since]
            for message in reversed(fresh):
                if message.id in self._told:
                    continue
                self._told.add(message.id)
                thread = await self._hub.store.get_thread(message.thread_id)
                await self._notify(partial(wants, message=message), _reply_note(thread.title, message))

    async def _recent_runs(self) -> list[AgentRun]:
        try:
            return (await self._hub.agents.list(None, None, RECENT_RUNS, None)).runs
        except Exception as exc:  # a hub without agent runs: nothing to tell
            log.debug("push: no agent runs (%s)", exc)
            return []

    async def _notify(self, wanted: Callable[[Device], bool], note: dict[str, Any]) -> None:
        devices = [d for d in await anyio.to_thread.run_sync(self._book.all) if wanted(d)]
        for device in devices:
            await anyio.to_thread.run_sync(self._send, device, note)

    def _send(self, device: Device, note: dict[str, Any]) -> None:
        try:
            webpush(
                device.subscription.model_dump(mode="json"),
                data=json.dumps(note),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._contact},
                ttl=TTL_SECONDS,
                timeout=10,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                log.info("push: %s is no longer subscribed (HTTP %s); dropping it", device.id, status)
                self._book.remove(device.id)
            else:
                log.warning("push to %s failed: %s", device.id, exc)
        except Exception as exc:  # the push service unreachable: the next change tries again
            log.warning("push to %s failed: %s", device.id, exc)


def wants(device: Device, *, message: Message) -> bool:
    """Replies anywhere (if the device asks for them), and what others add to a thread it follows."""
    if message.thread_id in device.settings.follow:
        return True
    return device.settings.replies and message.role is Role.ASSISTANT


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= BODY_CHARS else flat[: BODY_CHARS - 1] + "…"


def _reply_note(title: str, message: Message) -> dict[str, Any]:
    return {"title": title, "body": _clip(message.content), "thread_id": message.thread_id, "tag": message.thread_id}


def _run_note(run: AgentRun) -> dict[str, Any]:
    outcome = {"succeeded": "finished"}.get(run.status.value, run.status.value.replace("_", " "))
    detail = run.error if run.error else (run.result or "")
    return {
        "title": f"Agent {outcome}: {run.title}",
        "body": _clip(detail) or f"The run {outcome}.",
        "thread_id": run.thread_id,
        "tag": run.id,
    }
