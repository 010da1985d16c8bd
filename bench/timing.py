"""Measuring one batch of operations: wall time and the client CPU time it cost, and medians of samples.

Client CPU is user+sys of this whole process (every thread: the hub's reactor thread does the work in
cooperative mode), read before and after the batch. On a shared, noisy machine it is the fairer figure:
a round trip's wall time is mostly waking an idle virtual CPU, which says little about the driver.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


def cpu_seconds() -> float:
    """User + system CPU seconds used by this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sample:
    """One timed batch: how many operations, and the wall and CPU seconds they took."""

    ops: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        """Operations per second of wall time."""
        return self.ops / self.wall if self.wall > 0 else float("inf")

    @property
    def cpu_us(self) -> float:
        """Client CPU microseconds per operation."""
        return self.cpu / self.ops * 1e6 if self.ops else 0.0


def timed(batch: Callable[[], int]) -> Sample:
    """Run ``batch`` (which returns how many operations it did) and time it."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    ops = batch()
    return Sample(ops, time.perf_counter() - wall, cpu_seconds() - cpu)


def median_rate(samples: list[Sample]) -> float:
    return statistics.median(sample.rate for sample in samples)


def median_cpu_us(samples: list[Sample]) -> float:
    return statistics.median(sample.cpu_us for sample in samples)
