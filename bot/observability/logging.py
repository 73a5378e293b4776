"""structlog setup: JSON lines off a TTY, console on a TTY, secrets redacted once, here.

Every line carries ``timestamp`` (UTC ISO8601), ``level``, ``event``, ``run_id`` and ``mode``.
stdlib loggers (ccxt, aiohttp, sqlalchemy, alembic, ...) are routed through the same chain, so
the redaction processor sees every line rotor writes.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO, cast


def _import_structlog() -> None:
    """Import structlog without rich. ``structlog.dev`` imports rich (~45 ms of CPU, a third of
    a backtest's non-numeric imports) only to format ``exc_info`` tracebacks, and rotor never
    hands it one: ``_render_exception`` turns every exception into plain text first. A
    command that uses rich itself (progress bars, tables) imports it when it draws them."""
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # "import rich" raises ImportError
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]


_import_structlog()

import structlog  # noqa: E402
from structlog.typing import EventDict, Processor, WrappedLogger  # noqa: E402

from bot.observability.alerts import ALERTS  # noqa: E402

if TYPE_CHECKING:
    from bot.config.models import AlertsConfig

REDACTED = "***"
_SENSITIVE_KEYS = ("secret", "api_key", "apikey", "token", "password", "signature", "x-bapi-sign")
_STDLIB_LOGGERS = ("ccxt", "aiohttp", "sqlalchemy", "alembic", "asyncio", "asyncpg", "aiosqlite")


class Redactor:
    """Replaces every registered secret value, wherever it appears in a log event."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str | None]) -> None:
        with self._lock:
            merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
            # Longest first so a secret that contains another is replaced whole.
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._secrets = ()

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for s in self._secrets:
                if s in value:
                    value = value.replace(s, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._scrub_item(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrub(repr(value) if isinstance(value, BaseException) else str(value))

    def _scrub_item(self, key: Any, value: Any) -> Any:
        sensitive = isinstance(key, str) and any(k in key.lower() for k in _SENSITIVE_KEYS)
        if sensitive and isinstance(value, str | bytes) and value:
            return REDACTED
        return self.scrub(value)

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        return {k: self._scrub_item(k, v) for k, v in event.items()}


REDACTOR = Redactor()
_context: dict[str, str] = {"run_id": "-", "mode": "-"}


def _add_context(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key, value in _context.items():
        event.setdefault(key, value)
    return event


def _render_exception(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    exc = event.pop("exc_info", None)
    if exc:
        if exc is True:
            exc = sys.exc_info()
        if isinstance(exc, BaseException):
            exc = (type(exc), exc, exc.__traceback__)
        if isinstance(exc, tuple) and exc[0] is not None:
            import traceback

            event["exception"] = "".join(traceback.format_exception(*exc))
    return event


def set_context(*, run_id: str | None = None, mode: str | None = None) -> None:
    """Set the ``run_id`` and ``mode`` that every log line carries."""
    if run_id is not None:
        _context["run_id"] = run_id
    if mode is not None:
        _context["mode"] = mode


def _shared_processors() -> list[Processor]:
    return [
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_context,
        _render_exception,
        REDACTOR,
        # Last: alerts see each event as logged, after redaction.
        ALERTS,
    ]


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    alerts: AlertsConfig | None = None,
) -> None:
    """Configure structlog and stdlib logging. Safe to call again (e.g. on SIGHUP).

    ``alerts`` (the daemon's) starts sending alert events to the operator's channels; None
    leaves the alert dispatcher as it is.
    """
    out = stream if stream is not None else sys.stdout
    REDACTOR.add(secrets)
    if alerts is not None:
        ALERTS.configure(alerts)
    use_json = fmt == "json" or (fmt == "auto" and not _isatty(out))
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=str)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=_isatty(out))
    )
    numeric = logging.getLevelName(level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _STDLIB_LOGGERS:
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        # Library chatter at INFO (sqlalchemy echo, aiohttp access) is noise for operators.
        lg.setLevel(max(numeric, logging.WARNING))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# The methods a module calls on its logger: kept once resolved, when structlog caches.
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "critical", "exception", "msg", "fatal"}
)


class _ModuleLogger:
    """structlog's lazy proxy, minus its cost per call once structlog caches loggers.

    Every call on a ``BoundLoggerLazyProxy`` (``log.info(...)``) goes through its
    ``__getattr__`` and ``bind()``, even with ``cache_logger_on_first_use`` (the batch
    commands set it: a backtest makes tens of thousands of filtered-out calls). When caching
    is on, the proxy keeps the logger it assembled first; this keeps that logger's method too,
    the same object, so later calls are a plain attribute read. Without caching every call
    still asks the proxy, so a reconfiguration (SIGHUP, ``capture_logs``) is seen at once.
    """

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._proxy.bind(), name)
        if name in _LOG_METHODS and structlog.get_config()["cache_logger_on_first_use"]:
            setattr(self, name, attr)
        return attr


def get_logger(name: str | None = None, **bound: Any) -> structlog.stdlib.BoundLogger:
    """A bound structlog logger."""
    logger: structlog.stdlib.BoundLogger = cast(
        "structlog.stdlib.BoundLogger", _ModuleLogger(structlog.get_logger(name, **bound))
    )
    return logger


def scrub_text(text: str) -> str:
    """Redact configured secrets from arbitrary text (exception messages, dumps)."""
    result: str = REDACTOR.scrub(text)
    return result
