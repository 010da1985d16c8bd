"""What the reliability tests do with the test project, one function per scenario (see the harness).

Each returns plain data (statuses, exception classes and libpq texts, whether a request got a new
backend) so the parent test can compare psycopg2's run with greenpsyco's in both modes.
"""

from __future__ import annotations

import time
from typing import Any

from tests.djangoproject.harness import Outcome, Site, pause


class _Proxy:
    """A fault proxy to the database with one face in both modes: in the hub's reactor (cooperative)
    or in a reactor thread of this process (blocking)."""

    def __init__(self, driver: str, target: tuple[str, int]) -> None:
        from greenpsyco.testing.faultproxy import FaultProxy, ThreadedFaultProxy

        self.cooperative = driver == "cooperative"
        if self.cooperative:
            self.inner: Any = FaultProxy(target)
            self.port = self.inner.start()
        else:
            from tests.wire.drivers import ensure_reactor

            ensure_reactor()
            self.inner = ThreadedFaultProxy(target)
            self.port = self.inner.port

    def set_fault(self, fault: Any) -> None:
        if self.cooperative:
            self.inner.fault = fault
        else:
            self.inner.fault = fault

    def disconnect_all(self) -> None:
        self.inner.disconnect_all()

    def cut_in(self, seconds: float) -> None:
        """Cut every proxied connection ``seconds`` from now (while a request runs)."""
        if self.cooperative:
            from twisted.internet import reactor

            reactor.callLater(seconds, self.inner.disconnect_all)
        else:
            import threading

            threading.Timer(seconds, self.inner.disconnect_all).start()


def _route_through(port: int, **options: Any) -> None:
    """Point the default database at ``port`` (the proxy) from now on, for every greenlet's wrapper."""
    from django.db import connections

    settings = connections.settings["default"]
    settings["HOST"] = "127.0.0.1"
    settings["PORT"] = port
    settings.setdefault("OPTIONS", {}).update(options)


class _Backends:
    """Turns ``/pid`` responses into "first"/"same"/"new" so runs with different pids compare."""

    def __init__(self) -> None:
        self.last: int | None = None

    def label(self, outcome: Outcome) -> Outcome:
        if outcome[0] != 200 or len(outcome) != 2:
            return outcome
        import json

        pid = json.loads(outcome[1])["pid"]
        seen = "first" if self.last is None else "same" if pid == self.last else "new"
        self.last = pid
        return [200, seen]


def network_faults(site: Site, host: str, port: str) -> dict[str, Any]:
    """A persistent connection (CONN_MAX_AGE) cut while idle, cut during a request, and a server that
    stalls at connect time: each request that meets a fault fails with the driver's OperationalError,
    Django's close_if_unusable_or_obsolete discards the broken connection, the next request works."""
    from greenpsyco.testing.faultproxy import Fault

    proxy = _Proxy(site.driver, (host, int(port)))
    _route_through(proxy.port, connect_timeout=2)
    backends = _Backends()
    steps: dict[str, Any] = {}
    steps["first"] = backends.label(site.request("/pid"))
    steps["again"] = backends.label(site.request("/pid"))
    proxy.disconnect_all()
    time.sleep(0.2) if site.driver != "cooperative" else _green_sleep(0.2)
    steps["after idle cut"] = backends.label(site.request("/pid"))
    steps["next"] = backends.label(site.request("/pid"))
    proxy.cut_in(0.2)
    steps["cut mid-request"] = site.request("/sleep?s=0.8")
    steps["after mid-request cut"] = backends.label(site.request("/pid"))
    proxy.set_fault(Fault.stall())
    if site.driver != "cooperative":  # (there, every request connects anyway)
        from django.db import connections

        connections.close_all()  # the next request must connect
    started = time.monotonic()
    steps["stalled connect"] = site.request("/ping")
    steps["stalled connect took"] = round(time.monotonic() - started, 1)
    proxy.set_fault(Fault())
    steps["after stall"] = backends.label(site.request("/pid"))
    return steps


def _green_sleep(seconds: float) -> None:
    from greenpsyco import hub

    hub.sleep(seconds)


def restart(site: Site) -> dict[str, Any]:
    """A request, the server restarted by the parent test, two more requests."""
    backends = _Backends()
    steps: dict[str, Any] = {"before": backends.label(site.request("/pid"))}
    pause("restart")
    steps["after restart"] = backends.label(site.request("/pid"))
    steps["next"] = backends.label(site.request("/pid"))
    return steps


def orm(site: Site) -> dict[str, Any]:
    """Migrate, then the ORM tour and a few requests (the database is this run's own)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    created = [site.request("/items", "POST", f"name=item{n}&price={n}.25")[0] for n in range(3)]
    return {"created": created, "list": site.request("/items"), "orm": site.request("/orm")}


def failover(site: Site) -> dict[str, Any]:
    """Writes through a multi-host DSN (target_session_attrs=read-write) while the parent stops the
    primary, then promotes the standby."""
    steps: dict[str, Any] = {"before": site.request("/write")}
    pause("primary-down")
    steps["primary down"] = site.request("/write")
    pause("promoted")
    steps["promoted"] = site.request("/write")
    steps["again"] = site.request("/write")
    return steps
