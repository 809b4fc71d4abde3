"""Message tools beyond one post: a batch, a correction, a redaction."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field, ValidationError

from mainloop_mcp.edge import explain
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.hub import Hub, HubDep
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.redaction import redact
from mainloop_mcp.model import MAX_PAGE_SIZE, Message, NewMessage, Role
from mainloop_mcp.store.base import edit_store
from mainloop_mcp.tools.args import PAGE_CLIENT, ClientRole, ThreadRef, client_name, parse_time, resolve_thread
from mainloop_mcp.tools.spec import ToolSpec
from mainloop_mcp.tools.threads import RoleArg, authored, default_role

MessageId = str


class BatchItem(BaseModel):
    content: str
    role: ClientRole | None = None
    idempotency_key: str | None = None
    created_at: str | None = Field(default=None, description="Original time (imports)")
    metadata: dict[str, Any] | None = None


class BatchResult(BaseModel):
    thread_id: str
    added: int = Field(description="Messages stored now")
    already_stored: int = Field(description="Items whose idempotency_key was stored before")


def trusted(ctx: Context, hub: Hub) -> bool:
    """stdio (no HTTP request) or HTTP behind the hub's bearer token: may set a message's original time."""
    request = getattr(ctx.request_context, "request", None)
    return request is None or hub.settings.token is not None


async def post_messages(
    thread_id: ThreadRef,
    messages: Annotated[list[BatchItem], Field(description="Oldest first")],
    ctx: Context,
    hub: HubDep,
) -> BatchResult:
    """Record several messages in one thread, all or none; idempotency_key makes retries safe."""
    if not 1 <= len(messages) <= MAX_PAGE_SIZE:
        raise InvalidInput(f"messages holds {len(messages)} items; send 1 to {MAX_PAGE_SIZE} per call")
    if any(item.created_at for item in messages) and not trusted(ctx, hub):
        raise InvalidInput("created_at is kept only from stdio or token-authenticated HTTP clients; omit it")
    thread = await resolve_thread(hub.store, thread_id)
    tz, now = zone(hub.settings.timezone), hub.clock()
    batch = []
    for i, item in enumerate(messages):
        try:
            new = NewMessage(
                thread_id=thread.id,
                role=Role(item.role) if item.role else default_role(ctx),
                content=item.content,
                idempotency_key=item.idempotency_key,
                metadata=authored(ctx, item.metadata),
                created_at=parse_time(f"messages[{i}].created_at", item.created_at, tz, now),
            )
        except ValidationError as exc:
            raise InvalidInput(f"messages[{i}]: {explain(exc)}") from exc
        batch.append(new)
    added = await hub.store.append_messages(batch)
    return BatchResult(thread_id=thread.id, added=added, already_stored=len(batch) - added)


async def correct_message(
    message_id: MessageId,
    content: Annotated[str, Field(description="The whole corrected text")],
    ctx: Context,
    hub: HubDep,
    role: RoleArg = None,
) -> Message:
    """Replace a wrong message in context and search; the original stays in history, marked superseded."""
    store = edit_store(hub.store)
    original = await store.get_message(message_id)
    try:
        correction = NewMessage(
            thread_id=original.thread_id,
            role=Role(role) if role else default_role(ctx),
            content=content,
            metadata=authored(ctx, {"corrects": original.id}),
        )
    except ValidationError as exc:
        raise InvalidInput(explain(exc)) from exc
    return await store.supersede_message(original.id, correction)


async def redact_message(message_id: MessageId, ctx: Context, hub: HubDep) -> Message:
    """Erase a message's content for good (e.g. a pasted secret) from store, search, summaries and
    digests; a tombstone keeps who and when."""
    name = client_name(ctx)
    by = "the user" if name in (None, PAGE_CLIENT) else name
    return await redact(hub.pyramid(), message_id, by or "the user")


TOOLS = [
    ToolSpec(post_messages, "Post messages"),
    ToolSpec(correct_message, "Correct message"),
    ToolSpec(redact_message, "Redact message", destructive=True, idempotent=True),
]
