"""The portfolio mode on Binance (issue #20): spot and USDⓈ-M futures are two APIs and two
wallets, so two ccxt clients: ``binanceusdm`` (``self.ex``, the perpetuals, as ``CcxtVenue``)
and ``binance`` (``self.spot_ex``: ``/api/v3`` spot, ``/sapi`` wallet).

- **Routing.** rotor names a spot market ``spot:BTCUSDT`` (``bot.venues.spot``): orders on
  it go to the spot API by client id (``newClientOrderId``; ``origClientOrderId`` to read or
  cancel), every other symbol to the perpetuals as before. Spot orders are plain market
  orders in the base coin, placed once, never retried (the order manager resolves an unknown
  outcome by client id).
- **The spot wallet** holds the coins and the spot sleeve's USDT (``/api/v3/account``); the
  balance the daemon sees is the futures wallet plus the spot wallet's USDT (the coins are
  added by the core at their spot prices), so the breakers see the whole account.
- **Spot fills** come from ``/api/v3/myTrades``, which needs a symbol: the markets of the
  coins held and of the spot orders this process placed or looked up (a coin sold out before a
  restart is read at its next order). The fee is the venue's, in ``commissionAsset``. Their
  id is ``spot:<market>:<trade id>`` (``spot_exec_id``): Binance's trade ids are numbered per
  market and API, and a bare one would collide with a futures fill's in the books.
- **Transfers** (``POST /sapi/v1/asset/transfer``, ``MAIN_UMFUTURE`` / ``UMFUTURE_MAIN``)
  move USDT between the sleeves' wallets; sent once, never retried (Binance's transfer takes
  no client id: ``bot.runtime.sleeves`` stores it first and resolves an unclear outcome from
  the history, ``GET /sapi/v1/asset/transfer``). They move money inside the account: the
  futures income history's TRANSFER rows that are these transfers are not cash flows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.domain import BalanceReport, CashFlow, ExecutionReport, OrderReport, OrderType
from bot.venues.base import OrderRequest, RejectedError
from bot.venues.ccxt_client import build_binance_spot
from bot.venues.ccxt_reports import to_execution, to_order_report
from bot.venues.ccxt_spot import SpotMarkets, coin_totals, priced
from bot.venues.ccxt_venue import BINANCE_NOT_A_PLAIN_ORDER, CcxtVenue
from bot.venues.spot import (
    QUOTE,
    TO_FUTURES,
    TO_SPOT,
    SpotHolding,
    VenueTransfer,
    is_spot,
    market_id,
    spot_id,
)

HISTORY_PAGE = 100  # the transfer history's largest page
_MATCH_MS = 5_000  # an income TRANSFER row is one of our transfers within this of it


def spot_exec_id(market: str, trade_id: str) -> str:
    """rotor's id of a Binance spot fill: ``spot:BTCUSDT:123``. Binance numbers trades per
    market and API, so a spot trade id also names a futures fill; the books key fills by id."""
    return f"{spot_id(market)}:{trade_id}"


class BinanceSpotVenue(SpotMarkets, CcxtVenue):
    """``CcxtVenue`` on ``binanceusdm`` that also trades Binance spot from the spot wallet."""

    two_wallets = True  # the sleeves are the spot and the USDⓈ-M wallet (bot.runtime.sleeves)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        if self.name != "binanceusdm":
            raise ValueError(f"BinanceSpotVenue: exchange {self.name} is not binanceusdm")
        self.spot_ex = build_binance_spot(self.spec)
        self._spot = {}
        self._spot_ccxt = {}
        self._traded: set[str] = set()  # spot markets with orders seen by this process

    async def close(self) -> None:
        await self.spot_ex.close()
        await super().close()

    # ------------------------------------------------------------------ markets and wallet

    async def _spot_source(self) -> Any:
        """The spot client, its markets (Binance spot exchangeInfo) loaded once."""
        if not self.spot_ex.markets:
            await self._read("spot_markets", lambda: self.spot_ex.load_markets())
        return self.spot_ex

    async def spot_wallet(self) -> dict[str, Decimal]:
        """The spot wallet's totals by asset (USDT included), from ``/api/v3/account``."""
        await self.spot_markets()
        return coin_totals(await self._read("spot_balance", lambda: self.spot_ex.fetch_balance()))

    async def fetch_coins(self) -> dict[str, Decimal]:
        """Every coin the spot wallet holds but USDT."""
        return {c: q for c, q in (await self.spot_wallet()).items() if c != QUOTE}

    async def fetch_spot_usdt(self) -> Decimal:
        """The spot wallet's USDT (the spot sleeve's cash)."""
        return (await self.spot_wallet()).get(QUOTE, Decimal(0))

    async def fetch_futures_balance(self) -> BalanceReport:
        """The USDⓈ-M wallet alone (the futures sleeve's collateral)."""
        return await super().fetch_balance()

    async def fetch_balance(self) -> BalanceReport:
        """The futures wallet plus the spot wallet's USDT: the account the breakers watch
        (the core adds the coins at their spot prices)."""
        fut = await self.fetch_futures_balance()
        usdt = await self.fetch_spot_usdt()
        return dataclasses.replace(
            fut,
            wallet_balance=fut.wallet_balance + usdt,
            equity=fut.equity + usdt,
            available=fut.available + usdt,
        )

    async def fetch_spot_holdings(self) -> list[SpotHolding]:
        """The coins held that have a USDT spot market, each at its last spot price."""
        markets = await self.spot_markets()
        by_base = {m.base: m for m in markets.values()}
        held = [(by_base[c], q) for c, q in (await self.fetch_coins()).items() if c in by_base]
        if not held:
            return []
        self._traded |= {m.symbol for m, _ in held}
        symbols = [self._spot_ccxt[m.symbol] for m, _ in held]
        return priced(held, symbols, await self._spot_tickers(symbols))

    async def _spot_tickers(self, symbols: list[str]) -> Mapping[str, Any]:
        tickers: Mapping[str, Any] = await self._read(
            "spot_tickers", lambda: self.spot_ex.fetch_tickers(symbols)
        )
        return tickers

    async def fetch_spot_executions(self, since_ms: int) -> list[ExecutionReport]:
        """Own spot fills since ``since_ms`` (``/api/v3/myTrades`` per market, see the module
        doc), oldest first, by trade id; the fee in the asset it was paid in."""
        await self.spot_markets()
        seen: dict[str, ExecutionReport] = {}
        for sym in sorted(self._traded):
            cs = self._spot_ccxt[sym]
            trades = await self._read(
                "spot_executions",
                functools.partial(self.spot_ex.fetch_my_trades, cs, since_ms, 1000),
            )
            for t in trades:
                rep = to_execution(t, None)
                fee_ccy = str((t.get("fee") or {}).get("currency") or QUOTE)
                rep = dataclasses.replace(
                    rep, exec_id=spot_exec_id(sym, rep.exec_id), symbol=spot_id(sym),
                    fee_currency=fee_ccy,
                )  # fmt: skip
                seen.setdefault(rep.exec_id, rep)
        return sorted(seen.values(), key=lambda r: (r.ts, r.exec_id))

    # ------------------------------------------------------------------ spot orders

    def symbol_of(self, symbol: str) -> str:
        return self._spot_symbol(symbol) if is_spot(symbol) else super().symbol_of(symbol)

    async def create_order(self, request: OrderRequest) -> OrderReport:
        """A spot order is a plain market order in the base coin on the spot API, placed
        once; anything else is the perpetuals' ``create_order``."""
        if not is_spot(request.symbol):
            return await super().create_order(request)
        await self.spot_markets()
        cid = request.client_order_id
        if request.type is not OrderType.MARKET or request.reduce_only:
            raise RejectedError(f"{cid}: spot orders are plain market orders")
        if len(cid) > 36:
            raise RejectedError(f"client order id longer than 36 characters: {cid!r}")
        cs = self._spot_symbol(request.symbol)
        self._traded.add(market_id(request.symbol))
        res = await self._call(
            "create",
            "spot_create_order",
            lambda: self.spot_ex.create_order(
                cs, "market", str(request.side), float(request.qty), None,
                {"newClientOrderId": cid},
            ),
        )  # fmt: skip
        return dataclasses.replace(to_order_report(res, None), symbol=request.symbol)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Spot: cancel by client id (a spot market order is final at once; "unknown order"
        then reads it back), else the perpetuals'."""
        if not is_spot(symbol):
            return await super().cancel_order(symbol, client_order_id)
        await self.spot_markets()
        cs = self._spot_symbol(symbol)
        with contextlib.suppress(RejectedError):  # already final: its state is read below
            await self._retrying(
                "cancel",
                "spot_cancel_order",
                lambda: self.spot_ex.cancel_order(None, cs, {"origClientOrderId": client_order_id}),
                quiet_codes=BINANCE_NOT_A_PLAIN_ORDER,
            )
        report = await self.fetch_order(symbol, client_order_id)
        if report is None:
            raise RejectedError(f"{symbol} {client_order_id}: no such spot order")
        return report

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """Spot: ``GET /api/v3/order`` by ``origClientOrderId``; None if absent."""
        if not is_spot(symbol):
            return await super().fetch_order(symbol, client_order_id)
        await self.spot_markets()
        cs = self._spot_symbol(symbol)
        self._traded.add(market_id(symbol))
        try:
            order = await self._retrying(
                "read",
                "spot_fetch_order",
                functools.partial(
                    self.spot_ex.fetch_order, None, cs, {"origClientOrderId": client_order_id}
                ),
                quiet_codes=BINANCE_NOT_A_PLAIN_ORDER,
            )
        except RejectedError:
            return None
        return dataclasses.replace(to_order_report(order, None), symbol=symbol)

    # ------------------------------------------------------------------ transfers

    async def send_transfer(self, kind: str, amount: Decimal) -> str:
        """One universal transfer of USDT (``MAIN_UMFUTURE`` or ``UMFUTURE_MAIN``), sent once:
        the venue's ``tranId``. ``UnknownOutcomeError`` when the answer is lost."""
        if kind not in (TO_FUTURES, TO_SPOT):
            raise RejectedError(f"transfer type {kind!r}: not between spot and USDⓈ-M")
        await self.spot_markets()
        res = await self._call(
            "create",
            "transfer",
            lambda: self.spot_ex.sapiPostAssetTransfer(
                {"type": kind, "asset": QUOTE, "amount": str(amount)}
            ),
        )
        return str(res.get("tranId") or "")

    async def fetch_transfers(self, kind: str, since_ms: int) -> list[VenueTransfer]:
        """The venue's transfers of one type since ``since_ms`` (every page), oldest first."""
        out: list[VenueTransfer] = []
        for page in range(1, 51):
            q = {"type": kind, "startTime": since_ms, "size": HISTORY_PAGE, "current": page}
            res = await self._read(
                "transfer_history", functools.partial(self.spot_ex.sapiGetAssetTransfer, q)
            )
            rows = res.get("rows") or []
            out += [
                VenueTransfer(
                    str(r["tranId"]), kind, Decimal(str(r["amount"])), int(r["timestamp"])
                )
                for r in rows
                if r.get("status") == "CONFIRMED" and r.get("asset") == QUOTE
            ]
            if len(rows) < HISTORY_PAGE:
                break
        return sorted(out, key=lambda t: (t.ts, t.tran_id))

    async def fetch_cash_flows(self, since_ms: int, until_ms: int) -> list[CashFlow]:
        """The futures wallet's transfers but those to and from the spot wallet (money moved
        inside the account: a sleeve's, not a deposit or a withdrawal)."""
        flows = await super().fetch_cash_flows(since_ms, until_ms)
        if not flows:
            return flows
        start = max(0, since_ms - _MATCH_MS)
        inner = [
            (t.tran_id, t.amount if t.kind == TO_FUTURES else -t.amount, t.ts)
            for kind in (TO_FUTURES, TO_SPOT)
            for t in await self.fetch_transfers(kind, start)
        ]
        out = []
        for f in flows:
            match = next(
                (
                    i
                    for i in inner
                    if i[0] == f.venue_id or (i[1] == f.amount and abs(i[2] - f.ts) <= _MATCH_MS)
                ),
                None,
            )
            if match is None:
                out.append(f)
            else:
                inner.remove(match)
        return out
