"""The account as a ccxt venue reports it (``CcxtAccountReads``, the base of ``CcxtVenue``):
own fills, funding, transfers in and out, positions and the balance. The reads that differ by
venue are in ``ccxt_bybit`` and ``ccxt_binance``; structures become reports in
``ccxt_reports``.
"""

from __future__ import annotations

import functools

from bot.domain import BalanceReport, CashFlow, ExecutionReport, FundingPayment, PositionReport
from bot.venues import ccxt_binance, ccxt_bybit
from bot.venues.ccxt_core import CcxtMarketData
from bot.venues.ccxt_reports import TRANSFER_KINDS, to_balance, to_cash_flow, to_position

CASH_FLOW_WINDOW_MS = 7 * 86_400_000  # Bybit's transaction log spans at most 7 days a request


class CcxtAccountReads(CcxtMarketData):
    """The account reads of ``CcxtVenue`` (the ``Venue`` protocol's fetches)."""

    async def fetch_executions(
        self, since_ms: int, symbol: str | None = None
    ) -> list[ExecutionReport]:
        """Own fills since ``since_ms`` (liquidations included), oldest first, by exec id."""
        await self._ensure_markets()
        if self.name == "bybit":
            return await ccxt_bybit.executions(self, since_ms, symbol)
        return await ccxt_binance.executions(self, since_ms, symbol)

    async def fetch_order_executions(
        self, symbol: str, venue_order_id: str
    ) -> list[ExecutionReport]:
        """One order's fills, oldest first, with no time window (Bybit's execution list and
        Binance's ``userTrades`` by ``orderId``)."""
        await self._ensure_markets()
        if self.name == "bybit":
            return await ccxt_bybit.order_executions(self, symbol, venue_order_id)
        return await ccxt_binance.order_executions(self, symbol, venue_order_id)

    async def fetch_funding_payments(self, since_ms: int) -> list[FundingPayment]:
        """Funding settled on the account's positions since ``since_ms``, oldest first."""
        await self._ensure_markets()
        if self.name == "bybit":
            return await ccxt_bybit.funding_payments(self, since_ms)
        return await ccxt_binance.funding_payments(self, since_ms)

    async def fetch_account_events(
        self, since_ms: int
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        """Fills and funding since ``since_ms`` (Binance: from one income-history read)."""
        if self.name == "bybit":
            return await self.fetch_executions(since_ms), await self.fetch_funding_payments(
                since_ms
            )
        await self._ensure_markets()
        return await ccxt_binance.account_events(self, since_ms)

    async def fetch_cash_flows(self, since_ms: int, until_ms: int) -> list[CashFlow]:
        """Transfers in and out of the trading account through ccxt's ``fetch_ledger``:
        Bybit's ``/v5/account/transaction-log`` (TRANSFER_IN / TRANSFER_OUT rows; the log
        answers at most 7 days per request, so the range is read week by week, each page by
        cursor), Binance's income history (TRANSFER)."""
        await self._ensure_markets()
        out: dict[str, CashFlow] = {}
        start = since_ms
        while start <= until_ms:
            end = min(start + CASH_FLOW_WINDOW_MS - 1, until_ms)
            # One request a window (Bybit's log filters one type at a time: read all, keep
            # the transfers; Binance filters by income type).
            extra = {} if self.name == "bybit" else {"incomeType": "TRANSFER"}
            params = {"endTime": end, "paginate": True, **extra}
            rows = await self._read(
                "cash_flows",
                functools.partial(self.ex.fetch_ledger, "USDT", start, 50, params),
            )
            for r in rows:
                flow = to_cash_flow(r)
                if flow.kind in TRANSFER_KINDS and since_ms <= flow.ts <= until_ms:
                    out.setdefault(flow.venue_id, flow)
            start = end + 1
        return sorted(out.values(), key=lambda f: (f.ts, f.venue_id))

    async def fetch_positions(self) -> list[PositionReport]:
        await self._ensure_markets()
        rows = await self._read("positions", lambda: self.ex.fetch_positions())
        now = self.now_ms()
        out = []
        for p in rows:
            sym = str((p.get("info") or {}).get("symbol") or "")
            rep = to_position(p, self._instruments.get(sym), now)
            if rep is not None:
                out.append(rep)
        if self.name != "bybit":
            return await ccxt_binance.with_leverage(self, out)
        return out

    async def fetch_balance(self) -> BalanceReport:
        await self._ensure_markets()
        bal = await self._read("balance", lambda: self.ex.fetch_balance())
        return to_balance(bal, self.now_ms())
