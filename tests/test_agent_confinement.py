"""Agents stay confined and bounded: the work folder is checked again when a queued run starts, a prompt
is never read as a CLI option, descendants that left the process group die with the run, and output
beyond the cap is never held whole. Real claude-code-mcp, stand-in CLI (tests/fake_claude)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from mainloop_mcp.agents.transport import _Oversized, capped_lines, salvage
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.model import MAX_CONTENT_BYTES, NewThread, RunStatus, ThreadType
from tests.agent_support import agent_settings, alive, records, started_pids

pytestmark = pytest.mark.anyio


async def _project(hub: Hub) -> str:
    return (await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="P"))).id


async def _until(condition: Callable[[], object], what: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await anyio.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


async def test_a_queued_run_whose_folder_vanished_fails_instead_of_running_elsewhere(tmp_path: Path) -> None:
    victim = tmp_path / "work" / "victim"
    victim.mkdir(parents=True)
    async with open_hub(agent_settings(tmp_path, agent_concurrency=1)) as hub:
        parent = await _project(hub)
        busy = await hub.agents.spawn("SLEEP=1", parent, str(tmp_path / "work"), None)
        queued = await hub.agents.spawn("should never run", parent, str(victim), None)
        shutil.rmtree(victim)
        done = await hub.agents.wait(queued.id)
        await hub.agents.wait(busy.id)
    assert done.status is RunStatus.FAILED and done.started_at is None
    assert "when its turn came" in (done.error or "") and "does not exist" in (done.error or "")
    assert len(started_pids(tmp_path)) == 1  # only the busy run reached the CLI


async def test_a_queued_run_whose_folder_became_a_symlink_out_of_the_roots_fails(tmp_path: Path) -> None:
    victim = tmp_path / "work" / "victim"
    victim.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    async with open_hub(agent_settings(tmp_path, agent_concurrency=1)) as hub:
        parent = await _project(hub)
        await hub.agents.spawn("SLEEP=1", parent, str(tmp_path / "work"), None)
        queued = await hub.agents.spawn("should never run", parent, str(victim), None)
        victim.rmdir()
        victim.symlink_to(outside)
        done = await hub.agents.wait(queued.id)
    assert done.status is RunStatus.FAILED and "outside the allowed agent work roots" in (done.error or "")
    assert str(outside) not in (done.error or "")  # never says where the link leads


@pytest.mark.parametrize("prompt", ["--add-dir=/ then do the task", "-p --model evil", "--help"])
async def test_a_prompt_is_never_read_as_a_cli_option(tmp_path: Path, prompt: str) -> None:
    async with open_hub(agent_settings(tmp_path)) as hub:
        run = await hub.agents.spawn(prompt, await _project(hub), str(tmp_path / "work"), None)
        done = await hub.agents.wait(run.id)
    assert done.status is RunStatus.SUCCEEDED, done.error
    flags = next(line for line in (done.result or "").splitlines() if line.startswith("flags:"))
    assert flags == "flags: --dangerously-skip-permissions"  # the stand-in lists every --option it got
    assert "via=file" in (done.result or "")
    (asked,) = records(tmp_path).glob("*.prompt")
    assert asked.read_text() == prompt  # the agent still reads the prompt itself, unchanged


async def test_a_grandchild_that_called_setsid_dies_with_its_cancelled_run(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path)) as hub:
        run = await hub.agents.spawn("ORPHAN=120 SLEEP=120", await _project(hub), str(tmp_path / "work"), None)
        orphan_file = records(tmp_path)
        await _until(lambda: list(orphan_file.glob("*.orphan")), "the grandchild to start")
        (pid_file,) = orphan_file.glob("*.orphan")
        orphan = int(pid_file.read_text())
        assert alive(orphan)
        await hub.agents.cancel(run.id)
    await _until(lambda: not alive(orphan), "the setsid grandchild to end", 10)


async def test_an_orphaned_setsid_grandchild_ends_with_its_finished_run(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path)) as hub:
        run = await hub.agents.spawn("ORPHAN=120", await _project(hub), str(tmp_path / "work"), None)
        done = await hub.agents.wait(run.id)
        assert done.status is RunStatus.SUCCEEDED
        (pid_file,) = records(tmp_path).glob("*.orphan")
        orphan = int(pid_file.read_text())
        # Its parent (the CLI) exited first, so only the session marker in its environment finds it.
        await _until(lambda: not alive(orphan), "the orphaned grandchild to end", 10)


async def test_huge_output_is_read_only_up_to_the_cap_and_stored_clipped(tmp_path: Path) -> None:
    async with open_hub(agent_settings(tmp_path)) as hub:
        run = await hub.agents.spawn("BIG=20000000", await _project(hub), str(tmp_path / "work"), None)
        done = await hub.agents.wait(run.id)
        listed = (await hub.agents.list(None, None, 50, None)).runs
    assert done.status is RunStatus.SUCCEEDED, done.error
    result = done.result or ""
    assert len(result.encode()) <= MAX_CONTENT_BYTES
    assert result.startswith("x" * 1_000_000) and result.endswith("]")
    assert "the agent's output was 20,000,0" in result  # the real size (plus its JSON envelope)
    assert listed[0].result is not None and len(listed[0].result) < 1000  # lists carry a preview only


async def _lines(data: bytes, cap: int) -> list[bytes | _Oversized]:
    send, receive = anyio.create_memory_object_stream[bytes](100)
    for i in range(0, len(data), 7):
        await send.send(data[i : i + 7])
    send.close()

    class Stream:
        async def receive(self) -> bytes:
            try:
                return await receive.receive()
            except anyio.EndOfStream:
                raise anyio.EndOfStream from None

    return [line async for line in capped_lines(Stream(), cap)]  # type: ignore[arg-type]


async def test_capped_lines_keep_only_head_and_tail_of_a_long_line() -> None:
    long = b'{"result":{"content":[{"type":"text","text":"' + b"ab\\n" * 100 + b'"}]},"jsonrpc":"2.0","id":7}'
    got = await _lines(b"short\n" + long + b"\nafter\n", cap=60)
    assert got[0] == b"short" and got[2] == b"after"
    over = got[1]
    assert isinstance(over, _Oversized) and over.size == len(long) and len(over.head) == 60
    message = salvage(over, 60)
    assert message is not None and message["id"] == 7
    text = message["result"]["content"][0]["text"]
    assert text.startswith("ab\nab\n") and "only its first 60 bytes were read" in text


def test_salvage_turns_an_unreadable_oversized_line_into_nothing_or_an_error() -> None:
    assert salvage(_Oversized(b"x" * 50, b"y" * 50, 5000), 50) is None
    error = salvage(_Oversized(b'{"jsonrpc":"2.0","id":"a","method":"x"' + b"z" * 20, b"}", 5000), 40)
    assert error is not None and error["id"] == "a" and "5,000 bytes" in error["error"]["message"]
