"""Build the ccxt client for a venue: which exchange, which host, which keys (issue #4).

Modes (``Settings.mode`` plus ``exchange.*``):

- ``exchange.api_url`` set: every REST URL points at that base (``rotor sim serve``); the
  options follow SIM-VENUE.md "ccxt options for pointing at it". Endpoint ``custom``.
- ``paper`` / ``replay``: public data only, keys are never sent. Endpoint ``mainnet``.
- ``testnet``: ``set_sandbox_mode(True)`` (api-testnet.bybit.com), or with ``exchange.demo``
  ``enable_demo_trading(True)`` (api-demo.bybit.com). Endpoint ``testnet`` / ``demo``.
- ``live``: the real exchange. Endpoint ``mainnet``.

The endpoint and host are exposed so the daemon can refuse a configuration that would send
testnet keys to mainnet or the reverse (``CcxtVenue.verify_credentials`` proves it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async

if TYPE_CHECKING:
    from bot.config import ExchangeConfig, Settings

ExchangeName = Literal["bybit", "binanceusdm"]


class Endpoint(StrEnum):
    """Which environment the client talks to."""

    MAINNET = "mainnet"
    TESTNET = "testnet"
    DEMO = "demo"
    CUSTOM = "custom"


class ClientConfigError(ValueError):
    """The exchange section cannot be turned into a client; the message names the key."""


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """Everything needed to build one ccxt client; secrets stay out of ``repr``."""

    exchange: ExchangeName = "bybit"
    endpoint: Endpoint = Endpoint.MAINNET
    api_url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    timeout_ms: int = 10_000
    recv_window_ms: int = 5_000
    max_read_retries: int = 3
    unified_account: bool = True
    rate_limit_ms: int | None = None  # None: ccxt's own limiter spacing for the exchange

    def __repr__(self) -> str:
        keys = "keys" if self.has_keys else "public"
        return f"ClientSpec({self.exchange}, {self.endpoint}, {self.api_url or '-'}, {keys})"

    @property
    def has_keys(self) -> bool:
        return bool(self.api_key and self.api_secret)

    @classmethod
    def public(
        cls, exchange: ExchangeName = "bybit", api_url: str | None = None, **kw: Any
    ) -> ClientSpec:
        """A keyless client for market data (paper, download)."""
        endpoint = Endpoint.CUSTOM if api_url else Endpoint.MAINNET
        return cls(exchange=exchange, endpoint=endpoint, api_url=_check_url(api_url), **kw)

    @classmethod
    def from_exchange_config(
        cls, cfg: ExchangeConfig, mode: str, *, unified_account: bool = True
    ) -> ClientSpec:
        """Resolve mode + ``exchange.*`` into a spec (see the module docstring)."""
        public_only = mode in ("paper", "replay")
        key = cfg.api_key.get_secret_value() if cfg.api_key and not public_only else None
        secret = cfg.api_secret.get_secret_value() if cfg.api_secret and not public_only else None
        if cfg.demo and mode != "testnet":
            raise ClientConfigError(f"exchange.demo: demo trading needs mode=testnet (got {mode})")
        if cfg.api_url:
            endpoint = Endpoint.CUSTOM
        elif mode == "testnet":
            endpoint = Endpoint.DEMO if cfg.demo else Endpoint.TESTNET
        else:
            endpoint = Endpoint.MAINNET
        if mode in ("testnet", "live") and not (key and secret):
            raise ClientConfigError(
                f"exchange.api_key/exchange.api_secret: mode={mode} needs both "
                "(set ROTOR__EXCHANGE__API_KEY and ROTOR__EXCHANGE__API_SECRET or *_FILE)"
            )
        return cls(
            exchange=cfg.name,
            endpoint=endpoint,
            api_url=_check_url(cfg.api_url),
            api_key=key,
            api_secret=secret,
            timeout_ms=cfg.timeout_ms,
            recv_window_ms=cfg.recv_window_ms,
            max_read_retries=cfg.max_read_retries,
            unified_account=unified_account,
            rate_limit_ms=cfg.rate_limit_ms,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientSpec:
        return cls.from_exchange_config(
            settings.exchange,
            settings.mode,
            unified_account=settings.risk.account_type == "unified",
        )


def _check_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientConfigError(f"exchange.api_url: expected http(s)://host[:port], got {url!r}")
    return url.rstrip("/")


def _rebase(original: str, base: str) -> str:
    """Keep the path of ``original`` (binance's /fapi/v1) but send it to ``base``."""
    path = urlsplit(original.replace("{hostname}", "host")).path
    return base + path


def build_exchange(spec: ClientSpec) -> Any:
    """A configured ``ccxt.async_support`` client (rate limiter on, timeout set)."""
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": spec.timeout_ms,
        "options": {},
    }
    if spec.rate_limit_ms is not None:
        config["rateLimit"] = spec.rate_limit_ms
    if spec.has_keys:
        config["apiKey"] = spec.api_key
        config["secret"] = spec.api_secret
    if spec.exchange == "bybit":
        config["has"] = {"fetchCurrencies": False}
        config["options"] = {
            "defaultType": "swap",
            "defaultSubType": "linear",
            "defaultSettle": "USDT",
            "fetchMarkets": {"types": ["linear"]},
            # Known up front so ccxt never calls the key-info endpoints to find out.
            "enableUnifiedAccount": spec.unified_account,
            "enableUnifiedMargin": False,
            "unifiedMarginStatus": 6,
            "adjustForTimeDifference": spec.endpoint is not Endpoint.CUSTOM,
            "fetchOrder": {"acknowledged": True},
            "recvWindow": spec.recv_window_ms,
        }
        ex = ccxt_async.bybit(config)
    else:
        config["options"] = {
            "defaultType": "future",
            "adjustForTimeDifference": spec.endpoint is not Endpoint.CUSTOM,
            "recvWindow": spec.recv_window_ms,
            "warnOnFetchOpenOrdersWithoutSymbol": False,
            # No wallet reads (/sapi) with every market load: a futures daemon needs no
            # currency list or margin pairs (weight 10, and a spot permission).
            "fetchCurrencies": False,
            "fetchMargins": False,
        }
        ex = ccxt_async.binanceusdm(config)
    if spec.endpoint is Endpoint.CUSTOM:
        assert spec.api_url is not None
        base = spec.api_url
        ex.urls["api"] = {k: _rebase(v, base) for k, v in ex.urls["api"].items()}
    elif spec.endpoint is Endpoint.TESTNET:
        ex.set_sandbox_mode(True)
    elif spec.endpoint is Endpoint.DEMO:
        ex.enable_demo_trading(True)
    return ex


