"""Agent tools: chat replies from the agent, and sub-agent runs that report back into task threads."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from mainloop_mcp.hub import hub_of
from mainloop_mcp.model import MAX_PAGE_SIZE, AgentRun, AgentRunPage, Message, RunStatus


class ChatReply(BaseModel):
    message: Message = Field(description="Your message as stored")
    reply: Message = Field(description="The agent's answer, stored as an assistant message in the same thread")


async def chat(
    thread_id: Annotated[str, Field(description="Thread to talk in (its recent messages are the context)")],
    content: Annotated[str, Field(description="Your message")],
    ctx: Context,
) -> ChatReply:
    """Post a message and get the agent's reply in the same thread. Takes as long as the agent needs;
    progress notifications arrive meanwhile. For long or parallel work use spawn_agent instead."""

    steps = 0

    async def progress(note: str) -> None:
        nonlocal steps
        steps += 1  # progress must increase with every notification
        await ctx.report_progress(steps, None, note)

    message, reply = await hub_of(ctx).agents.chat(thread_id, content, progress)
    await ctx.notify_resource_updated(f"thread://{thread_id}")
    return ChatReply(message=message, reply=reply)


async def spawn_agent(
    prompt: Annotated[str, Field(description="What the agent should do, self-contained")],
    parent_thread_id: Annotated[str, Field(description="Project (or main) thread the new task thread goes under")],
    work_folder: Annotated[str, Field(description="Absolute folder the agent works in; must be in an allowed root")],
    ctx: Context,
    title: Annotated[str | None, Field(description="Task thread title; defaults to the prompt's first line")] = None,
) -> AgentRun:
    """Start a sub-agent in the background and return its run at once (status queued). A task thread is
    created under the parent; the result or error lands there and a one-line outcome in the parent.
    Check with get_agent or the agent://{id} resource; stop with cancel_agent."""
    return await hub_of(ctx).agents.spawn(prompt, parent_thread_id, work_folder, title)


async def get_agent(
    run_id: Annotated[str, Field(description="Agent run id from spawn_agent")], ctx: Context
) -> AgentRun:
    """Get an agent run: status (queued, running, succeeded, failed, cancelled, timed_out, interrupted), result."""
    return await hub_of(ctx).agents.get(run_id)


async def list_agents(
    ctx: Context,
    status: Annotated[RunStatus | None, Field(description="Only runs with this status")] = None,
    parent_thread_id: Annotated[str | None, Field(description="Only runs spawned under this thread")] = None,
    limit: Annotated[int, Field(description=f"Page size, 1 to {MAX_PAGE_SIZE}")] = 50,
    cursor: Annotated[str | None, Field(description="next_cursor from the previous page")] = None,
) -> AgentRunPage:
    """List agent runs, newest first, e.g. the ones still running. Prompts and results are cut to a
    preview; get_agent returns one run whole."""
    return await hub_of(ctx).agents.list(status, parent_thread_id, limit, cursor)


async def cancel_agent(run_id: Annotated[str, Field(description="Agent run id to stop")], ctx: Context) -> AgentRun:
    """Stop a queued or running agent (its processes are killed) and return the final record.
    A run that already finished is returned unchanged."""
    return await hub_of(ctx).agents.cancel(run_id)


TOOLS = [chat, spawn_agent, get_agent, list_agents, cancel_agent]
