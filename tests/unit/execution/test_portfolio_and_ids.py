"""Portfolio bookkeeping from fills, and deterministic client order ids."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import ExecutionReport, FundingPayment, PositionSide, Side
from bot.execution.client_ids import MAX_LEN, ClientIdFactory, is_own, new_run_id
from bot.execution.portfolio import Portfolio

D = Decimal


def fill(i: int, side: Side, qty: str, price: str, fee: str = "0") -> ExecutionReport:
    return ExecutionReport(f"e{i}", "BTCUSDT", f"c{i}", f"v{i}", side, D(qty), D(price), D(fee), i)


def test_open_increase_reduce_close() -> None:
    p = Portfolio()
    assert p.apply_fill(fill(1, Side.BUY, "2", "100", "0.1")).kind == "open"
    eff = p.apply_fill(fill(2, Side.BUY, "2", "110", "0.1"))
    assert eff.kind == "increase" and eff.position is not None
    assert eff.position.entry_price == D("105") and eff.position.qty == D("4")
    eff = p.apply_fill(fill(3, Side.SELL, "1", "120"))
    assert eff.kind == "reduce" and eff.realized_pnl == D("15")
    eff = p.apply_fill(fill(4, Side.SELL, "3", "100", "0.2"))
    assert eff.kind == "close" and eff.realized_pnl == D("-15") and eff.position is None
    assert eff.closed is not None and eff.closed.side is PositionSide.LONG
    assert p.realized_pnl == D("0") and p.fees == D("0.4") and p.positions == {}


def test_short_pnl_and_funding() -> None:
    p = Portfolio()
    p.apply_fill(fill(1, Side.SELL, "10", "50"))
    p.apply_funding(FundingPayment("BTCUSDT", 5, D("0.0001"), D("10"), D("50"), D("0.05")))
    eff = p.apply_fill(fill(2, Side.BUY, "10", "45"))
    assert eff.realized_pnl == D("50")
    assert p.funding == D("0.05")
    assert eff.closed is not None and eff.closed.funding == D("0.05")


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(50, 150)), max_size=40))
def test_net_quantity_matches_signed_fills(seq: list[tuple[bool, int, int]]) -> None:
    p = Portfolio()
    net = D(0)
    for i, (buy, qty, price) in enumerate(seq):
        side = Side.BUY if buy else Side.SELL
        p.apply_fill(fill(i, side, str(qty), str(price)))
        net += D(qty) if buy else -D(qty)
    pos = p.positions.get("BTCUSDT")
    held = D(0) if pos is None else pos.qty * pos.side.sign
    assert held == net


def test_client_ids_are_deterministic_and_short() -> None:
    run = new_run_id(now_ms=1_795_286_485_253)
    f = ClientIdFactory("rtr", run)
    ids = [f.next() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ids[0] == f"rtr-{run}-1"
    assert all(len(i) <= MAX_LEN for i in ids)
    assert all(is_own("rtr", i) for i in ids)
    assert not is_own("rtr", "manual-order-1") and not is_own("rtr", None)
    assert not is_own("rtr", "rtrx-abc-1")
    assert ClientIdFactory("rtr", run, next_seq=1001).next() == f.make(1001)
    longest = ClientIdFactory("abcdefgh", "z" * 16).make(36**8)
    assert len(longest) <= MAX_LEN
    with pytest.raises(ValueError):
        ClientIdFactory("Bad-Prefix", run)
