"""bench.driver.pinning: the driver suite's CPU placement of the client and the server's processes.

A stand-in "postmaster" (a shell with a child process) takes the server's place.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from bench.driver import pinning


@pytest.fixture
def server_tree() -> Iterator[tuple[int, int]]:
    """A parent process with one child, like a postmaster with a backend: (parent pid, child pid)."""
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & wait"])
    try:
        for _ in range(100):
            children = pinning._children(parent.pid)
            if children:
                break
            time.sleep(0.02)
        assert children, "the stand-in's child did not start"
        yield parent.pid, children[0]
    finally:
        for pid in pinning._children(parent.pid):
            os.kill(pid, 9)
        parent.kill()
        parent.wait()


needs_two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="placement needs two CPUs")


@needs_two_cpus
@pytest.mark.parametrize("placement", ["apart", "together"])
def test_placed_pins_client_and_every_server_process_then_restores(
    server_tree: tuple[int, int], placement: str
) -> None:
    parent, child = server_tree
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[1] if placement == "apart" else cpus[0]
    with pinning.placed(placement, parent) as description:
        assert os.sched_getaffinity(0) == {cpus[0]}
        assert os.sched_getaffinity(parent) == {server_cpu}
        assert os.sched_getaffinity(child) == {server_cpu}
        assert f"CPU {cpus[0]}" in description
        assert f"CPU {server_cpu}" in description
    assert sorted(os.sched_getaffinity(0)) == cpus
    assert sorted(os.sched_getaffinity(parent)) == cpus
    assert sorted(os.sched_getaffinity(child)) == cpus


def test_scheduler_placement_pins_nothing(server_tree: tuple[int, int]) -> None:
    parent, child = server_tree
    before = os.sched_getaffinity(0), os.sched_getaffinity(parent), os.sched_getaffinity(child)
    with pinning.placed("scheduler", parent) as description:
        assert (os.sched_getaffinity(0), os.sched_getaffinity(parent), os.sched_getaffinity(child)) == before
    assert description == pinning.DESCRIPTIONS["scheduler"]


def test_without_the_postmaster_pid_it_falls_back_and_says_so() -> None:
    mine = os.sched_getaffinity(0)
    with pinning.placed("apart", None) as description:
        assert os.sched_getaffinity(0) == mine
    assert description.startswith(pinning.DESCRIPTIONS["scheduler"])
    assert "'apart' asked for" in description


def test_an_unknown_placement_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown placement 'sideways'"), pinning.placed("sideways", None):
        pass
