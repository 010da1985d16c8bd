"""Runs the test project in a child process with one driver, and its requests through Django's real
request cycle (``request_started``/``request_finished`` call ``close_old_connections``, which Django's
test client disconnects), so a broken connection is discarded as it would be in production.

``python -c "from tests.djangoproject.harness import main; main()" DRIVER SCENARIO [ARG...]`` prints one
JSON document as its last line. DRIVER is ``psycopg2`` (the real one: psycopg 3 is hidden so Django
falls back to it), ``blocking`` (greenpsyco, no hub) or ``cooperative`` (greenpsyco, each request in a
greenlet of the hub, its connections closed -- or returned to the pool -- when it ends, as the server
does). A scenario may pause (:func:`pause`) for the parent test to act (restart the server) and go on
when told.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from typing import Any

Outcome = list[Any]  # [status, body] or [status, exception class, message]

DRIVERS = ("psycopg2", "blocking", "cooperative")


def pause(tag: str) -> None:
    """Tell the parent ``PAUSE tag`` and wait for it to write a line back."""
    print(f"PAUSE {tag}", flush=True)
    sys.stdin.readline()


class Site:
    """Django's WSGI handler, called as a server would, one request at a time."""

    def __init__(self, driver: str) -> None:
        from django.core import signals
        from django.core.handlers.wsgi import WSGIHandler

        self.driver = driver
        self.app = WSGIHandler()
        self.errors: list[BaseException] = []
        signals.got_request_exception.connect(self._record, weak=False)

    def _record(self, sender: object, **kwargs: object) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)

    def request(self, path: str, method: str = "GET", data: str = "") -> Outcome:
        """The response's status and body, or the status and the exception the view raised."""
        if self.driver == "cooperative":
            from greenpsyco import hub

            task = hub.spawn(self._serve, path, method, data)
            task.join()
            return task.result()
        return self._serve(path, method, data)

    def _serve(self, path: str, method: str, data: str) -> Outcome:
        from wsgiref.util import setup_testing_defaults

        import greenpsyco

        route, _, query = path.partition("?")
        body = data.encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        setup_testing_defaults(environ)
        statuses: list[str] = []
        self.errors.clear()
        try:
            response = self.app(environ, lambda status, headers, exc_info=None: statuses.append(status))
            try:
                content = b"".join(response)
            finally:
                getattr(response, "close", lambda: None)()  # request_finished: close_old_connections
        finally:
            if self.driver == "cooperative":
                greenpsyco.close_request_connections()
        status = int(statuses[0].split()[0])
        if self.errors:
            error = self.errors[-1]
            return [status, type(error).__name__, str(error)]
        return [status, content.decode()]


def setup(driver: str, pool_size: int = 0) -> None:
    """Choose the driver, then set Django up with the test project."""
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}")
    if driver == "psycopg2":
        sys.modules["psycopg"] = None  # type: ignore[assignment]  # Django falls back to psycopg2
    else:
        import greenpsyco

        greenpsyco.patch(pool_size=pool_size or None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.djangoproject.settings"
    import django

    django.setup()


def run(driver: str, scenario: Callable[[Site], dict[str, Any]]) -> dict[str, Any]:
    """Run ``scenario`` with a :class:`Site` for ``driver``, in the hub for the cooperative mode."""
    site = Site(driver)
    if driver == "cooperative":
        from greenpsyco import hub

        return hub.run(scenario, site)
    return scenario(site)


def main() -> None:
    from tests.djangoproject import scenarios

    driver, name, *args = sys.argv[1:]
    setup(driver, pool_size=int(os.environ.get("GP_POOL_SIZE", "0")))
    scenario = getattr(scenarios, name.replace("-", "_"))
    print(json.dumps(run(driver, lambda site: scenario(site, *args))), flush=True)
