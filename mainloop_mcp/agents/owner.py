"""Which hub process owns a run, and whether that process is gone (so its runs can be marked interrupted).

Several hubs may share one store file (`mainloop serve` plus a `mainloop stdio` started by a desktop
client); a hub that starts must not take over runs another live hub is still running.
"""

from __future__ import annotations

import os
import socket
from functools import cache

import psutil


def start_mark(pid: int) -> str | None:
    """The process's start time in milliseconds (psutil: Linux, macOS, BSD), which tells a reused pid
    apart; None when there is no such process or it cannot be read."""
    try:
        return str(round(psutil.Process(pid).create_time() * 1000))
    except (psutil.Error, OSError):
        return None


@cache
def this_process() -> str:
    """host/pid/start-time of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{start_mark(pid) or '?'}"


def owner_gone(owner: str) -> bool:
    """True when the owning process no longer runs. Owners on another host count as gone: a store
    file is used from one host (the Kubernetes Deployment runs one replica)."""
    host, _, rest = owner.partition("/")
    pid_text, _, started = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another hub in this same process is alive; a closed one finished its runs
    current = start_mark(pid)
    if current is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return started != "?"
    return current != started