def build_binance_spot(spec: ClientSpec) -> Any:
    """The ccxt ``binance`` client of the spot wallet (``/api/v3``, ``/sapi``) beside a
    ``binanceusdm`` spec's futures client: same keys, host (``api_url``) and environment."""
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": spec.timeout_ms,
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "adjustForTimeDifference": spec.endpoint is not Endpoint.CUSTOM,
            "recvWindow": spec.recv_window_ms,
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
    }
    if spec.rate_limit_ms is not None:
        config["rateLimit"] = spec.rate_limit_ms
    if spec.has_keys:
        config["apiKey"] = spec.api_key
        config["secret"] = spec.api_secret
    ex = ccxt_async.binance(config)
    if spec.endpoint is Endpoint.CUSTOM:
        assert spec.api_url is not None
        base = spec.api_url
        ex.urls["api"] = {k: _rebase(v, base) for k, v in ex.urls["api"].items()}
    elif spec.endpoint in (Endpoint.TESTNET, Endpoint.DEMO):
        ex.set_sandbox_mode(True)
    return ex


def api_base_url(exchange: Any) -> str:
    """``scheme://host[:port]`` the client sends requests to (after sandbox/demo/api_url)."""
    urls = exchange.urls["api"]
    url = urls.get("public") if exchange.id == "bybit" else urls.get("fapiPublic")
    parts = urlsplit(exchange.implode_hostname(url or next(iter(urls.values()))))
    return f"{parts.scheme}://{parts.netloc}"


def api_host(exchange: Any) -> str:
    """``host[:port]`` the client sends market-data and trading requests to."""
    return str(urlsplit(api_base_url(exchange)).netloc)
