"""Both drivers behind one synchronous face, so each behaviour is tested once and runs on both.

The Twisted driver runs in a reactor thread started once per test session; every call crosses into it
with ``blockingCallFromThread`` (bounded by a timeout, so a hang fails the test instead of the run).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, Protocol, TypeVar

from twisted.internet import defer, reactor, threads

from greenpsyco.wire import ops
from greenpsyco.wire.io_blocking import BlockingConnection
from greenpsyco.wire.io_twisted import TwistedConnection
from greenpsyco.wire.messages import NotificationResponse
from greenpsyco.wire.protocol import ClientState

T = TypeVar("T")
CALL_TIMEOUT = 60.0
CLEAN_ENV: Mapping[str, str] = {"HOME": "/nonexistent"}


class Connection(Protocol):
    state: ClientState

    @property
    def attempt(self) -> Any: ...
    @property
    def broken(self) -> bool: ...
    def execute(self, sql: str) -> list[ops.QueryResult]: ...
    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> T: ...
    def cancel(self) -> None: ...
    def wait_notification(self, timeout: float) -> NotificationResponse | None: ...
    def close(self) -> None: ...


_reactor_thread: threading.Thread | None = None


def ensure_reactor() -> None:
    """Start the reactor in a daemon thread (once per process)."""
    global _reactor_thread
    if _reactor_thread is None:
        _reactor_thread = threading.Thread(
            target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True, name="reactor"
        )
        _reactor_thread.start()
        while not reactor.running:
            time.sleep(0.01)


def in_reactor(fn: Callable[..., defer.Deferred[T] | T], *args: Any, timeout: float = CALL_TIMEOUT) -> T:
    """Call ``fn`` in the reactor thread and wait for its (Deferred) result, at most ``timeout``."""

    def call() -> defer.Deferred[T]:
        result = defer.maybeDeferred(fn, *args)
        return result.addTimeout(timeout, reactor)

    return threads.blockingCallFromThread(reactor, call)  # type: ignore[no-any-return]


class TwistedFacade:
    """The Twisted driver, called from a test thread."""

    def __init__(self, conn: TwistedConnection) -> None:
        self._conn = conn
        self.state = conn.state

    @property
    def attempt(self) -> Any:
        return self._conn.attempt

    @property
    def broken(self) -> bool:
        return self._conn.broken

    def execute(self, sql: str) -> list[ops.QueryResult]:
        return in_reactor(self._conn.execute, sql)

    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> T:
        return in_reactor(self._conn.run, op)

    def cancel(self) -> None:
        in_reactor(self._conn.cancel)

    def wait_notification(self, timeout: float) -> NotificationResponse | None:
        deadline = time.monotonic() + timeout
        while not self.state.notifications:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
        return self.state.notifications.popleft()

    def close(self) -> None:
        in_reactor(self._conn.close)

    def __enter__(self) -> TwistedFacade:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class BlockingFacade:
    """The blocking driver with the same face (it already is synchronous)."""

    def __init__(self, conn: BlockingConnection) -> None:
        self._conn = conn
        self.state = conn.state

    @property
    def attempt(self) -> Any:
        return self._conn.attempt

    @property
    def broken(self) -> bool:
        return self._conn.broken

    def execute(self, sql: str) -> list[ops.QueryResult]:
        return self._conn.execute(sql)

    def run(self, op: Generator[ops.Request, bytes | str | None, T]) -> T:
        return self._conn.run(op)

    def cancel(self) -> None:
        self._conn.cancel()

    def wait_notification(self, timeout: float) -> NotificationResponse | None:
        return self._conn.wait_notification(timeout)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> BlockingFacade:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(driver: str, dsn: str) -> TwistedFacade | BlockingFacade:
    if driver == "twisted":
        ensure_reactor()
        return TwistedFacade(in_reactor(functools.partial(TwistedConnection.connect, dsn, environ=CLEAN_ENV)))
    return BlockingFacade(BlockingConnection.connect(dsn, environ=CLEAN_ENV))
