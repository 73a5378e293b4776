"""``rotor status | pause | resume | kill``: a small client for the daemon's control API.

The URL comes from ``control.host``/``control.port`` (config file, ``ROTOR__CONTROL__HOST``/``PORT``)
or ``--url``; the bearer token from ``control.token`` (``ROTOR__CONTROL__TOKEN`` or
``ROTOR__CONTROL__TOKEN_FILE``). ``rotor status --health`` is the Docker HEALTHCHECK: it calls
``/healthz`` only, needs no token, never reads a secret, and gives up after a short timeout.
The stdlib HTTP client keeps start-up fast (the health check runs every few seconds).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import typer

from bot.commands.common import EXIT_CONFIG, ConfigOption, fail, print_json
from bot.config import (
    ENV_PREFIX,
    ConfigError,
    ControlConfig,
    Settings,
    config_path,
    load_settings,
    read_toml,
)

EXIT_UNREACHABLE = 1
EXIT_UNAUTHORIZED = 3
EXIT_HTTP = 4
HEALTH_TIMEOUT_S = 3.0
COMMAND_TIMEOUT_S = 15.0
KILL_TIMEOUT_S = 120.0
AUTH_HINT = "set ROTOR__CONTROL__TOKEN or ROTOR__CONTROL__TOKEN_FILE"

# A wildcard bind address is not something to connect to; the daemon is reachable on loopback.
_WILDCARD_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104

UrlOption = typer.Option(
    None,
    "--url",
    help="Control API base URL (default: http://{control.host}:{control.port} from config).",
    show_default=False,
)


class ControlError(Exception):
    """A control API call failed; ``exit_code`` is what the CLI exits with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Response:
    """An HTTP answer from the control API."""

    status: int
    body: Any


