"""Spot orders and coin balances on the same ccxt client (the portfolio mode, issue #20).

rotor names a spot market ``spot:<exchange id>`` (``spot:BTCUSDT``, ``bot.venues.spot``).
Everything else — persistence before sending, client ids, Unknown resolved by a targeted
query — is the order manager's, unchanged:
``create_order``, ``cancel_order`` and ``fetch_order`` route a ``spot:`` symbol to the spot
market and every other symbol to the perpetuals as before.

Bybit only (a unified account: spot coins and perpetuals share one wallet). Binance keeps
spot on another API and another wallet: ``bot.venues.ccxt_binance_spot``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from bot.domain import ExecutionReport, OrderReport, OrderType
from bot.venues.base import OrderRequest, RejectedError
from bot.venues.ccxt_bybit import FILL_TYPES, execution_rows
from bot.venues.ccxt_map import dec
from bot.venues.ccxt_reports import to_execution, to_order_report
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.spot import QUOTE, SpotHolding, SpotInfo, is_spot, market_id, spot_id


def usdt_spot_markets(markets: Iterable[Mapping[str, Any]]) -> list[tuple[SpotInfo, str]]:
    """Every trading USDT spot market of a ccxt market list, with its ccxt symbol."""
    out = []
    for m in markets:
        if not m.get("spot") or m.get("quote") != QUOTE or m.get("active") is False:
            continue
        lim = m.get("limits") or {}
        step = dec((m.get("precision") or {}).get("amount")) or Decimal(0)
        info = SpotInfo(
            symbol=str(m["id"]),
            base=str(m["base"]),
            qty_step=step,
            min_qty=dec((lim.get("amount") or {}).get("min")) or step,
            min_notional=dec((lim.get("cost") or {}).get("min")) or Decimal(0),
        )
        out.append((info, str(m["symbol"])))
    return out


def coin_totals(balance: Mapping[str, Any]) -> dict[str, Decimal]:
    """The positive totals of a ccxt balance, by coin."""
    out: dict[str, Decimal] = {}
    for coin, row in (balance.get("total") or {}).items():
        qty = dec(row)
        if qty is not None and qty > 0:
            out[str(coin)] = qty
    return out


def priced(
    held: list[tuple[SpotInfo, Decimal]], symbols: list[str], tickers: Mapping[str, Any]
) -> list[SpotHolding]:
    """The coins ``held`` (ccxt ``symbols`` alike) at their tickers' last prices."""
    out = []
    for (m, qty), cs in zip(held, symbols, strict=True):
        t = tickers.get(cs) or {}
        price = dec(t.get("last")) or dec(t.get("close")) or Decimal(0)
        out.append(SpotHolding(m, qty, price))
    return out


class SpotMarkets:
    """The USDT spot markets of the ccxt client ``_spot_source`` gives, by exchange id."""

    name: str
    _spot: dict[str, SpotInfo]
    _spot_ccxt: dict[str, str]  # BTCUSDT -> BTC/USDT

    async def _spot_source(self) -> Any:
        """The ccxt client whose markets list the spot markets (loaded)."""
        raise NotImplementedError

    async def spot_markets(self) -> dict[str, SpotInfo]:
        """Every trading USDT spot market, keyed by exchange id (``BTCUSDT``)."""
        if not self._spot:
            ex = await self._spot_source()
            for info, cs in usdt_spot_markets(ex.markets.values()):
                self._spot[info.symbol] = info
                self._spot_ccxt[info.symbol] = cs
        return dict(self._spot)

    async def _spot_tickers(self, symbols: list[str]) -> Mapping[str, Any]:
        """ccxt spot tickers of ``symbols`` (ccxt symbols), one read."""
        raise NotImplementedError

    async def fetch_spot_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        """The last spot price per coin of each of ``symbols`` (exchange ids) that has a
        market and a price (one tickers read)."""
        await self.spot_markets()
        ids = [s for s in symbols if s in self._spot_ccxt]
        if not ids:
            return {}
        tickers = await self._spot_tickers([self._spot_ccxt[s] for s in ids])
        out: dict[str, Decimal] = {}
        for s in ids:
            t = tickers.get(self._spot_ccxt[s]) or {}
            price = dec(t.get("last")) or dec(t.get("close"))
            if price is not None and price > 0:
                out[s] = price
        return out

    def _spot_symbol(self, symbol: str) -> str:
        cs = self._spot_ccxt.get(market_id(symbol))
        if cs is None:
            raise RejectedError(f"{symbol}: no such spot market on {self.name}", endpoint="symbol")
        return cs


