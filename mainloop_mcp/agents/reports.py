"""How a finished agent run reads in the threads: its answer in the task thread, one line in the parent.

The store posts these in the same transaction as the run's end (`AgentRunStore.finish_run(posts=...)`);
the words live here, with the agents, not in the persistence layer.
"""

from __future__ import annotations

from mainloop_mcp.model import AgentRun, NewMessage, Role, RunStatus, clip


def outcome_line(run: AgentRun) -> str:
    """The one line a parent thread gets when one of its task runs ends."""
    detail = run.error if run.error is not None else (run.result or "")
    first = next((line.strip() for line in detail.splitlines() if line.strip()), "")
    if len(first) > 160:
        first = first[:157] + "..."
    return f"Agent run {run.id} ({run.title!r}) {run.status.value}" + (f": {first}" if first else "")


def report(run: AgentRun) -> str:
    """What a task thread gets when its run ends: the agent's answer, or what went wrong."""
    if run.status is RunStatus.SUCCEEDED:
        return clip(run.result or "(the agent returned no text)")
    return clip(f"Agent run {run.status.value}: {run.error or 'no detail'}")


def run_posts(run: AgentRun) -> list[NewMessage]:
    """The two messages a run's end posts (a RunPosts)."""
    meta = {"agent_run": run.id, "status": run.status.value}
    return [
        NewMessage(thread_id=run.thread_id, role=Role.AGENT, content=report(run), metadata=meta),
        NewMessage(thread_id=run.parent_thread_id, role=Role.SYSTEM, content=outcome_line(run), metadata=meta),
    ]
