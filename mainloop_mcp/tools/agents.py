"""Agent tools: chat replies from the agent, and sub-agent runs that report back into task threads."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from mainloop_mcp.hub import HubDep
from mainloop_mcp.model import AgentRun, AgentRunPage, Message, RunStatus
from mainloop_mcp.tools.spec import ToolSpec, reads


class ChatReply(BaseModel):
    message: Message = Field(description="Your message as stored")
    reply: Message = Field(description="The agent's answer, stored as an assistant message in the same thread")


async def chat(
    thread_id: Annotated[str, Field(description="Thread to talk in")],
    content: Annotated[str, Field(description="Your message")],
    ctx: Context,
    hub: HubDep,
) -> ChatReply:
    """Post a message and wait for the agent's reply in the thread. Long or parallel work: spawn_agent."""

    steps = 0

    async def progress(note: str) -> None:
        nonlocal steps
        steps += 1  # progress must increase with every notification
        await ctx.report_progress(steps, None, note)

    message, reply = await hub.agents.chat(thread_id, content, progress)
    return ChatReply(message=message, reply=reply)


async def spawn_agent(
    prompt: Annotated[str, Field(description="Self-contained task")],
    parent_thread_id: Annotated[str, Field(description="Project (or main) for the task thread")],
    work_folder: Annotated[str, Field(description="Absolute folder in an allowed root")],
    hub: HubDep,
    title: Annotated[str | None, Field(description="Default: the prompt's first line")] = None,
) -> AgentRun:
    """Run a sub-agent in the background; its result lands in a new task thread under the parent."""
    return await hub.agents.spawn(prompt, parent_thread_id, work_folder, title)


async def get_agent(run_id: Annotated[str, Field(description="Run id")], hub: HubDep) -> AgentRun:
    """One agent run: its status and result."""
    return await hub.agents.get(run_id)


async def list_agents(
    hub: HubDep,
    status: Annotated[RunStatus | None, Field(description="Only this status")] = None,
    parent_thread_id: Annotated[str | None, Field(description="Only under this thread")] = None,
    limit: int = 50,
    cursor: str | None = None,
) -> AgentRunPage:
    """Agent runs, newest first, e.g. those running; prompt and result cut short (get_agent: whole)."""
    return await hub.agents.list(status, parent_thread_id, limit, cursor)


async def cancel_agent(run_id: Annotated[str, Field(description="Run id")], hub: HubDep) -> AgentRun:
    """Stop a queued or running agent (its processes are killed); a finished run is returned as is."""
    return await hub.agents.cancel(run_id)


TOOLS = [
    ToolSpec(chat, "Chat with the agent", open_world=True),
    ToolSpec(spawn_agent, "Spawn sub-agent", open_world=True),
    reads(get_agent, "Get agent run"),
    reads(list_agents, "List agent runs"),
    ToolSpec(cancel_agent, "Cancel agent run", destructive=True, idempotent=True),
]
