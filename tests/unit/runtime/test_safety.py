"""Live-mode confirmation and the mainnet/testnet key boundary (RELIABILITY.md #26)."""

from __future__ import annotations

import pytest

from bot.runtime.safety import SafetyError, check_mode, host_kind


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://api.bybit.com", "mainnet"),
        ("https://api.bytick.com/v5", "mainnet"),
        ("https://api-testnet.bybit.com", "testnet"),
        ("https://api-demo.bybit.com", "testnet"),
        ("https://fapi.binance.com", "mainnet"),
        ("https://testnet.binancefuture.com", "testnet"),
        ("http://127.0.0.1:8123", "local"),
        ("http://localhost:9", "local"),
        ("https://unknown.example.com", "unknown"),
        ("http://sim:18080", "unknown"),
    ],
)
def test_host_kind(url: str, kind: str) -> None:
    assert host_kind(url) == kind


def test_live_needs_flag_and_env() -> None:
    with pytest.raises(SafetyError, match="ROTOR_LIVE_CONFIRM"):
        check_mode(
            "live", live_flag=False, url=None, has_keys=True, environ={"ROTOR_LIVE_CONFIRM": "yes"}
        )
    with pytest.raises(SafetyError, match="ROTOR_LIVE_CONFIRM"):
        check_mode("live", live_flag=True, url=None, has_keys=True, environ={})
    with pytest.raises(SafetyError, match="ROTOR_LIVE_CONFIRM"):
        check_mode(
            "live", live_flag=True, url=None, has_keys=True, environ={"ROTOR_LIVE_CONFIRM": "1"}
        )
    warnings = check_mode(
        "live", live_flag=True, url=None, has_keys=True, environ={"ROTOR_LIVE_CONFIRM": "yes"}
    )
    assert warnings and "REAL MONEY" in warnings[0]


def test_live_keys_never_go_to_test_hosts() -> None:
    env = {"ROTOR_LIVE_CONFIRM": "yes"}
    for url in ("https://api-testnet.bybit.com", "http://127.0.0.1:8000"):
        with pytest.raises(SafetyError, match="mainnet"):
            check_mode("live", live_flag=True, url=url, has_keys=True, environ=env)


def test_testnet_keys_never_go_to_mainnet() -> None:
    with pytest.raises(SafetyError, match="never sent to mainnet"):
        check_mode(
            "testnet", live_flag=False, url="https://api.bybit.com", has_keys=True, environ={}
        )
    assert (
        check_mode("testnet", live_flag=False, url="http://127.0.0.1:9", has_keys=True, environ={})
        == []
    )


def test_live_flag_outside_live_mode_refused() -> None:
    with pytest.raises(SafetyError):
        check_mode("paper", live_flag=True, url=None, has_keys=False, environ={})


def test_offline_compose_stack_url_starts_in_testnet_mode() -> None:
    """deploy/docker-compose.sim.yml points rotor at the simulator's service name."""
    warnings = check_mode(
        "testnet", live_flag=False, url="http://sim:18080", has_keys=True, environ={}
    )
    assert len(warnings) == 1 and "http://sim:18080" in warnings[0]
    assert "not a known exchange host" in warnings[0]


def test_live_keys_only_go_to_a_known_mainnet_host() -> None:
    env = {"ROTOR_LIVE_CONFIRM": "yes"}
    for url in ("http://sim:18080", "https://unknown.example.com", "https://api-demo.bybit.com"):
        with pytest.raises(SafetyError, match="only sent to the exchange's mainnet host"):
            check_mode("live", live_flag=True, url=url, has_keys=True, environ=env)
    for url in ("https://api.bybit.com", "https://fapi.binance.com"):
        assert check_mode("live", live_flag=True, url=url, has_keys=True, environ=env)
