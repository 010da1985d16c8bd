"""A short path from the hub reactor's epoll to greenpsyco's own database sockets.

Twisted's ``EPollReactor.doPoll`` hands every event to ``log.callWithLogger``, which asks the
selectable for its log prefix and pushes a logging context twice (``context.callWithContext``), and
then to ``_doReadOrWrite``. For a database socket whose answer just arrived that dispatch costs about
as much as parsing the answer: measured on one CPU over a Unix socket, a cooperative ``SELECT 1`` took
14.8 µs of CPU with it and 12.6 µs without it (``python -m bench.driver.placement --cooperative``).

While the hub runs the reactor, its ``doIteration`` is :func:`_poll`: the same loop as ``doPoll``,
except that a plain "readable" event (``EPOLLIN`` alone) on a socket registered here goes straight to
the selectable's ``doRead`` with ``_doReadOrWrite``'s handling of the outcome (a returned reason or an
exception disconnects it; an exception is logged). Every other event, on every other socket, takes
Twisted's own path unchanged. What the short path drops is the logging context (the ``system`` field
of a message logged while greenpsyco reads its own socket) and ``_doReadOrWrite``'s ``fileno() == -1``
probe, which a registered socket never answers: it is unregistered when its connection ends.

It relies on ``EPollReactor``'s private ``_poller``, ``_selectables`` and ``_disconnectSelectable``:
:func:`install` checks they are there and leaves the reactor alone otherwise (another reactor, a
subclass with its own ``doPoll``, a Twisted that changed), so the worst a Twisted upgrade can do is
take the short path away. ``tests/wire/test_fastpath.py`` fails if it does.
"""

from __future__ import annotations

import errno
import sys
import types
from select import EPOLLIN
from typing import Any, Final

from twisted.python import log

# fd -> the Twisted selectable (a TCP or Unix connection) that reads it. Keyed by fd for a dict lookup
# per event; the identity check in _poll makes a stale entry (an fd reused elsewhere) harmless.
_registered: dict[int, Any] = {}

_REQUIRED: Final = ("_poller", "_selectables", "_disconnectSelectable", "_doReadOrWrite")


def _stock_do_poll() -> Any:
    try:
        from twisted.internet.epollreactor import EPollReactor
    except ImportError:  # not Linux
        return None
    return EPollReactor.doPoll


def install(reactor: Any) -> bool:
    """Make ``reactor`` dispatch readable events of registered sockets by the short path; True if it
    now does. Only Twisted's own epoll reactor (not a subclass overriding ``doPoll``) is changed.

    Call from: the thread that runs (or is about to run) ``reactor``, before or inside its loop.
    """
    stock = _stock_do_poll()
    if stock is None or getattr(type(reactor), "doIteration", None) is not stock:
        return False
    if "doIteration" in vars(reactor):
        return bool(getattr(vars(reactor)["doIteration"], "__func__", None) is _poll)
    if not all(hasattr(reactor, name) for name in _REQUIRED):
        return False
    reactor.doIteration = types.MethodType(_poll, reactor)
    return True


def uninstall(reactor: Any) -> None:
    """Give ``reactor`` back Twisted's own dispatch (a no-op if :func:`install` did not change it).

    Call from: the thread that ran ``reactor``, once its loop has ended.
    """
    installed = vars(reactor).get("doIteration")
    if installed is not None and getattr(installed, "__func__", None) is _poll:
        del reactor.doIteration


def installed(reactor: Any) -> bool:
    """Whether ``reactor`` dispatches by the short path now."""
    return getattr(getattr(reactor, "doIteration", None), "__func__", None) is _poll


def register(selectable: Any) -> int:
    """Read ``selectable`` (a connected Twisted TCP/Unix transport) by the short path; returns the fd
    to pass to :func:`unregister` with the same selectable, or -1 when it has none (it then keeps
    Twisted's path).

    Call from: the reactor's thread (a protocol's ``connectionMade``).
    """
    try:
        fd = selectable.fileno()
    except Exception:
        return -1
    if not isinstance(fd, int) or fd < 0 or not hasattr(selectable, "doRead"):
        return -1
    _registered[fd] = selectable
    return int(fd)


def unregister(selectable: Any, fd: int) -> None:
    """Stop reading ``selectable`` by the short path (its connection ended).

    Call from: the reactor's thread (a protocol's ``connectionLost``).
    """
    if _registered.get(fd) is selectable:
        del _registered[fd]


def forget_all() -> None:
    """Drop every registration: in a forked child, the parent's sockets are not this process's."""
    _registered.clear()


def registered_count() -> int:
    """How many sockets take the short path now (for tests and diagnostics)."""
    return len(_registered)


def _poll(self: Any, timeout: float | None) -> None:
    """``EPollReactor.doPoll``, with the short path for registered sockets (module docstring).

    Call from: the reactor's loop, as its ``doIteration``.
    """
    if timeout is None:
        timeout = -1  # wait indefinitely
    selectables = self._selectables
    try:
        events = self._poller.poll(timeout, len(selectables))
    except OSError as err:
        if err.errno == errno.EINTR:
            return
        raise
    registered: Any = _registered  # Any: a lookup's None is ruled out by the identity check
    for fd, event in events:
        selectable = selectables.get(fd)
        if selectable is None:
            continue
        if event == EPOLLIN and registered.get(fd) is selectable:
            try:
                why = selectable.doRead()
            except BaseException:
                why = sys.exc_info()[1]
                log.err()  # type: ignore[no-untyped-call]
            if why:
                try:
                    self._disconnectSelectable(selectable, why, True)
                except KeyboardInterrupt:
                    raise
                except BaseException:
                    log.err()  # type: ignore[no-untyped-call]
        else:
            log.callWithLogger(selectable, self._doReadOrWrite, selectable, fd, event)  # type: ignore[no-untyped-call]
