"""``greenpsyco serve``'s settings: the command line (gunicorn's spelling), environment defaults, checks.

The environment supplies defaults the way gunicorn and uvicorn users expect: ``PORT`` (bind
``0.0.0.0:$PORT``), ``WEB_CONCURRENCY`` (workers), ``FORWARDED_ALLOW_IPS``, and the driver's
``GREENPSYCO_POOL_SIZE``/``GREENPSYCO_POOL_TIMEOUT``. A flag on the command line always wins.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from greenpsyco.server.binds import default_binds, parse_bind
from greenpsyco.server.proxy import DEFAULT as DEFAULT_FORWARDED_ALLOW_IPS
from greenpsyco.server.proxy import TrustedProxies

DEFAULT_POOL_SIZE = 10
"""PostgreSQL connections per worker and database when neither --pool-size nor the variable is set."""

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(ValueError):
    """A setting that cannot work; the message is the one line shown to the user."""


@dataclass
class ServerConfig:
    """Everything a worker needs, JSON-able so the supervisor can hand it to worker processes."""

    app: str
    binds: list[str] = field(default_factory=lambda: default_binds())
    workers: int = 1
    access_logfile: str | None = None
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    graceful_timeout: float = 30.0
    max_requests: int = 0
    max_requests_jitter: int = 0
    max_concurrency: int = 0
    timeout: float = 30.0
    keep_alive: float = 5.0
    pool_size: int | None = DEFAULT_POOL_SIZE
    pool_timeout: float | None = None
    reload: bool = False
    patch: bool = True
    chdir: str | None = None
    log_level: str = "info"
    heartbeat_timeout: float = 60.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerConfig:
        return cls(**data)

    def check(self) -> None:
        """Raise :class:`ConfigError` for a setting that cannot work."""
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {self.workers}")
        for name in ("graceful_timeout", "timeout", "keep_alive", "heartbeat_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0 seconds")
        for name in ("max_requests", "max_requests_jitter", "max_concurrency"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0")
        if self.pool_size is not None and self.pool_size < 0:
            raise ConfigError("--pool-size must be >= 0 (0 turns the pool off)")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
        try:
            TrustedProxies.parse(self.forwarded_allow_ips)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not self.binds:
            raise ConfigError("nothing to listen on: give at least one --bind")
        for text in self.binds:
            bind = parse_bind(text)
            if not bind.shareable and self.workers > 1:
                raise ConfigError(
                    f"--bind {text!r} is a Twisted endpoint that each process would open for itself; with "
                    f"--workers {self.workers} use HOST:PORT, unix:PATH, fd://N, tcp: or ssl:"
                )
        if self.chdir is not None and not os.path.isdir(self.chdir):
            raise ConfigError(f"--chdir {self.chdir!r} is not a directory")


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ConfigError(f"${name} must be a whole number, not {text!r}")
    return int(text)


def _env_pool_size() -> int | None:
    text = os.environ.get("GREENPSYCO_POOL_SIZE", "").strip()
    return None if text else DEFAULT_POOL_SIZE  # None: let the driver read the variable itself


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``greenpsyco serve`` options (gunicorn's names where gunicorn has one)."""
    parser.add_argument("app", metavar="APP", help="the WSGI application: module or module:callable")
    parser.add_argument(
        "-b",
        "--bind",
        action="append",
        dest="binds",
        metavar="ADDRESS",
        help="HOST:PORT, unix:PATH, fd://N or a Twisted endpoint (ssl:443:privateKey=...); repeatable "
        "(default: 127.0.0.1:8000, or 0.0.0.0:$PORT)",
    )
    parser.add_argument(
        "-w", "--workers", type=int, default=None, help="worker processes (default: $WEB_CONCURRENCY or 1)"
    )
    parser.add_argument(
        "--access-logfile",
        metavar="FILE",
        help="write the access log (Combined Log Format) here; - for stdout",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        default=None,
        help="comma-separated addresses/networks (or *) whose X-Forwarded-For/-Proto headers are believed "
        f"(default: $FORWARDED_ALLOW_IPS or {DEFAULT_FORWARDED_ALLOW_IPS})",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long in-flight requests may take to finish (default: 30)",
    )
    parser.add_argument(
        "--max-requests", type=int, default=0, help="restart a worker after this many requests (0: never)"
    )
    parser.add_argument(
        "--max-requests-jitter", type=int, default=0, help="add a random 0..N to --max-requests per worker"
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=0,
        help="requests running at once per worker beyond which new ones get 503 (default: 0, no limit)",
    )
    parser.add_argument(
        "-t",
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="cancel a request (and its database query) running longer than this (default: 30; 0: never)",
    )
    parser.add_argument(
        "--keep-alive",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="close idle keep-alive connections after this long (default: 5)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="PostgreSQL connections per worker and database, shared by all requests "
        f"(default: $GREENPSYCO_POOL_SIZE or {DEFAULT_POOL_SIZE}; 0: no pool, one per request)",
    )
    parser.add_argument(
        "--pool-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a request waits for a pooled connection (default: $GREENPSYCO_POOL_TIMEOUT or 30)",
    )
    parser.add_argument("--reload", action="store_true", help="restart workers when a loaded file changes")
    parser.add_argument(
        "--no-patch",
        dest="patch",
        action="store_false",
        help="do not call greenpsyco.patch() before loading the application",
    )
    parser.add_argument("--chdir", metavar="DIR", help="change to this directory before loading the app")
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="default: info")


def config_from_arguments(args: argparse.Namespace) -> ServerConfig:
    """A checked :class:`ServerConfig` from parsed ``serve`` arguments and the environment."""
    config = ServerConfig(
        app=args.app,
        binds=args.binds or default_binds(),
        workers=args.workers if args.workers is not None else _env_int("WEB_CONCURRENCY", 1),
        access_logfile=args.access_logfile,
        forwarded_allow_ips=args.forwarded_allow_ips
        or os.environ.get("FORWARDED_ALLOW_IPS")
        or DEFAULT_FORWARDED_ALLOW_IPS,
        graceful_timeout=args.graceful_timeout,
        max_requests=args.max_requests,
        max_requests_jitter=args.max_requests_jitter,
        max_concurrency=args.max_concurrency,
        timeout=args.timeout,
        keep_alive=args.keep_alive,
        pool_size=args.pool_size if args.pool_size is not None else _env_pool_size(),
        pool_timeout=args.pool_timeout,
        reload=args.reload,
        patch=args.patch,
        chdir=args.chdir,
        log_level=args.log_level,
    )
    if config.chdir:
        config.chdir = os.path.abspath(config.chdir)
    config.check()
    return config


__all__ = [
    "DEFAULT_POOL_SIZE",
    "LOG_LEVELS",
    "ConfigError",
    "ServerConfig",
    "add_serve_arguments",
    "config_from_arguments",
]
