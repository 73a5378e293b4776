"""Hypothesis: ``RiskManager.gates`` (the cheap first stage the backtest's quiet bars run
alone) names the codes ``check`` reports first, in its order, and all of its state requests:
an entry a gate refuses is refused with the same first code whatever its sizing says."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.domain import OrderIntent, PositionSide, TradingState
from bot.risk.codes import ReasonCode
from bot.risk.decision import Rejected
from bot.risk.manager import RiskManager
from bot.risk.params import RiskParams

from .factory import NOW, SYM, instrument, position, snapshot, view


def _often(usual: object, other: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Mostly the usual (passing) value, so that every gate is reached and some entries pass."""
    return st.one_of(st.just(usual), st.just(usual), other)


@settings(max_examples=500, deadline=None)
@given(
    side=st.sampled_from(list(PositionSide)),
    state=st.sampled_from([TradingState.ACTIVE] * 6 + list(TradingState)),
    n_open=st.integers(0, 6),
    same_sector=st.integers(0, 3),
    held_side=_often(None, st.sampled_from(list(PositionSide))),
    peak_frac=_often(D(1), st.integers(100, 130).map(lambda x: D(x) / 100)),
    day_frac=_often(D(1), st.integers(100, 110).map(lambda x: D(x) / 100)),
    age_polls=_often(0, st.integers(0, 5)),
    missing_bar=_often(False, st.booleans()),
    mark_dev=_often(D(0), st.integers(-40, 40).map(lambda x: D(x) / 1000)),
    ref_dev=_often(D(0), st.integers(-30, 30).map(lambda x: D(x) / 1000)),
    funding=_often(D(0), st.integers(-12, 12).map(lambda x: D(x) / 10000)),
    orders=_often(0, st.integers(15, 25)),
    known=_often(True, st.booleans()),
    stop=_often(D("0.03"), st.integers(1, 150).map(lambda x: D(x) / 1000)),
    free=_often(D(1), st.integers(0, 100).map(lambda x: D(x) / 100)),
    total_risk=st.sampled_from(["0.001", "0.06", "0.5", "0.5"]),
)
def test_gate_codes_lead_the_full_check(  # type: ignore[no-untyped-def]
    side, state, n_open, same_sector, held_side, peak_frac, day_frac, age_polls, missing_bar,
    mark_dev, ref_dev, funding, orders, known, stop, free, total_risk,
) -> None:  # fmt: skip
    params = RiskParams(max_total_open_risk=D(total_risk), max_drawdown=D("0.2"),
                        daily_loss_limit=D("0.05"))  # fmt: skip
    equity = D(10_000)
    held = [
        position(f"H{i}USDT", qty="1", entry_price="50", stop="48",
                 sector="L1" if i < same_sector else f"S{i}")
        for i in range(n_open)
    ]  # fmt: skip
    if held_side is not None:
        held.append(
            position(
                SYM, held_side, qty="2", stop="90" if held_side is PositionSide.LONG else "110"
            )
        )
    price = D(100)
    snap = snapshot(
        price,
        mark=price * (1 + mark_dev),
        ticker_ms=NOW - age_polls * 15_000,
        missing_bar=missing_bar,
        funding_8h=funding,
        bid=price * D("0.999"),
        ask=price * D("1.001"),
    )
    v = view(
        equity=equity,
        free_margin=equity * free,
        peak=equity * peak_frac,
        day_start=equity * day_frac,
        state=state,
        instruments=[instrument()] if known else [instrument("OTHERUSDT")],
        market={SYM: snap},
        positions=held,
        orders=[NOW - 1000] * orders,
    )
    intent = OrderIntent(SYM, side, "entry", price * (1 + ref_dev), stop_distance=stop)
    mgr = RiskManager(params, "binance")
    codes, requests = mgr.gates(intent, v)
    full = mgr.check(intent, v)
    assert full.state_requests == requests  # only the gates raise state requests
    if codes:
        event(f"gate {codes[0].value}")
        assert isinstance(full, Rejected)
        assert full.codes[: len(codes)] == codes
    else:
        event("gates pass: " + ("rejected" if isinstance(full, Rejected) else "approved"))
        # Whatever sizing refuses, it is no gate's code.
        assert not isinstance(full, Rejected) or full.codes[0] not in _GATE_ONLY


# Codes only a gate gives (sizing has RISK_PER_TRADE, buffers, exposure, min sizes, STALE_DATA
# for missing tiers, SECTOR_LIMIT for the sector's notional, TOTAL_RISK, FREE_MARGIN).
_GATE_ONLY = frozenset(
    {
        ReasonCode.MAX_POSITIONS,
        ReasonCode.STATE_HALTED,
        ReasonCode.STATE_REDUCING,
        ReasonCode.BAD_PRICE,
        ReasonCode.FUNDING_CAP,
        ReasonCode.ORDER_RATE,
        ReasonCode.OPPOSITE_POSITION,
        ReasonCode.SLIPPAGE,
    }
)


def test_gates_refuse_reduce_only_intents() -> None:
    mgr = RiskManager(RiskParams(), "binance")
    exit_ = OrderIntent(SYM, PositionSide.LONG, "exit", D(100), qty=D(1), reduce_only=True)
    with pytest.raises(ValueError):
        mgr.gates(exit_, view())
