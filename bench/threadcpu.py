"""CPU time of this process by thread role (Linux /proc), to say where a hub's CPU goes.

Threads are grouped by what their names say they do: the hub names its per-camera threads
`<camera>:<role>` (reader, sampler, recorder, preroll) and its engine `detector:inference`;
the event loop is MainThread; asyncio.to_thread workers are `asyncio_N`. Threads Python does
not know (ONNX Runtime's and FFmpeg's own pools) are "native". A thread that ended within
the window took its CPU with it: the remainder against the process total is shown as such.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from pathlib import Path

__all__ = ["Snapshot", "role_of", "snapshot", "spent_by_role"]

Snapshot = dict[int, tuple[str, float]]  # thread id -> (role, CPU seconds so far)

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def role_of(thread_name: str) -> str:
    """The role a thread's name says: `cam-7:sampler` -> sampler, `asyncio_3` -> to_thread."""
    if thread_name == "MainThread":
        return "event loop"
    if re.fullmatch(r"asyncio_\d+", thread_name):
        return "to_thread"
    return thread_name.split(":", 1)[1] if ":" in thread_name else thread_name


def _task_cpu_s(tid: int) -> float | None:
    try:
        stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    except OSError:  # the thread ended
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


def snapshot() -> Snapshot:
    """Each live thread's role and CPU seconds so far."""
    names = {t.native_id: role_of(t.name) for t in threading.enumerate()}
    taken: Snapshot = {}
    for entry in os.scandir("/proc/self/task"):
        tid = int(entry.name)
        cpu = _task_cpu_s(tid)
        if cpu is not None:
            taken[tid] = (names.get(tid, "native"), cpu)
    return taken


def spent_by_role(before: Snapshot, after: Snapshot) -> Counter[str]:
    """CPU seconds each role spent between two snapshots (threads still alive at the end)."""
    spent: Counter[str] = Counter()
    for tid, (role, cpu) in after.items():
        start = before.get(tid)
        spent[role] += cpu - (start[1] if start is not None else 0.0)
    return spent
