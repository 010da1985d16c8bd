"""``manage.py runserver`` on greenpsyco's server, when ``greenpsyco`` is in ``INSTALLED_APPS``.

Everything Django's runserver does stays: the autoreloader, the system checks and the unapplied
migrations warning, the start-up banner, and — when ``django.contrib.staticfiles`` is installed —
serving static files with ``DEBUG`` (or ``--insecure``; ``--nostatic`` turns it off). Only the HTTP
server differs: requests run in greenlets of greenpsyco's hub, so database waits are cooperative,
exactly as under ``greenpsyco serve``.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from django.apps import apps
from django.db import connections

if apps.is_installed("django.contrib.staticfiles"):
    from django.contrib.staticfiles.management.commands.runserver import Command as BaseCommand
else:
    from django.core.management.commands.runserver import Command as BaseCommand

_ERRORS = {
    errno.EACCES: "You don't have permission to access that port.",
    errno.EADDRINUSE: "That port is already in use.",
    errno.EADDRNOTAVAIL: "That IP address can't be assigned to.",
}


class Command(BaseCommand):  # type: ignore[misc]
    help = "Starts greenpsyco's development web server (one greenlet per request)."

    def inner_run(self, *args: Any, **options: Any) -> None:
        """Django's inner_run with greenpsyco's server in place of ``WSGIServer``.

        Call from: the autoreloader's ``django-main-thread``, or the main thread with ``--noreload``.
        """
        from django.utils import autoreload

        from greenpsyco.server.binds import BindError, open_listener, parse_bind
        from greenpsyco.server.config import ServerConfig
        from greenpsyco.server.worker import Worker

        autoreload.raise_last_exception()
        shutdown_message = options.get("shutdown_message", "")
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            check_kwargs = super().get_check_kwargs(options)
            check_kwargs["display_num_errors"] = True
            self.check(**check_kwargs)
        self.check_migrations()
        for conn in connections.all(initialized_only=True):
            conn.close()

        host = f"[{self.addr}]" if self._raw_ipv6 else ("0.0.0.0" if self.addr == "0" else self.addr)
        try:
            listener = open_listener(parse_bind(f"{host}:{self.port}"))
        except BindError as exc:
            cause = exc.__context__
            code = getattr(cause, "errno", None)
            self.stderr.write(f"Error: {_ERRORS.get(code, str(exc)) if code else exc}")
            os._exit(1)  # sys.exit() does not end the process from the reloader's thread
        handler = self.get_handler(*args, **options)
        config = ServerConfig(app="(runserver)", binds=[listener.bind.text], timeout=0)
        worker = Worker(config, handler, [listener.describe()])
        worker.on_ready = lambda ports: self.on_bind(listener.sock.getsockname()[1])  # type: ignore[union-attr]
        try:
            worker.run()
        except KeyboardInterrupt:
            pass
        finally:
            listener.close()
        if shutdown_message:
            self.stdout.write(shutdown_message)
        sys.exit(0)
