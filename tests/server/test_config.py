"""``greenpsyco serve`` options: gunicorn's spellings, environment defaults, checks."""

from __future__ import annotations

import argparse

import pytest

from greenpsyco.server.config import ConfigError, ServerConfig, add_serve_arguments, config_from_arguments


def _config(*argv: str) -> ServerConfig:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return config_from_arguments(parser.parse_args(["mysite.wsgi", *argv]))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "GREENPSYCO_POOL_SIZE"):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    config = _config()
    assert config.binds == ["127.0.0.1:8000"]
    assert config.workers == 1
    assert config.forwarded_allow_ips == "127.0.0.1,::1"
    assert config.pool_size == 10
    assert config.timeout == 30.0
    assert config.patch is True


def test_environment_supplies_defaults_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("GREENPSYCO_POOL_SIZE", "7")
    config = _config()
    assert (config.binds, config.workers, config.forwarded_allow_ips) == (["0.0.0.0:5000"], 3, "*")
    assert config.pool_size is None  # the driver reads GREENPSYCO_POOL_SIZE itself
    config = _config("-b", "unix:/tmp/x.sock", "-b", "127.0.0.1:9", "-w", "2", "--pool-size", "4")
    assert (config.binds, config.workers, config.pool_size) == (["unix:/tmp/x.sock", "127.0.0.1:9"], 2, 4)


def test_bad_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(ConfigError, match=r"\$WEB_CONCURRENCY must be a whole number"):
        _config()


def test_config_round_trips_through_json() -> None:
    config = _config("--reload", "--max-requests", "9")
    assert ServerConfig.from_json(config.to_json()) == config
