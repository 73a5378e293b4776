"""#35: deposits, withdrawals and transfers are read from the venue's transaction log
(``/v5/account/transaction-log`` through ccxt ``fetch_ledger``) and are never profit or loss
for the breakers: a withdrawal larger than the daily-loss limit and the max drawdown leaves
the account ACTIVE, whether it happens while rotor runs or while it is down. The daemon
in-process against the simulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bot.domain import TradingState
from tests.reliability.daemon_rig import bar, running_daemon, trading_sim


async def _transfer(sim, amount: str) -> None:  # type: ignore[no-untyped-def]
    await sim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": amount})


async def test_s35_withdrawals_and_deposits_are_not_profit_or_loss(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path, equity=Decimal(10000), venue=venue_name) as sim:
        async with running_daemon(sim, db_url) as d:
            await bar(sim, d, 2)
            assert d.state.state is TradingState.ACTIVE
            peak, day_start = d.services.core.marks.peak, d.services.core.marks.day_start
            assert peak is not None and day_start is not None

            # 25 % out: beyond the 5 % daily loss and the 15 % max drawdown.
            await _transfer(sim, "-2500")
            await bar(sim, d, 2)
            await d.handle_operator_requests()
            assert d.state.state is TradingState.ACTIVE, d.state.current.reason
            assert (
                d.services.core.marks.peak is not None and d.services.core.marks.peak <= peak - 2500
            )
            [flow] = await d.storage.repo.list_cash_flows()
            # The venue's own type: Bybit says which way, Binance only TRANSFER (by sign).
            out = {"bybit": "TRANSFER_OUT", "binanceusdm": "TRANSFER"}[venue_name]
            assert (flow.amount, flow.kind) == (Decimal(-2500), out)

            # A deposit is not a gain: the marks move with it, the drawdown does not shrink;
            # taking it out again is not a loss.
            def gap() -> Decimal:
                m, b = d.services.core.marks, d.services.core.balance
                assert m.peak is not None and m.day_start is not None and b is not None
                return m.peak - b.equity

            before = gap()
            await _transfer(sim, "4000")
            await bar(sim, d, 1)
            assert abs(gap() - before) < 100, (before, gap())
            await _transfer(sim, "-4000")
            await bar(sim, d, 1)
            await d.handle_operator_requests()
            assert d.state.state is TradingState.ACTIVE, d.state.current.reason
            assert abs(gap() - before) < 100, (before, gap())
            assert len(await d.storage.repo.list_cash_flows()) == 3

        # While rotor is down: 20 % out. The restart reads it before trading.
        await _transfer(sim, "-2300")
        async with running_daemon(sim, db_url) as d:
            assert len(await d.storage.repo.list_cash_flows()) == 4
            await bar(sim, d, 2)
            await d.handle_operator_requests()
            assert d.state.state is TradingState.ACTIVE, d.state.current.reason
            marks, balance = d.services.core.marks, d.services.core.balance
            assert balance is not None and marks.peak is not None
            # The drawdown the breaker sees is the trading loss only (none worth 15 %).
            assert (marks.peak - balance.equity) / marks.peak < Decimal("0.05")
            assert marks.flows == Decimal(-2500 + 4000 - 4000 - 2300)