class SpotCcxtVenue(SpotMarkets, CcxtVenue):
    """``CcxtVenue`` that also trades the spot markets of a Bybit unified account."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        if self.name != "bybit" or not self.spec.unified_account:
            raise ValueError(
                f'strategy.mode "portfolio": exchange {self.name} is not supported by '
                'SpotCcxtVenue (Bybit\'s unified account only, risk.account_type = "unified"; '
                "Binance: BinanceSpotVenue)"
            )
        fm = dict(self.ex.options.get("fetchMarkets") or {})
        fm["types"] = ["linear", "spot"]
        self.ex.options["fetchMarkets"] = fm
        self._spot = {}
        self._spot_ccxt = {}

    # ------------------------------------------------------------------ markets

    async def _spot_source(self) -> Any:
        await self._ensure_markets()
        return self.ex

    async def fetch_coins(self) -> dict[str, Decimal]:
        """Every coin the wallet holds but USDT (the venue's wallet-balance rows), by coin."""
        await self._ensure_markets()
        bal = await self._read("coin_balance", lambda: self.ex.fetch_balance())
        return {c: q for c, q in coin_totals(bal).items() if c != QUOTE}

    async def fetch_spot_holdings(self) -> list[SpotHolding]:
        """The coins held that have a USDT spot market, each with its last spot price (one
        balance read, one tickers read); coins without a market are left out."""
        markets = await self.spot_markets()
        by_base = {m.base: m for m in markets.values()}
        held = [(by_base[c], q) for c, q in (await self.fetch_coins()).items() if c in by_base]
        if not held:
            return []
        symbols = [self._spot_ccxt[m.symbol] for m, _ in held]
        return priced(held, symbols, await self._spot_tickers(symbols))

    async def _spot_tickers(self, symbols: list[str]) -> Mapping[str, Any]:
        tickers: Mapping[str, Any] = await self._read(
            "spot_tickers", lambda: self.ex.fetch_tickers(symbols, {"type": "spot"})
        )
        return tickers

    async def fetch_spot_executions(self, since_ms: int) -> list[ExecutionReport]:
        """Own spot fills since ``since_ms`` (Bybit ``execution/list``, ``category=spot``),
        oldest first, by exec id; the fee as the venue charged it, in ``feeCurrency`` (the
        base coin on a buy)."""
        await self.spot_markets()
        seen: dict[str, ExecutionReport] = {}
        for raw in await execution_rows(self, since_ms, None, None, category="spot"):
            if raw.get("execType") not in FILL_TYPES:
                continue
            sym = str(raw.get("symbol") or "")
            cs = self._spot_ccxt.get(sym)
            if cs is None:
                continue  # a market that is not USDT-quoted: not the portfolio's
            rep = to_execution(self.ex.parse_trade(raw, self.ex.market(cs)), None)
            fee_ccy = str(raw.get("feeCurrency") or QUOTE)
            rep = dataclasses.replace(rep, symbol=spot_id(sym), fee_currency=fee_ccy)
            seen.setdefault(rep.exec_id, rep)
        return sorted(seen.values(), key=lambda r: (r.ts, r.exec_id))

    # ------------------------------------------------------------------ orders

    def symbol_of(self, symbol: str) -> str:
        """ccxt's symbol: ``spot:BTCUSDT`` → ``BTC/USDT``, a perpetual as before."""
        return self._spot_symbol(symbol) if is_spot(symbol) else super().symbol_of(symbol)

    def _order_params(self, req: OrderRequest) -> dict[str, Any]:
        if not is_spot(req.symbol):
            return super()._order_params(req)
        # The base coin on both sides: ccxt sends marketUnit=baseCoin for a unified account's
        # market order without a price (Bybit's own default for a buy is USDT).
        return {"orderLinkId": req.client_order_id}

    async def create_order(self, request: OrderRequest) -> OrderReport:
        """The perpetuals' ``create_order`` (placed once, never retried); a spot order is a
        plain market order."""
        if is_spot(request.symbol):
            await self.spot_markets()
            if request.type is not OrderType.MARKET or request.reduce_only:
                raise RejectedError(
                    f"{request.client_order_id}: spot orders are plain market orders"
                )
        return await super().create_order(request)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        if is_spot(symbol):
            await self.spot_markets()
        return await super().cancel_order(symbol, client_order_id)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """By client id on the spot market: open or recent, then history; None if absent."""
        if not is_spot(symbol):
            return await super().fetch_order(symbol, client_order_id)
        await self.spot_markets()
        cs = self._spot_symbol(symbol)
        q = {"category": "spot", "symbol": market_id(symbol), "orderLinkId": client_order_id}
        for name, method in (
            ("spot_order_realtime", self.ex.privateGetV5OrderRealtime),
            ("spot_order_history", self.ex.privateGetV5OrderHistory),
        ):
            resp = await self._read(name, functools.partial(method, dict(q)))
            for raw in (resp.get("result") or {}).get("list") or []:
                if raw.get("orderLinkId") == client_order_id:
                    parsed = self.ex.parse_order(raw, self.ex.market(cs))
                    return dataclasses.replace(to_order_report(parsed, None), symbol=symbol)
        return None
