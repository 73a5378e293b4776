"""Start-up validation of risk settings names the key path and the reason."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import load_settings
from bot.risk.validate import validate_risk


def errors(**overrides: Any) -> list[str]:
    return validate_risk(load_settings(None, overrides, {}))


def test_defaults_are_valid() -> None:
    assert errors() == []
    assert errors(**{"exchange.name": "binanceusdm"}) == []


@pytest.mark.parametrize("venue", ["bybit", "binanceusdm"])
def test_reject_policy_with_a_stop_that_can_never_be_safe(venue: str) -> None:
    errs = errors(**{"exchange.name": venue, "risk.on_unsafe_leverage": "reject"})
    assert len(errs) == 1 and errs[0].startswith("risk.on_unsafe_leverage: 'reject'")
    assert "never be safe" in errs[0] and "risk.leverage ≤" in errs[0]


def test_reject_policy_flags_the_stop_when_the_distance_rule_is_off() -> None:
    errs = errors(
        **{
            "risk.on_unsafe_leverage": "reject",
            "risk.min_liquidation_distance": 0.0,
            "strategy.stop_mode": "fixed",
            "strategy.stop_pct": 0.09,
        }
    )
    assert len(errs) == 1 and "strategy.stop_pct of 0.09" in errs[0]


def test_reject_policy_at_a_safe_leverage_is_fine() -> None:
    assert errors(**{"risk.on_unsafe_leverage": "reject", "risk.leverage": 5}) == []


def test_tighten_stop_cannot_meet_the_distance_rule() -> None:
    errs = errors(**{"risk.on_unsafe_leverage": "tighten_stop"})
    assert (
        len(errs) == 1 and "'tighten_stop' cannot satisfy risk.min_liquidation_distance" in errs[0]
    )


def test_tighten_stop_leaving_no_room_for_stops() -> None:
    errs = errors(
        **{
            "risk.on_unsafe_leverage": "tighten_stop",
            "risk.leverage": 25,
            "risk.min_liquidation_distance": 0.0,
        }
    )
    assert len(errs) == 1 and errs[0].startswith("risk.stop_liquidation_gap:")


def test_reduce_leverage_that_cannot_reach_the_buffers_even_at_1x() -> None:
    errs = errors(**{"risk.min_liquidation_distance": 0.995})
    assert len(errs) == 1 and errs[0].startswith("risk.min_liquidation_distance: even at 1x")


def test_stop_wider_than_stop_max() -> None:
    errs = errors(**{"strategy.stop_mode": "fixed", "strategy.stop_pct": 0.12})
    assert any(
        e.startswith("strategy.stop_pct: 0.12 is wider than risk.stop_max_pct") for e in errs
    )


def test_total_risk_below_one_trade() -> None:
    errs = errors(**{"risk.max_total_open_risk": 0.01})
    assert errs == [
        "risk.max_total_open_risk: 0.01 is below risk.risk_per_trade 0.02, so no trade could ever open"
    ]


def test_cost_allowance_below_backtest_costs() -> None:
    errs = errors(**{"risk.cost_allowance": 0.001})
    assert len(errs) == 1 and errs[0].startswith("risk.cost_allowance: 0.001 is below")
    assert errors(**{"risk.cost_allowance": 0.001, "mode": "paper"}) == []
