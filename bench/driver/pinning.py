"""Where the driver suite's client and server run: the CPU placement of every round trip.

On a small virtual machine a one-connection round trip costs what the scheduler makes it cost. When a
client and its PostgreSQL backend share a CPU, an answer is a context switch away; when they sit on
different CPUs, it needs a cross-CPU wake-up of an idle virtual CPU, several times dearer. Left alone,
the kernel picks one of the two per connection and mostly keeps it, so a suite that holds one
connection per client for the whole run draws one placement per client: over a Unix socket two
drivers' ``SELECT 1`` rates then differ by 2-3x either way (``python -m bench.driver.placement`` shows
both placements pinned). The suite therefore fixes the placement for every client alike:

- ``apart`` (the default): the benchmark process on the first CPU, the server (the postmaster, and so
  every backend it forks) on the second, like an application beside a database on its own cores. This
  is the placement the issue's anchors describe (a ~70 µs round trip, "mostly waking an idle virtual CPU").
- ``together``: both on the first CPU, where a round trip is pure CPU work, the client's included.
- ``scheduler``: no pinning (the suite's behaviour before 2026-11-26).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PLACEMENTS = ("apart", "together", "scheduler")

DESCRIPTIONS = {
    "apart": "the benchmark process pinned to CPU {client}, the server (postmaster and every backend) to CPU "
    "{server}",
    "together": "the benchmark process and the server (postmaster and every backend) pinned to CPU {client}",
    "scheduler": "no CPU pinning (the kernel places the client and each backend)",
}


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (the postmaster's auxiliary processes, backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ")"
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _set(pids: list[int], cpus: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # an auxiliary process that just ended
            os.sched_setaffinity(pid, cpus)


@contextlib.contextmanager
def placed(placement: str, postmaster_pid: int | None) -> Iterator[str]:
    """Pin this process (threads started later inherit it) and the server as ``placement`` says, for
    the duration; yields the description recorded with the results. Falls back to ``scheduler`` (and
    says so) with fewer than two CPUs or without the postmaster's pid.

    Call from: the benchmark's main thread, before it starts threads or opens connections.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; one of {', '.join(PLACEMENTS)}")
    available = sorted(os.sched_getaffinity(0))
    if placement != "scheduler" and (len(available) < 2 or postmaster_pid is None):
        reason = "fewer than two CPUs" if len(available) < 2 else "no postmaster pid"
        yield DESCRIPTIONS["scheduler"] + f" ({placement!r} asked for, but {reason})"
        return
    if placement == "scheduler":
        yield DESCRIPTIONS["scheduler"]
        return
    assert postmaster_pid is not None
    client_cpu = available[0]
    server_cpu = available[1] if placement == "apart" else available[0]
    mine = os.sched_getaffinity(0)
    server = [postmaster_pid, *_children(postmaster_pid)]
    try:
        os.sched_setaffinity(0, {client_cpu})
        _set(server, {server_cpu})
        yield DESCRIPTIONS[placement].format(client=client_cpu, server=server_cpu)
    finally:
        os.sched_setaffinity(0, mine)
        _set([postmaster_pid, *_children(postmaster_pid)], set(available))
