"""``get_logger``'s loggers: with structlog caching on (the batch commands) a module logger
keeps its resolved methods; with it off, every call sees the current configuration."""

from __future__ import annotations

import io
import json

import structlog

from bot.observability.logging import configure_logging, get_logger


def _events(buf: io.StringIO) -> list[str]:
    return [json.loads(x)["event"] for x in buf.getvalue().splitlines() if x.strip()]


def test_cached_logger_keeps_its_methods() -> None:
    buf = io.StringIO()
    configure_logging("INFO", "json", stream=buf)
    structlog.configure(cache_logger_on_first_use=True)
    try:
        log = get_logger("cache.test")
        first = log.info
        assert log.info is first  # resolved once: no proxy and bind() on every call
        log.info("one")
        log.debug("filtered")
        log.warning("two", n=2)
    finally:
        structlog.configure(cache_logger_on_first_use=False)
    assert _events(buf) == ["one", "two"]
    # Caching off again: a new module logger keeps nothing and follows reconfiguration.
    buf = io.StringIO()
    configure_logging("INFO", "json", stream=buf)
    log = get_logger("nocache.test")
    log.info("one")
    configure_logging("ERROR", "json", stream=buf)
    log.info("dropped")
    log.error("two")
    with structlog.testing.capture_logs() as captured:
        log.error("captured", k=1)
    assert _events(buf) == ["one", "two"]
    assert captured == [{"event": "captured", "k": 1, "log_level": "error"}]
    assert "info" not in vars(log)  # nothing kept while caching is off
