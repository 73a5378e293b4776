"""One test per portfolio limit, guard and breaker, each checking its reason code."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderIntent, TradingState
from bot.risk.codes import ReasonCode
from bot.risk.decision import Approved, Rejected
from bot.risk.manager import RiskManager
from bot.risk.params import RiskParams
from bot.risk.state import DAILY_LOSS, MAX_DRAWDOWN, ORDER_RATE, reason_code

from .factory import LONG, NOW, SHORT, SYM, entry, instrument, position, snapshot, view

LAX = {"min_liquidation_distance": D(0), "stop_liquidation_gap": D(0)}


def mgr(**kw: object) -> RiskManager:
    return RiskManager(RiskParams(**{**LAX, **kw}), "binance")  # type: ignore[arg-type]


def codes(result: Approved | Rejected) -> tuple[ReasonCode, ...]:
    assert isinstance(result, Rejected), "expected a rejection"
    return result.codes


def others(n: int, sector: str = "OTHER", stop: str | None = "99") -> list:  # type: ignore[type-arg]
    return [position(f"P{i}USDT", qty="1", stop=stop, sector=sector) for i in range(n)]


def test_baseline_is_approved() -> None:
    assert isinstance(mgr().check(entry(), view()), Approved)


def test_max_open_positions() -> None:
    r = mgr(max_positions_per_sector=10).check(entry(), view(positions=others(5)))
    assert codes(r) == (ReasonCode.MAX_POSITIONS,)
    assert r.reasons[0].numbers == {"open_positions": 5, "limit": 5}  # type: ignore[union-attr]
    assert isinstance(mgr().check(entry(), view(positions=others(4))), Approved)


def test_adding_to_a_held_symbol_does_not_count_as_a_new_position() -> None:
    held = [*others(4), position(SYM, qty="1", stop="99")]
    assert isinstance(mgr().check(entry(), view(positions=held)), Approved)


def test_max_positions_per_sector() -> None:
    r = mgr().check(entry(), view(positions=others(2, sector="L1")))
    assert codes(r) == (ReasonCode.SECTOR_LIMIT,)
    assert isinstance(mgr().check(entry(), view(positions=others(2, sector="DEFI"))), Approved)


def test_unmapped_sectors_share_one_bucket() -> None:
    inst = instrument(sector=None)
    r = mgr().check(entry(), view(instruments=[inst], positions=others(2, sector=None)))  # type: ignore[arg-type]
    assert codes(r) == (ReasonCode.SECTOR_LIMIT,)


def test_max_total_open_risk() -> None:
    # Open risk: 3 positions × 10 × (100 − 85) = 450; a new trade adds ≈ 200 > 6% of 10,000.
    held = [position(f"P{i}USDT", qty="10", stop="85", sector=f"S{i}") for i in range(3)]
    r = mgr().check(entry(), view(positions=held))
    assert codes(r) == (ReasonCode.TOTAL_RISK,)
    assert r.reasons[0].numbers["open_risk"] == D(450)  # type: ignore[union-attr]


def test_open_risk_uses_mark_and_margin_without_stop() -> None:
    # Trailing stop above entry with mark above the stop: no risk left; no stop: the margin.
    held = [
        position("AUSDT", qty="10", entry_price="100", stop="105", sector="A"),
        position("BUSDT", qty="10", entry_price="100", stop=None, sector="B", leverage="5"),
    ]
    market = {SYM: snapshot(), "AUSDT": snapshot("110"), "BUSDT": snapshot("100")}
    v = view(positions=held, market=market)
    assert v.open_risk_of(held[0]) == D(50)
    assert v.open_risk_of(held[1]) == D(200)


@pytest.mark.parametrize("action", ["reject", "shrink"])
def test_max_gross_notional(action: str) -> None:
    # 27,000 open at mark; cap 30,000; a 5% stop wants N ≈ 3,844.
    held = [position(f"P{i}USDT", qty="90", stop=None, sector=f"S{i}") for i in range(3)]
    m = mgr(exposure_action=action, max_total_open_risk=D(1), min_free_margin=D(0))
    r = m.check(entry(), view(positions=held, free_margin="10000"))
    if action == "reject":
        assert codes(r) == (ReasonCode.GROSS_EXPOSURE,)
    else:
        assert isinstance(r, Approved)
        assert r.notional <= D(3000)
        assert r.risk_amount < r.risk_budget
        assert any("shrink" in n for n in r.notes)


@pytest.mark.parametrize("action", ["reject", "shrink"])
def test_max_sector_notional(action: str) -> None:
    held = [position("P0USDT", qty="140", stop=None, sector="L1")]
    m = mgr(exposure_action=action, max_total_open_risk=D(1))
    r = m.check(entry(), view(positions=held))
    if action == "reject":
        assert codes(r) == (ReasonCode.SECTOR_LIMIT,)
    else:
        assert isinstance(r, Approved) and r.notional <= D(1000)


def test_shrink_with_no_room_rejects() -> None:
    held = [position(f"P{i}USDT", qty="100", stop=None, sector=f"S{i}") for i in range(3)]
    r = mgr(max_total_open_risk=D(1)).check(entry(), view(positions=held))
    assert codes(r) == (ReasonCode.GROSS_EXPOSURE,)


def test_min_free_margin() -> None:
    # 1x leverage: margin = notional ≈ 3,844 against 4,000 free leaves < 20% of E.
    r = mgr(leverage=D(1)).check(entry(), view(free_margin="4000"))
    assert codes(r) == (ReasonCode.FREE_MARGIN,)
    assert isinstance(mgr(leverage=D(1)).check(entry(), view(free_margin="6000")), Approved)


@pytest.mark.parametrize(("side", "rate", "hit"), [
    (LONG, "0.0006", True), (LONG, "-0.0006", False), (SHORT, "-0.0006", True), (SHORT, "0.0006", False),
    (LONG, "0.0005", False),
])  # fmt: skip
def test_funding_cap_mirrored_for_shorts(side, rate: str, hit: bool) -> None:  # type: ignore[no-untyped-def]
    v = view(market={SYM: snapshot(funding_8h=D(rate))})
    r = mgr().check(entry(side), v)
    if hit:
        assert codes(r) == (ReasonCode.FUNDING_CAP,)
    else:
        assert isinstance(r, Approved)


@pytest.mark.parametrize(
    "snap",
    [
        snapshot(ticker_ms=NOW - 45_001),  # older than 3 polls of 15 s
        snapshot(ticker_ms=None),
        snapshot(missing_bar=True),
    ],
)
def test_stale_data_blocks_entries(snap) -> None:  # type: ignore[no-untyped-def]
    r = mgr().check(entry(), view(market={SYM: snap}))
    assert codes(r) == (ReasonCode.STALE_DATA,)


def test_stale_data_still_allows_exits() -> None:
    held = [position(SYM, qty="5")]
    v = view(market={SYM: snapshot(ticker_ms=NOW - 10**9)}, positions=held)
    r = mgr().check(OrderIntent(SYM, LONG, "exit", D(100)), v)
    assert isinstance(r, Approved) and r.reduce_only and r.qty == D(5)


def test_fresh_enough_data_is_fine() -> None:
    assert isinstance(
        mgr().check(entry(), view(market={SYM: snapshot(ticker_ms=NOW - 45_000)})), Approved
    )


@pytest.mark.parametrize(
    ("snap", "ref"),
    [
        (snapshot(last=D("103"), mark=D("100")), "100"),  # 3% apart
        (snapshot(last=D("NaN")), "100"),
        (snapshot(mark=D(0)), "100"),
        (snapshot(last=D(-1)), "100"),
        (snapshot(), "0"),
        (snapshot(), "NaN"),
    ],
)
def test_price_sanity(snap, ref: str) -> None:  # type: ignore[no-untyped-def]
    r = mgr().check(entry(price=ref), view(market={SYM: snap}))
    assert ReasonCode.BAD_PRICE in codes(r)


def test_price_within_two_percent_is_fine() -> None:
    v = view(market={SYM: snapshot(last=D("101.9"), mark=D("100"))})
    assert isinstance(mgr().check(entry(), v), Approved)


def test_order_rate_rejects_entries_and_asks_for_reducing() -> None:
    recent = [NOW - i * 2_000 for i in range(20)]  # 20 orders in the last 40 s
    r = mgr().check(entry(), view(orders=recent))
    assert codes(r) == (ReasonCode.ORDER_RATE,)
    assert [(q.target, reason_code(q.reason)) for q in r.state_requests] == [
        (TradingState.REDUCING, ORDER_RATE)
    ]
    old = [NOW - 61_000 - i for i in range(50)]  # outside the window
    assert isinstance(mgr().check(entry(), view(orders=[*old, *recent[:19]])), Approved)


def test_order_rate_lets_exits_through_but_still_asks_for_reducing() -> None:
    recent = [NOW - i for i in range(30)]
    r = mgr().check(
        OrderIntent(SYM, LONG, "exit", D(100)), view(orders=recent, positions=[position(SYM)])
    )
    assert isinstance(r, Approved) and r.state_requests[0].target is TradingState.REDUCING


def test_daily_loss_limit() -> None:
    v = view(equity="9500", day_start="10000", peak="10000")
    r = mgr().check(entry(), v)
    assert codes(r) == (ReasonCode.STATE_REDUCING,)
    (req,) = r.state_requests
    assert req.target is TradingState.REDUCING and reason_code(req.reason) == DAILY_LOSS
    assert not req.kill
    assert mgr().breakers(view(equity="9501", day_start="10000")) == []


def test_max_drawdown_requests_kill_then_halt() -> None:
    v = view(equity="8500", day_start="8600", peak="10000")
    r = mgr().check(entry(), v)
    assert codes(r) == (ReasonCode.STATE_HALTED,)
    (req,) = r.state_requests
    assert (
        req.target is TradingState.HALTED and req.kill and reason_code(req.reason) == MAX_DRAWDOWN
    )
    both = mgr().breakers(view(equity="8000", day_start="10000", peak="10000"))
    assert [q.target for q in both] == [TradingState.HALTED, TradingState.REDUCING]


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (TradingState.REDUCING, ReasonCode.STATE_REDUCING),
        (TradingState.HALTED, ReasonCode.STATE_HALTED),
    ],
)
def test_state_blocks_entries(state: TradingState, code: ReasonCode) -> None:
    assert codes(mgr().check(entry(), view(state=state))) == (code,)


def test_reducing_allows_exits_halted_only_the_kill_switch() -> None:
    held = [position(SYM, qty="4", stop="95")]
    exit_ = OrderIntent(SYM, LONG, "exit", D(100), qty=D(1))
    kill = OrderIntent(SYM, LONG, "kill", D(100), reduce_only=True, source="api")
    r = mgr().check(exit_, view(state=TradingState.REDUCING, positions=held))
    assert isinstance(r, Approved) and r.qty == D(1) and r.reduce_only and r.side.value == "sell"
    assert codes(mgr().check(exit_, view(state=TradingState.HALTED, positions=held))) == (
        ReasonCode.STATE_HALTED,
    )
    k = mgr().check(kill, view(state=TradingState.HALTED, positions=held, orders=[NOW] * 100))
    assert isinstance(k, Approved) and k.qty == D(4) and k.reduce_only
    assert k.state_requests == ()  # the kill switch is never rate limited


def test_exit_without_a_position_is_no_position() -> None:
    r = mgr().check(OrderIntent(SYM, LONG, "exit", D(100)), view())
    assert codes(r) == (ReasonCode.NO_POSITION,)
    r = mgr().check(OrderIntent(SYM, SHORT, "exit", D(100)), view(positions=[position(SYM)]))
    assert codes(r) == (ReasonCode.NO_POSITION,)


def test_exit_quantity_is_clamped_and_rounded() -> None:
    held = [position(SYM, qty="4")]
    r = mgr().check(OrderIntent(SYM, LONG, "exit", D(100), qty=D(9)), view(positions=held))
    assert isinstance(r, Approved) and r.qty == D(4)
    r = mgr().check(OrderIntent(SYM, LONG, "exit", D(100), qty=D("1.23456")), view(positions=held))
    assert isinstance(r, Approved) and r.qty == D("1.234")


def test_protective_stop_intent_is_reduce_only_on_the_tick() -> None:
    held = [position(SYM, side=SHORT, qty="4", stop=None)]
    stop = OrderIntent(SYM, SHORT, "stop", D(100), stop_distance=D("0.0512345"))
    r = mgr().check(stop, view(positions=held, state=TradingState.REDUCING))
    assert isinstance(r, Approved)
    assert r.stop_price == D("105.123") and r.reduce_only and r.side.value == "buy"


def test_missing_instrument_blocks_entries() -> None:
    r = mgr().check(entry(symbol="NOPEUSDT"), view())
    assert ReasonCode.STALE_DATA in codes(r)


def test_several_reasons_are_all_reported() -> None:
    v = view(state=TradingState.REDUCING, market={SYM: snapshot(funding_8h=D("0.01"), ticker_ms=0)})
    assert set(codes(mgr().check(entry(), v))) == {
        ReasonCode.STATE_REDUCING,
        ReasonCode.STALE_DATA,
        ReasonCode.FUNDING_CAP,
    }


def test_entry_against_an_opposite_position_is_refused() -> None:
    r = mgr().check(entry(SHORT), view(positions=[position(SYM, side=LONG, qty="3")]))
    assert codes(r) == (ReasonCode.OPPOSITE_POSITION,)
