"""psycopg2.pool: the simple connection pools psycopg2 ships (not greenlet-aware; see greenpsyco's own).

Behaviour and messages as psycopg2's: ``PoolError('connection pool exhausted')`` beyond ``maxconn``,
idle connections above ``minconn`` closed on return, broken or in-transaction connections discarded
or rolled back.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from greenpsyco.fake_psycopg2._exceptions import Error


class PoolError(Error):
    """Misuse of a pool, or no connection left."""


PoolError.__module__ = "psycopg2.pool"


class AbstractConnectionPool:
    """Generic pool: connections made with ``psycopg2.connect(*args, **kwargs)``, kept by key."""

    def __init__(self, minconn: int, maxconn: int, *args: Any, **kwargs: Any) -> None:
        self.minconn = int(minconn)
        self.maxconn = int(maxconn)
        self.closed = False
        self._args = args
        self._kwargs = kwargs
        self._pool: list[Any] = []
        self._used: dict[Any, Any] = {}
        self._rused: dict[int, Any] = {}
        self._keys = 0
        for _ in range(self.minconn):
            self._connect()

    def _connect(self, key: Any = None) -> Any:
        from greenpsyco.fake_psycopg2 import connect

        conn = connect(*self._args, **self._kwargs)
        if key is not None:
            self._used[key] = conn
            self._rused[id(conn)] = key
        else:
            self._pool.append(conn)
        return conn

    def _getkey(self) -> int:
        self._keys += 1
        return self._keys

    def _getconn(self, key: Any = None) -> Any:
        if self.closed:
            raise PoolError("connection pool is closed")
        if key is None:
            key = self._getkey()
        if key in self._used:
            return self._used[key]
        if self._pool:
            conn = self._pool.pop()
            self._used[key] = conn
            self._rused[id(conn)] = key
            return conn
        if len(self._used) == self.maxconn:
            raise PoolError("connection pool exhausted")
        return self._connect(key)

    def _putconn(self, conn: Any, key: Any = None, close: bool = False) -> None:
        if self.closed:
            raise PoolError("connection pool is closed")
        if key is None:
            key = self._rused.get(id(conn))
            if key is None:
                raise PoolError("trying to put unkeyed connection")
        if len(self._pool) < self.minconn and not close:
            if not conn.closed:
                status = conn.info.transaction_status
                if status == 4:  # unknown: the connection is broken
                    conn.close()
                elif status != 0:  # in a transaction: roll it back before reuse
                    conn.rollback()
                    self._pool.append(conn)
                else:
                    self._pool.append(conn)
        else:
            conn.close()
        del self._used[key]
        del self._rused[id(conn)]

    def _closeall(self) -> None:
        if self.closed:
            raise PoolError("connection pool is closed")
        for conn in self._pool + list(self._used.values()):
            with contextlib.suppress(Exception):  # closing everything, best effort
                conn.close()
        self.closed = True


class SimpleConnectionPool(AbstractConnectionPool):
    """A pool for single-threaded programs."""

    getconn = AbstractConnectionPool._getconn
    putconn = AbstractConnectionPool._putconn
    closeall = AbstractConnectionPool._closeall


class ThreadedConnectionPool(AbstractConnectionPool):
    """A pool safe to share between threads."""

    def __init__(self, minconn: int, maxconn: int, *args: Any, **kwargs: Any) -> None:
        self._lock = threading.Lock()
        super().__init__(minconn, maxconn, *args, **kwargs)

    def getconn(self, key: Any = None) -> Any:
        with self._lock:
            return self._getconn(key)

    def putconn(self, conn: Any = None, key: Any = None, close: bool = False) -> None:
        with self._lock:
            self._putconn(conn, key, close)

    def closeall(self) -> None:
        with self._lock:
            self._closeall()


for _cls in (AbstractConnectionPool, SimpleConnectionPool, ThreadedConnectionPool):
    _cls.__module__ = "psycopg2.pool"
del _cls