def base_url(control: ControlConfig) -> str:
    """``http://host:port`` for a configured control section (wildcard binds map to loopback)."""
    host = _WILDCARD_TO_LOOPBACK.get(control.host, control.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{control.port}"


def normalize_url(url: str) -> str:
    """Validate a ``--url`` value and strip any trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ControlError(f"--url {url!r}: expected http://HOST:PORT", EXIT_CONFIG)
    return url.rstrip("/")


class ControlClient:
    """Synchronous calls to the control API with clear error messages."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = COMMAND_TIMEOUT_S):
        self.url = normalize_url(url)
        self._token = token
        self.timeout_s = timeout_s

    def request(self, method: str, path: str, *, auth: bool = True) -> Response:
        """Send one request; raise ``ControlError`` for anything but a JSON answer."""
        headers = {"Accept": "application/json"}
        if auth:
            if not self._token:
                raise ControlError(f"no control token configured ({AUTH_HINT})", EXIT_UNAUTHORIZED)
            headers["Authorization"] = f"Bearer {self._token}"
        data = b"" if method == "POST" else None
        req = urllib.request.Request(  # noqa: S310 - the scheme was checked in normalize_url
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                return Response(resp.status, _decode(resp.read()))
        except urllib.error.HTTPError as exc:
            status, body = exc.code, _decode(exc.read())
            exc.close()
            if status == 401:
                raise ControlError(
                    f"{self.url}{path}: 401 unauthorized: token missing or wrong ({AUTH_HINT})",
                    EXIT_UNAUTHORIZED,
                ) from None
            return Response(status, body)
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            raise ControlError(self._describe(exc, path), EXIT_UNREACHABLE) from None

    def _describe(self, exc: BaseException, path: str) -> str:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return (
                f"{self.url}{path}: no answer within {self.timeout_s:g} s "
                "(the daemon may still be working on it; check `rotor status`)"
            )
        return f"is rotor running? control API at {self.url} not reachable ({reason})"


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


# --------------------------------------------------------------------------- wiring


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise ControlError(str(exc), EXIT_CONFIG) from None


def make_client(
    config: Path | None, url: str | None, *, auth: bool, timeout_s: float
) -> ControlClient:
    """Resolve URL and token from ``--url``/config/env; probes (``auth=False``) need no token."""
    if url and not auth:
        return ControlClient(url, None, timeout_s)
    if not auth:
        return ControlClient(_probe_url(config), None, timeout_s)
    settings = _settings(config)
    token = settings.control.token.get_secret_value() if settings.control.token else None
    return ControlClient(url or base_url(settings.control), token, timeout_s)


def _probe_url(config: Path | None) -> str:
    """The control URL for health/readiness probes.

    A config file edited into an invalid state (the daemon rejects it on SIGHUP and keeps the
    old one) must not make a running daemon look dead, so on a config error only the control
    address is read, leniently, from the file's ``[control]`` table and the environment.
    """
    try:
        return base_url(_settings(config).control)
    except ControlError as exc:
        env = os.environ
        raw: dict[str, Any] = {}
        path = config_path(config)
        if path is not None:
            with contextlib.suppress(ConfigError):
                section = read_toml(path).get("control")
                raw = section if isinstance(section, dict) else {}
        host = str(env.get(f"{ENV_PREFIX}CONTROL__HOST", raw.get("host", "127.0.0.1")))
        port_text = str(env.get(f"{ENV_PREFIX}CONTROL__PORT", raw.get("port", 8080)))
        port = int(port_text) if port_text.isdigit() else 8080
        url = base_url(ControlConfig.model_construct(host=host, port=port))
        typer.echo(f"warning: {exc}\nwarning: probing {url} anyway", err=True)
        return url


def _exit(exc: ControlError) -> NoReturn:
    fail(str(exc), exc.exit_code)


def _check_ok(resp: Response, path: str, url: str) -> Any:
    if resp.status != 200:
        detail = resp.body.get("error", resp.body) if isinstance(resp.body, dict) else resp.body
        fail(f"{url}{path}: HTTP {resp.status}: {detail}", EXIT_HTTP)
    return resp.body


# --------------------------------------------------------------------------- commands


def status(
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    health: bool = typer.Option(
        False, "--health", help="Only call /healthz (no token); exit 0 if alive, else 1."
    ),
    ready: bool = typer.Option(
        False, "--ready", help="Only call /readyz (no token); exit 0 if ready, else 1."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the raw /status JSON."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait.", min=0.1),
) -> None:
    """Show the daemon's state, equity and positions (or probe health/readiness)."""
    if health or ready:
        _probe("/healthz" if health else "/readyz", config, url, timeout or HEALTH_TIMEOUT_S)
        return
    try:
        client = make_client(config, url, auth=True, timeout_s=timeout or COMMAND_TIMEOUT_S)
        body = _check_ok(client.request("GET", "/status"), "/status", client.url)
    except ControlError as exc:
        _exit(exc)
    if json_out or not sys.stdout.isatty():
        print_json(body)
    else:
        from rich.console import Console

        render_status(Console(), body)


def _probe(path: str, config: Path | None, url: str | None, timeout_s: float) -> None:
    """Health/readiness: any failure (config, network, HTTP) is exit 1, as Docker expects."""
    try:
        client = make_client(config, url, auth=False, timeout_s=timeout_s)
        resp = client.request("GET", path, auth=False)
    except ControlError as exc:
        fail(str(exc), 1)
    if resp.status != 200:
        fail(f"{client.url}{path}: HTTP {resp.status}: {json.dumps(resp.body)}", 1)
    typer.echo(json.dumps(resp.body) if resp.body is not None else "ok")


def _command(action: str, config: Path | None, url: str | None, timeout_s: float) -> None:
    try:
        client = make_client(config, url, auth=True, timeout_s=timeout_s)
        body = _check_ok(client.request("POST", f"/{action}"), f"/{action}", client.url)
    except ControlError as exc:
        _exit(exc)
    state = body.get("state") if isinstance(body, dict) else None
    typer.echo(f"{action}: ok; trading state is now {state}")


def pause(
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    timeout: float = typer.Option(COMMAND_TIMEOUT_S, "--timeout", min=0.1),
) -> None:
    """Pause entries: trading state REDUCING (same as SIGUSR1)."""
    _command("pause", config, url, timeout)


def resume(
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    timeout: float = typer.Option(COMMAND_TIMEOUT_S, "--timeout", min=0.1),
) -> None:
    """Resume trading: back to ACTIVE (the only way out of HALTED)."""
    _command("resume", config, url, timeout)


def kill(
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    timeout: float = typer.Option(KILL_TIMEOUT_S, "--timeout", min=0.1),
) -> None:
    """Kill switch: cancel all orders, close every position, verify flat, then HALTED."""
    _command("kill", config, url, timeout)


# --------------------------------------------------------------------------- rendering


def render_status(console: Any, body: Any) -> None:
    """Print a /status answer as a summary plus a positions table (rich)."""
    from rich.table import Table

    if not isinstance(body, dict):
        console.print(body)
        return
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column()
    for key, value in body.items():
        if key == "positions":
            continue
        shown = len(value) if key == "open_orders" and isinstance(value, list) else value
        style = _STATE_STYLE.get(str(value), "") if key == "state" else ""
        summary.add_row(key, f"[{style}]{shown}[/]" if style else str(shown))
    console.print(summary)
    positions = body.get("positions") or []
    if not isinstance(positions, list) or not positions:
        console.print("no open positions")
        return
    columns = list(dict.fromkeys(k for p in positions if isinstance(p, dict) for k in p))
    table = Table(title="positions")
    for col in columns:
        table.add_column(col, justify="left" if col in {"symbol", "side"} else "right")
    for pos in positions:
        if isinstance(pos, dict):
            table.add_row(*(str(pos.get(col, "")) for col in columns))
    console.print(table)


_STATE_STYLE = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "bold red"}
