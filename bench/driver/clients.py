"""The drivers under test, each behind the same small interface.

A client owns its connections to one target (TCP or Unix socket) and performs one measure's batch per
call, returning how many operations it did. :meth:`Client.call` runs a batch where the driver needs it:
directly for blocking drivers, in a request greenlet of greenpsyco's hub for cooperative mode, on an
asyncio loop for asyncpg.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.driver import workloads as w


@dataclass(frozen=True)
class Target:
    """Where to connect: ``label`` is ``tcp`` or ``unix``; ``params`` as libpq keywords."""

    label: str
    params: dict[str, Any]
    scram: dict[str, Any]

    @staticmethod
    def dsn(params: dict[str, Any]) -> str:
        return " ".join(f"{key}={value}" for key, value in params.items())


class Client:
    """A DB-API driver (psycopg2's face): psycopg2, greenpsyco, psycopg 3, pg8000 override little."""

    name = ""
    slug = ""
    module_name = ""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.auto: Any = None  # autocommit: reads, COPY
        self.tx: Any = None  # transactions: executemany

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(cls.module_name) is not None

    # -- where batches run ----------------------------------------------------------------------

    def call(self, method: Callable[..., int], *args: Any) -> int:
        return method(*args)

    def stop(self) -> None:
        """Release what :meth:`call` needs (the hub, an event loop)."""

    # -- connections ----------------------------------------------------------------------------

    def connect(self, params: dict[str, Any]) -> Any:
        module = importlib.import_module(self.module_name)
        return module.connect(Target.dsn(params))

    def open(self) -> int:
        self.auto = self.connect(self.target.params)
        self.auto.autocommit = True
        self.tx = self.connect(self.target.params)
        return 0

    def close(self) -> int:
        for conn in (self.auto, self.tx):
            if conn is not None:
                conn.close()
        self.auto = self.tx = None
        return 0

    # -- measures -------------------------------------------------------------------------------

    def select1(self, count: int) -> int:
        cur = self.auto.cursor()
        for _ in range(count):
            cur.execute("SELECT 1")
            cur.fetchone()
        return count

    def params(self, count: int) -> int:
        cur = self.auto.cursor()
        sql, values = w.PARAMS_SQL, w.PARAMS_VALUES
        for _ in range(count):
            cur.execute(sql, values)
            cur.fetchone()
        return count

    def fetch(self) -> int:
        cur = self.auto.cursor()
        cur.execute(f"SELECT * FROM {w.FETCH_TABLE}")
        return len(cur.fetchall())

    def executemany(self, rows: list[tuple[Any, ...]]) -> int:
        cur = self.tx.cursor()
        cur.executemany(f"INSERT INTO {w.insert_table(self.slug)} (a, b, c) VALUES (%s, %s, %s)", rows)
        self.tx.commit()
        return len(rows)

    def connect_close(self, count: int) -> int:
        for _ in range(count):
            self.connect(self.target.scram).close()
        return count

    def copy_out(self, rows: int) -> int:
        sink = io.BytesIO()
        self.auto.cursor().copy_expert(f"COPY {w.COPY_TABLE} TO STDOUT", sink)
        return rows

    def copy_in(self, data: bytes, rows: int) -> int:
        self.auto.cursor().copy_expert(f"COPY {w.copy_in_table(self.slug)} FROM STDIN", io.BytesIO(data))
        return rows


class Psycopg2(Client):
    name, slug, module_name = "psycopg2", "psycopg2", "psycopg2"


class GreenpsycoBlocking(Client):
    name, slug, module_name = "greenpsyco", "greenpsyco", "greenpsyco.fake_psycopg2"


class GreenpsycoCooperative(GreenpsycoBlocking):
    """greenpsyco inside the hub: every batch runs in a request greenlet, queries through Twisted."""

    name, slug = "greenpsyco coop", "greenpsyco_coop"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        from bench.driver.hubthread import HubThread

        self.hub = HubThread.shared()

    def call(self, method: Callable[..., int], *args: Any) -> int:
        return self.hub.call(method, *args)


class Psycopg3(Client):
    name, slug, module_name = "psycopg 3", "psycopg3", "psycopg"

    def copy_out(self, rows: int) -> int:
        sink = io.BytesIO()
        with self.auto.cursor().copy(f"COPY {w.COPY_TABLE} TO STDOUT") as copy:
            for block in copy:
                sink.write(block)
        return rows

    def copy_in(self, data: bytes, rows: int) -> int:
        with self.auto.cursor().copy(f"COPY {w.copy_in_table(self.slug)} FROM STDIN") as copy:
            view = memoryview(data)
            for start in range(0, len(view), 1 << 16):
                copy.write(view[start : start + (1 << 16)])
        return rows


def _pg8000_keywords(params: dict[str, Any]) -> dict[str, Any]:
    keywords: dict[str, Any] = {"user": params["user"], "database": params["dbname"]}
    if "password" in params:
        keywords["password"] = params["password"]
    host = str(params["host"])
    if host.startswith("/"):
        keywords["unix_sock"] = f"{host}/.s.PGSQL.{params['port']}"
    else:
        keywords["host"], keywords["port"] = host, int(params["port"])
    return keywords


class Pg8000(Client):
    name, slug, module_name = "pg8000", "pg8000", "pg8000"

    def connect(self, params: dict[str, Any]) -> Any:
        import pg8000.dbapi

        return pg8000.dbapi.connect(**_pg8000_keywords(params))

    def copy_out(self, rows: int) -> int:
        self.auto.cursor().execute(f"COPY {w.COPY_TABLE} TO STDOUT", stream=io.BytesIO())
        return rows

    def copy_in(self, data: bytes, rows: int) -> int:
        self.auto.cursor().execute(f"COPY {w.copy_in_table(self.slug)} FROM STDIN", stream=io.BytesIO(data))
        return rows


class Asyncpg(Client):
    """asyncpg on its own asyncio loop in this thread (its natural mode: prepared statements)."""

    name, slug, module_name = "asyncpg", "asyncpg", "asyncpg"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.loop = asyncio.new_event_loop()

    def call(self, method: Callable[..., Any], *args: Any) -> int:
        result: int = self.loop.run_until_complete(method(*args))
        return result

    def stop(self) -> None:
        self.loop.close()

    async def connect(self, params: dict[str, Any]) -> Any:  # type: ignore[override]
        import asyncpg

        keywords = {k: v for k, v in _pg8000_keywords(params).items() if k != "unix_sock"}
        keywords["host"], keywords["port"] = str(params["host"]), int(params["port"])
        return await asyncpg.connect(ssl=False, **keywords)

    async def open(self) -> int:  # type: ignore[override]
        self.auto = await self.connect(self.target.params)
        return 0

    async def close(self) -> int:  # type: ignore[override]
        if self.auto is not None:
            await self.auto.close()
        self.auto = None
        return 0

    async def select1(self, count: int) -> int:  # type: ignore[override]
        conn = self.auto
        for _ in range(count):
            await conn.fetchrow("SELECT 1")
        return count

    async def params(self, count: int) -> int:  # type: ignore[override]
        conn = self.auto
        a, b = w.PARAMS_VALUES
        for _ in range(count):
            await conn.fetchrow("SELECT $1::int, $2::text", a, b)
        return count

    async def fetch(self) -> int:  # type: ignore[override]
        return len(await self.auto.fetch(f"SELECT * FROM {w.FETCH_TABLE}"))

    async def executemany(self, rows: list[tuple[Any, ...]]) -> int:  # type: ignore[override]
        async with self.auto.transaction():
            await self.auto.executemany(
                f"INSERT INTO {w.insert_table(self.slug)} (a, b, c) VALUES ($1, $2, $3)", rows
            )
        return len(rows)

    async def connect_close(self, count: int) -> int:  # type: ignore[override]
        for _ in range(count):
            await (await self.connect(self.target.scram)).close()
        return count

    async def copy_out(self, rows: int) -> int:  # type: ignore[override]
        chunks: list[bytes] = []

        async def sink(data: bytes) -> None:
            chunks.append(data)

        await self.auto.copy_from_table(w.COPY_TABLE, output=sink)
        return rows

    async def copy_in(self, data: bytes, rows: int) -> int:  # type: ignore[override]
        await self.auto.copy_to_table(w.copy_in_table(self.slug), source=io.BytesIO(data))
        return rows


#: Every client, psycopg2 (the baseline) first.
CLIENTS: tuple[type[Client], ...] = (
    Psycopg2,
    GreenpsycoBlocking,
    GreenpsycoCooperative,
    Pg8000,
    Psycopg3,
    Asyncpg,
)
BASELINE = Psycopg2.name
