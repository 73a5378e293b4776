"""Mode → endpoint → host resolution of the ccxt client (no network: clients are only built)."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.venues.ccxt_client import (
    ClientConfigError,
    ClientSpec,
    Endpoint,
    api_base_url,
    api_host,
    build_exchange,
)

KEYS = {"exchange.api_key": "k" * 18, "exchange.api_secret": "s" * 36}


def spec_for(mode: str, **over: object) -> ClientSpec:
    settings = load_settings(None, {"mode": mode, **KEYS, **over}, environ={})
    return ClientSpec.from_settings(settings)


@pytest.mark.parametrize(
    ("mode", "over", "endpoint", "host"),
    [
        ("live", {}, Endpoint.MAINNET, "api.bybit.com"),
        ("testnet", {}, Endpoint.TESTNET, "api-testnet.bybit.com"),
        ("testnet", {"exchange.demo": True}, Endpoint.DEMO, "api-demo.bybit.com"),
        ("paper", {}, Endpoint.MAINNET, "api.bybit.com"),
        ("live", {"exchange.api_url": "http://127.0.0.1:8123"}, Endpoint.CUSTOM, "127.0.0.1:8123"),
        ("live", {"exchange.name": "binanceusdm"}, Endpoint.MAINNET, "fapi.binance.com"),
        (
            "testnet",
            {"exchange.name": "binanceusdm"},
            Endpoint.TESTNET,
            "testnet.binancefuture.com",
        ),
    ],
)
async def test_mode_selects_endpoint_and_host(
    mode: str, over: dict[str, object], endpoint: Endpoint, host: str
) -> None:
    spec = spec_for(mode, **over)
    assert spec.endpoint is endpoint
    ex = build_exchange(spec)
    try:
        assert api_host(ex) == host
        assert api_base_url(ex) == ("http://" if endpoint is Endpoint.CUSTOM else "https://") + host
        assert ex.enableRateLimit and ex.timeout == 10_000
        if spec.exchange == "bybit" and spec.api_url:
            assert set(ex.urls["api"].values()) == {spec.api_url}
    finally:
        await ex.close()


def test_paper_never_sends_keys_and_repr_hides_them() -> None:
    spec = spec_for("paper")
    assert not spec.has_keys
    live = spec_for("live")
    assert live.has_keys and "k" * 18 not in repr(live) and "s" * 36 not in repr(live)


def test_trading_modes_need_keys_and_demo_needs_testnet() -> None:
    with pytest.raises(ClientConfigError, match="api_key"):
        ClientSpec.from_settings(load_settings(None, {"mode": "live"}, environ={}))
    with pytest.raises(ClientConfigError, match=r"exchange\.demo"):
        spec_for("live", **{"exchange.demo": True})
    with pytest.raises(ClientConfigError, match="api_url"):
        ClientSpec.public("bybit", "127.0.0.1:80")


@pytest.mark.parametrize(
    ("mode", "over", "kind"),
    [
        ("live", {}, "mainnet"),
        ("testnet", {}, "testnet"),
        ("testnet", {"exchange.demo": True}, "testnet"),
    ],
)
async def test_effective_url_feeds_the_live_safety_check(
    mode: str, over: dict[str, object], kind: str
) -> None:
    from bot.runtime.safety import host_kind

    ex = build_exchange(spec_for(mode, **over))
    try:
        assert host_kind(api_base_url(ex)) == kind
    finally:
        await ex.close()


async def test_factory_picks_the_venue_for_the_mode() -> None:
    from bot.venues.ccxt_venue import CcxtVenue
    from bot.venues.factory import build_venue
    from bot.venues.paper import PaperVenue

    paper = build_venue(load_settings(None, {"mode": "paper"}, environ={}))
    live = build_venue(load_settings(None, {"mode": "testnet", **KEYS}, environ={}))
    try:
        assert isinstance(paper, PaperVenue) and isinstance(live, CcxtVenue)
        assert live.endpoint is Endpoint.TESTNET and live.api_host == "api-testnet.bybit.com"
    finally:
        await paper.close()
        await live.close()
    with pytest.raises(ValueError, match="replay"):
        build_venue(load_settings(None, {"mode": "replay"}, environ={}))
