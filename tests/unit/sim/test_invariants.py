"""Property test: random order flow on a random walk keeps the account's books consistent."""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimError, SimMarket
from tests.unit.sim.conftest import write_dir


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> SimMarket:
    rng = np.random.default_rng(3)
    bars = {}
    for sym in ("AAAUSDT", "BBBUSDT"):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 120)))
        opens = np.concatenate([[100.0], close[:-1]])
        hi = np.maximum(opens, close) * (1 + rng.uniform(0, 0.02, 120))
        lo = np.minimum(opens, close) * (1 - rng.uniform(0, 0.02, 120))
        bars[sym] = [
            (round(o, 2), round(h, 2), round(lw, 2), round(c, 2), 30.0)
            for o, h, lw, c in zip(opens, hi, lo, close, strict=True)
        ]
    funding = {s: [(h, 0.0003 * ((h // 8) % 3 - 1)) for h in range(0, 120, 8)] for s in bars}
    root: Path = tmp_path_factory.mktemp("inv")
    return SimMarket.load(write_dir(root, bars, funding=funding))


action = st.tuples(
    st.sampled_from(["AAAUSDT", "BBBUSDT"]),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET]),
    st.integers(1, 400),  # qty in hundredths
    st.integers(-8, 8),  # price offset in percent
    st.booleans(),  # reduce-only
    st.integers(0, 4),  # bars to advance afterwards
)


@settings(
    max_examples=int(os.environ.get("SIM_PROP_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(actions=st.lists(action, min_size=1, max_size=25), partial=st.booleans())
def test_books_balance(market: SimMarket, actions: list[tuple], partial: bool) -> None:  # type: ignore[type-arg]
    e = SimEngine(market, equity=D(1000), partial_fills=partial)
    for sym, side, typ, q, off, ro, adv in actions:
        price = e.mark_price(sym) * (1 + D(off) / 100)
        px = market.instruments[sym].round_price(price)
        kw: dict[str, object] = {}
        if typ is OrderType.LIMIT:
            kw["price"] = px
        elif typ is OrderType.STOP_MARKET:
            kw["trigger_price"] = px
            kw["trigger_direction"] = 2 if side is Side.SELL else 1
        pos_before = e.positions.get(sym)
        with contextlib.suppress(SimError):
            e.place_order(sym, side, typ, D(q) / 100, reduce_only=ro, **kw)  # type: ignore[arg-type]
        pos_after = e.positions.get(sym)
        if ro and pos_before is not None and pos_after is not None:
            assert pos_after.side is pos_before.side and pos_after.size <= pos_before.size
        e.advance(adv)
    # Every reduce-only fill closed exactly what it traded: none ever opened exposure.
    ro_ids = {o.order_id for o in e.orders if o.reduce_only}
    for x in e.executions:
        if x.order_id in ro_ids:
            assert x.closed_size == x.qty
        if x.exec_type == "BustTrade":
            assert x.fee == 0 and x.closed_pnl < 0
    # Cash: wallet = start + Σ closed PnL − Σ fees + Σ funding (to Decimal's 28 digits: an
    # average entry price can be a repeating decimal, so summation order shows at 1e-24).
    cash = sum((x.closed_pnl - x.fee for x in e.executions), D(0))
    cash += sum((f.amount for f in e.funding_payments), D(0))
    assert abs(e.wallet_balance - (D(1000) + cash)) < D("1e-18")
    # Margin: each position's isolated margin is N/L of its average entry.
    for p in e.positions.values():
        assert abs(p.margin - p.size * p.avg_price / p.leverage) < D("1e-18") and p.size > 0
    for o in e.orders:
        assert o.cum_exec_qty <= o.qty
        assert (o.status.value == "Filled") == (o.cum_exec_qty == o.qty and o.qty > 0)
