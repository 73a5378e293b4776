"""Live-trading guards (RELIABILITY.md #26): explicit confirmation, and keys never cross
between mainnet and testnet hosts.

What each rule protects decides how an unrecognised host (a simulator at ``http://sim:18080``,
a LAN test box) is treated:

- live keys move real money, so live mode sends them only to a host known to be an exchange's
  real mainnet API; anything else, recognised test host or unknown, is refused;
- testnet mode must never send (test) keys to a real mainnet host, and must never become a way
  to trade real money without ``--live``: a known mainnet host is refused. An unknown host is
  not a mainnet host, so it is allowed, with a warning saying rotor cannot tell what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

LIVE_CONFIRM_ENV = "ROTOR_LIVE_CONFIRM"

HostKind = Literal["mainnet", "testnet", "local", "unknown"]

_MAINNET = {
    "bybit": (
        "api.bybit.com",
        "api.bytick.com",
        "api.bybit.nl",
        "api.bybit.kz",
        "api.bybit-tr.com",
        "api.bybitglobal.com",
        "api.byhkbit.com",
    ),
    "binanceusdm": ("fapi.binance.com",),
}
_TEST_MARKERS = ("testnet", "demo", "sandbox")


class SafetyError(Exception):
    """A refusal to start: the message says what is wrong and how to fix it."""


def host_kind(url: str) -> HostKind:
    """Classify a REST base URL: a known mainnet or test host, loopback, or unknown."""
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    if any(marker in host for marker in _TEST_MARKERS):
        return "testnet"
    if any(host == h or host.endswith("." + h) for hosts in _MAINNET.values() for h in hosts):
        return "mainnet"
    if host in {"localhost", "::1"} or host.startswith("127."):
        return "local"
    return "unknown"


def check_mode(
    mode: str,
    *,
    live_flag: bool,
    url: str | None,
    has_keys: bool,
    environ: Mapping[str, str],
) -> list[str]:
    """Return the warnings to log; raise ``SafetyError`` when the run must not start."""
    warnings: list[str] = []
    kind = host_kind(url) if url is not None else None
    if mode == "live":
        if not live_flag or environ.get(LIVE_CONFIRM_ENV) != "yes":
            raise SafetyError(
                "live mode trades real money: pass --live AND set ROTOR_LIVE_CONFIRM=yes"
            )
        if not has_keys:
            raise SafetyError("live mode needs exchange.api_key and exchange.api_secret")
        if kind is not None and kind != "mainnet":
            raise SafetyError(
                f"live mode refuses {url}: live keys are only sent to the exchange's mainnet host "
                "(unset exchange.api_url, or use --mode testnet for test hosts)"
            )
        warnings.append("LIVE TRADING WITH REAL MONEY")
    elif mode == "testnet":
        if kind == "mainnet":
            raise SafetyError(
                f"testnet mode refuses {url}: it is a mainnet host, and testnet keys are "
                "never sent to mainnet (use --mode live for real trading)"
            )
        if kind == "unknown":
            warnings.append(
                f"testnet mode with {url}: not a known exchange host (a simulator or a test "
                "gateway); rotor trades real money only in --mode live"
            )
    elif live_flag:
        raise SafetyError(f"--live given but mode is {mode!r}")
    return warnings
