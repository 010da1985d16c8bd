"""``greenpsyco demo``: embedded PostgreSQL, the demo project migrated, served, optionally loaded.

The database is a throw-away cluster made with the PostgreSQL bundled in the ``pgserver`` package
(the system's binaries only if pgserver is missing), in a temporary directory that is removed at
exit; its server process dies with the demo even if the demo is killed, so nothing is left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _binaries() -> Any:
    from greenpsyco.testing.binaries import PostgresBinaries, find_binaries, pgserver_bindir

    bundled = pgserver_bindir()
    return find_binaries() if bundled is None else PostgresBinaries(bundled, "pgserver")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(options: argparse.Namespace) -> int:
    """Run the demo; return the exit status. Call from: the main thread of a process with no hub."""
    from greenpsyco.server.binds import BindError, open_listener, parse_bind
    from greenpsyco.server.logs import configure_logging
    from greenpsyco.testing.binaries import PostgresNotFound
    from greenpsyco.testing.cluster import ClusterError, ThrowawayCluster

    configure_logging(options.log_level)
    try:
        listener = open_listener(parse_bind(options.bind))
    except BindError as exc:
        _say(f"greenpsyco: error: {exc}")
        return 1
    try:
        binaries = _binaries()
    except PostgresNotFound as exc:
        _say(f"greenpsyco: error: {exc}")
        return 1
    _say(f"greenpsyco demo: starting PostgreSQL ({binaries.origin}: {binaries.bindir}) ...")
    cluster = ThrowawayCluster(binaries, ssl=False, extensions=())
    try:
        try:
            server = cluster.start()
        except ClusterError as exc:
            _say(f"greenpsyco: error: the embedded PostgreSQL did not start: {exc}")
            return 1
        return _serve(options, listener, server)
    finally:
        cluster.stop()
        listener.close()


def _serve(options: argparse.Namespace, listener: Any, server: Any) -> int:
    import greenpsyco

    os.environ["GREENPSYCO_DEMO_DATABASE"] = json.dumps(
        {"host": server.host, "port": server.port, "user": server.superuser, "dbname": server.dbname}
    )
    os.environ["GREENPSYCO_DEMO_SLEEP"] = str(options.sleep)
    os.environ["DJANGO_SETTINGS_MODULE"] = "greenpsyco.demo.settings"
    greenpsyco.patch(pool_size=options.pool_size)

    import django
    from django.core.management import call_command

    django.setup()
    _say("greenpsyco demo: migrating ...")
    call_command("migrate", verbosity=0, interactive=False)
    from django.db import connections

    from greenpsyco import pooling

    connections.close_all()
    pooling.clear()  # the migration's connection: requests use the cooperative pool

    from greenpsyco.demo.wsgi import application
    from greenpsyco.server.config import ServerConfig
    from greenpsyco.server.worker import Worker

    config = ServerConfig(
        app="greenpsyco.demo.wsgi", binds=[options.bind], timeout=60.0, log_level=options.log_level
    )
    url = listener.url()
    worker = Worker(config, application, [listener.describe()])

    def ready(ports: list[Any]) -> None:
        _say(
            f"\ngreenpsyco demo is serving at {url}/\n"
            f"  {url}/slow/    waits {options.sleep:g} s on pg_sleep (open it many times at once)\n"
            f"  {url}/visits/  writes and reads rows through the ORM\n"
        )
        if options.load:
            worker.hub.spawn(_load_then_stop, worker, f"{url}/slow/", options)
        else:
            _say("Press Ctrl-C to stop (PostgreSQL stops with it).\n")

    worker.on_ready = ready
    code = worker.run()
    return code if not options.load else getattr(worker, "load_status", 1)


def _load_then_stop(worker: Any, url: str, options: argparse.Namespace) -> None:
    from greenpsyco.demo.load import format_table, run_load

    _say(f"greenpsyco demo: {options.load} concurrent requests to {url} ...")
    try:
        result = run_load(url, options.load, options.sleep)
        print(format_table(result, options.pool_size), flush=True)
        worker.load_status = 0 if not result.errors else 1
    finally:
        worker.stop_gracefully("the load run is over")


__all__ = ["run_demo"]
