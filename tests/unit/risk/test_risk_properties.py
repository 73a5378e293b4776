"""Hypothesis: every Approved entry keeps risk ≤ R, its stop ahead of liquidation with the gap,
liquidation at least the minimum distance away and its margin inside free margin."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.domain import LeverageTier, OrderIntent, PositionSide
from bot.domain.instrument import cumulative_deductions
from bot.risk.buffers import LEVERAGE_STEP
from bot.risk.decision import Approved, Rejected
from bot.risk.liquidation import liquidation_price, tier_for
from bot.risk.manager import RiskManager
from bot.risk.params import RiskParams

from .factory import SYM, instrument, position, snapshot, view


@st.composite
def tiers(draw: st.DrawFn) -> list[LeverageTier]:
    n = draw(st.integers(1, 4))
    floors = sorted(set(draw(st.lists(st.integers(1, 2_000_000), min_size=n - 1, max_size=n - 1))))
    mmr = D(draw(st.integers(2, 20))) / 1000
    lev = D(draw(st.sampled_from([125, 100, 75, 50, 25, 20])))
    out, lo = [], D(0)
    for f in [*floors, None]:
        cap = D(10) ** 12 if f is None else D(f)
        out.append(LeverageTier(lo, cap, mmr, lev))
        lo = cap
        mmr = min(mmr * D(draw(st.sampled_from(["1.5", "2", "2.5"]))), D("0.25"))
        lev = max(D(1), (lev / 2).to_integral_value())
    return cumulative_deductions(out)


decimals = st.builds(lambda m, e: D(m).scaleb(e), st.integers(1, 9999), st.integers(-4, 2))


@settings(max_examples=600, deadline=None)
@given(
    venue=st.sampled_from(["binance", "bybit"]),
    account=st.sampled_from(["unified", "classic"]),
    side=st.sampled_from(list(PositionSide)),
    policy=st.sampled_from(["reduce_leverage", "tighten_stop", "reject"]),
    equity=st.integers(100, 2_000_000).map(D),
    free_frac=st.integers(0, 200).map(lambda x: D(x) / 100),
    price=decimals,
    stop=st.integers(5, 250).map(lambda x: D(x) / 1000),
    tier_list=tiers(),
    leverage=st.integers(1, 125).map(D),
    step_digits=st.integers(-1, 6),
    tick_digits=st.integers(2, 7),
    min_notional=st.sampled_from(["0", "5", "100"]),
    risk_pct=st.integers(1, 50).map(lambda x: D(x) / 1000),
    cost=st.integers(0, 50).map(lambda x: D(x) / 10000),
    m=st.integers(0, 300).map(lambda x: D(x) / 1000),
    g=st.integers(0, 100).map(lambda x: D(x) / 1000),
    n_open=st.integers(0, 3),
    action=st.sampled_from(["reject", "shrink"]),
)
def test_every_approved_entry_is_safe(  # type: ignore[no-untyped-def]
    venue, account, side, policy, equity, free_frac, price, stop, tier_list, leverage, step_digits,
    tick_digits, min_notional, risk_pct, cost, m, g, n_open, action,
) -> None:  # fmt: skip
    # Steps from coarser than the whole order (a min-qty reject) down to 6 digits of it.
    rough_qty = risk_pct * equity / stop / price
    step = D(1).scaleb(rough_qty.adjusted() - step_digits)
    tick = D(1).scaleb(price.adjusted() - tick_digits)
    inst = instrument(tiers=tier_list, tick=str(tick), step=str(step), min_notional=min_notional)
    params = RiskParams(
        risk_per_trade=risk_pct, leverage=leverage, cost_allowance=cost, taker_fee=D("0.00055"),
        min_liquidation_distance=m, stop_liquidation_gap=g, on_unsafe_leverage=policy,
        stop_max_pct=D("0.25"), exposure_action=action, account_type=account,
        max_total_open_risk=D("0.2"),
    )  # fmt: skip
    held = [
        position(f"H{i}USDT", qty="1", entry_price="50", stop="48", sector=f"S{i}")
        for i in range(n_open)
    ]
    free = equity * free_frac
    v = view(equity=equity, free_margin=free, instruments=[inst], positions=held,
             market={SYM: snapshot(price)})  # fmt: skip
    r = RiskManager(params, venue).check(
        OrderIntent(SYM, side, "entry", price, stop_distance=stop), v
    )
    if isinstance(r, Rejected):
        assert len(r.reasons) >= 1
        for code in r.codes:
            event(f"rejected {code}")
        return
    event(f"approved {policy}")
    assert isinstance(r, Approved)
    s = side.sign
    budget = risk_pct * equity
    # Venue-valid order parameters.
    assert r.qty > 0 and r.qty % step == 0 and r.qty >= inst.min_qty
    assert r.notional == r.qty * price >= D(min_notional)
    assert r.stop_price is not None and r.stop_price % tick == 0
    assert r.leverage_used <= leverage
    assert r.leverage_used <= tier_for(tier_list, r.notional).max_leverage
    # Realised risk ≤ R after rounding and costs.
    realised = r.qty * s * (price - r.stop_price) + cost * r.qty * price
    assert realised == r.risk_amount
    assert 0 < realised <= budget
    # Independent liquidation price with the used leverage.
    margin = r.notional / r.leverage_used
    assert r.margin == margin
    fee = D(0)
    if venue == "bybit" and account == "unified":
        fee = (r.notional - s * margin) * D("0.00055")
    lp = liquidation_price(
        venue, side, price, r.qty, r.leverage_used, tier_list, account=account,
        fee_to_close=fee, margin=margin,
    )  # fmt: skip
    assert lp == r.liquidation_price
    # The stop fires before liquidation, with the configured gap.
    assert s * (r.stop_price - lp) >= g * price
    # Liquidation distance ≥ the minimum.
    assert s * (price - lp) / price >= m
    # Stops only ever tighten; reduce_leverage picks the *largest* safe leverage on the step.
    assert r.stop_distance is not None and r.stop_distance <= stop
    cap = min(leverage, tier_for(tier_list, r.notional).max_leverage)
    step_l = LEVERAGE_STEP[venue]
    if policy == "reduce_leverage" and r.leverage_used + step_l <= cap:
        higher = r.leverage_used + step_l
        m2 = r.notional / higher
        fee2 = (r.notional - s * m2) * D("0.00055") if fee else D(0)
        lp2 = liquidation_price(
            venue,
            side,
            price,
            r.qty,
            higher,
            tier_list,
            account=account,
            fee_to_close=fee2,
            margin=m2,
        )
        assert s * (price - lp2) / price < m or s * (r.stop_price - lp2) < g * price
    # The margin fits the free margin (and leaves the configured floor).
    assert margin <= free
    assert free - margin >= params.min_free_margin * equity
