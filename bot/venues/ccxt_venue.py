"""``CcxtVenue``: the ``Venue`` protocol over ``ccxt.async_support`` (issue #4).

Bybit linear USDT perpetuals by default; ``binanceusdm`` through the same class. How the
client is built (mode, host, keys) is in ``ccxt_client``; how ccxt errors become rotor
outcomes is in ``ccxt_errors``; the account reads that differ by venue are in
``ccxt_bybit`` and ``ccxt_binance``; how structures become reports is in ``ccxt_map`` (market
structures) and ``ccxt_reports`` (orders, fills, positions, balance); the call policy and
market data are in ``ccxt_core``; the account reads (fills, funding, transfers, positions,
balance) in ``ccxt_account``. This module adds trading and the account's modes.

Client order ids go out as Bybit ``orderLinkId`` / Binance ``newClientOrderId`` (≤ 36 chars).
Stops are reduce-only stop-market orders with ``triggerPrice``, ``triggerBy=MarkPrice`` and
the trigger direction of the side (a sell stop fires on a falling price).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from bot.domain import (
    BalanceReport,
    OrderReport,
    OrderStatus,
    OrderType,
    TriggerBy,
)
from bot.observability.logging import get_logger
from bot.venues import ccxt_binance, ccxt_bybit
from bot.venues.base import (
    FatalError,
    MarginMode,
    OrderNotFoundError,
    OrderRequest,
    RejectedError,
    Venue,
    stop_trigger_direction,
)
from bot.venues.ccxt_account import CcxtAccountReads
from bot.venues.ccxt_client import Endpoint
from bot.venues.ccxt_errors import BYBIT_LEVERAGE_NOT_MODIFIED
from bot.venues.ccxt_reports import (
    to_order_report,
)

BINANCE_POSITION_MODE_NOT_MODIFIED = "-4059"  # "No need to change position side."
# "Unknown order sent." / "Order does not exist.": expected while looking for a stop, which
# Binance keeps among algo orders, by its client id among plain orders first.
BINANCE_NOT_A_PLAIN_ORDER = frozenset({"-2011", "-2013"})

log = get_logger("rotor.venues.ccxt")


class CcxtVenue(CcxtAccountReads):
    """A real (or ``rotor sim serve``) exchange through ccxt; implements ``Venue``."""

    # Binance's margin type is per symbol: the mode asked at start-up, and the symbols
    # known to be in it (``ccxt_binance``).
    _margin_mode: MarginMode | None = None
    _margin_ok: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ trading

    async def verify_credentials(self) -> BalanceReport:
        """Prove the keys belong to this endpoint with one authenticated read.

        Testnet keys on mainnet (or the reverse) are unknown to the host and fail
        authentication; the ``FatalError`` names the host so the operator sees the mix-up.
        """
        if self.public_only:
            raise FatalError(f"{self.name}: no API keys configured for {self.api_host}")
        try:
            return await self.fetch_balance()
        except FatalError as exc:
            raise FatalError(
                f"{self.name} {self.endpoint} ({self.api_host}) rejected the API keys: are they "
                f"{'testnet' if self.endpoint is Endpoint.MAINNET else 'mainnet'} keys? ({exc})",
                code=exc.code,
                endpoint=exc.endpoint,
            ) from exc

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set leverage; "not modified" (same value again) counts as success."""
        await self._ensure_markets()
        cs = self.symbol_of(symbol)
        await self._ensure_margin_type(symbol)
        lev = int(leverage) if leverage == leverage.to_integral_value() else float(leverage)
        try:
            # Idempotent, so retried like a cancel; "not modified" is expected, not logged.
            await self._retrying(
                "cancel",
                "set_leverage",
                lambda: self.ex.set_leverage(lev, cs),
                quiet_codes=frozenset({BYBIT_LEVERAGE_NOT_MODIFIED}),
            )
        except RejectedError as exc:
            if exc.code != BYBIT_LEVERAGE_NOT_MODIFIED and "not modified" not in str(exc):
                raise

    async def _ensure_margin_type(self, symbol: str) -> None:
        """Binance: put ``symbol`` in the start-up margin mode before its first leverage change
        or risk-adding order (once per symbol; a refusal raises before anything is sent)."""
        if self.name != "bybit" and self._margin_mode and symbol not in self._margin_ok:
            await ccxt_binance.ensure_margin_type(self, symbol, self._margin_mode)
            self._margin_ok |= {symbol}

    def _order_params(self, req: OrderRequest) -> dict[str, Any]:
        cid = req.client_order_id
        if len(cid) > 36:
            raise RejectedError(f"client order id longer than 36 characters: {cid!r}")
        params: dict[str, Any] = {}
        if self.name == "bybit":
            params["orderLinkId"] = cid
            params["positionIdx"] = 0  # one-way mode
        else:
            params["newClientOrderId"] = cid
        if req.reduce_only:
            params["reduceOnly"] = True
        if req.type is OrderType.STOP_MARKET:
            if req.trigger_price is None:
                raise RejectedError(f"{cid}: stop-market order without trigger_price")
            inst = self._instruments.get(req.symbol)
            trig = inst.round_price(req.trigger_price) if inst else req.trigger_price
            mark = (req.trigger_by or TriggerBy.MARK) is TriggerBy.MARK
            params["triggerPrice"] = str(trig)
            if self.name == "bybit":
                # A sell stop protects a long: it fires when price falls to the trigger.
                falls = stop_trigger_direction(req.side) == 2
                params["triggerDirection"] = "descending" if falls else "ascending"
                params["triggerBy"] = "MarkPrice" if mark else "LastPrice"
            else:
                params["workingType"] = "MARK_PRICE" if mark else "CONTRACT_PRICE"
        return params

    async def create_order(self, request: OrderRequest) -> OrderReport:
        """Place an order once. Network failure → ``UnknownOutcomeError``; never retried."""
        await self._ensure_markets()
        cs = self.symbol_of(request.symbol)
        params = self._order_params(request)
        if not request.reduce_only:
            await self._ensure_margin_type(request.symbol)
        ccxt_type = "limit" if request.type is OrderType.LIMIT else "market"
        price = float(request.price) if request.type is OrderType.LIMIT and request.price else None
        if request.type is OrderType.LIMIT and price is None:
            raise RejectedError(f"{request.client_order_id}: limit order without price")
        res = await self._call(
            "create",
            "create_order",
            lambda: self.ex.create_order(
                cs, ccxt_type, str(request.side), float(request.qty), price, params
            ),
        )
        now = self.now_ms()
        # Bybit acknowledges with ids only; the order is accepted, its fills come later.
        return OrderReport(
            symbol=request.symbol,
            client_order_id=request.client_order_id,
            venue_order_id=str(res.get("id") or ""),
            side=request.side,
            type=request.type,
            status=OrderStatus.ACCEPTED,
            qty=request.qty,
            filled_qty=Decimal(0),
            price=request.price if request.type is OrderType.LIMIT else None,
            avg_fill_price=None,
            trigger_price=request.trigger_price,
            trigger_by=request.trigger_by,
            reduce_only=request.reduce_only,
            created_ms=int(res.get("timestamp") or now),
            updated_ms=int(res.get("timestamp") or now),
        )

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel by client id (retried: idempotent), then report the order's final state."""
        await self._ensure_markets()
        cs = self.symbol_of(symbol)
        if self.name == "bybit":
            await self._retrying(
                "cancel",
                "cancel_order",
                lambda: self.ex.cancel_order(None, cs, {"orderLinkId": client_order_id}),
            )
        else:
            # Binance keeps stops in its algo-order service: look there when it is not a
            # regular order (ccxt selects it with ``trigger``).
            try:
                await self._retrying(
                    "cancel",
                    "cancel_order",
                    lambda: self.ex.cancel_order(None, cs, {"origClientOrderId": client_order_id}),
                    quiet_codes=BINANCE_NOT_A_PLAIN_ORDER,
                )
            except OrderNotFoundError:
                await self._retrying(
                    "cancel",
                    "cancel_algo_order",
                    lambda: self.ex.cancel_order(
                        None, cs, {"clientOrderId": client_order_id, "trigger": True}
                    ),
                )
        report = await self.fetch_order(symbol, client_order_id)
        if report is None:
            raise OrderNotFoundError(
                f"{symbol} {client_order_id}: cancelled but not found afterwards",
                endpoint="cancel_order",
            )
        return report

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """By client id: Bybit's realtime list (open + recent), then history; None if absent."""
        await self._ensure_markets()
        if self.name == "bybit":
            return await self._bybit_order(symbol, "orderLinkId", client_order_id)
        return await self._binance_order(
            symbol,
            None,
            {"origClientOrderId": client_order_id},
            {"clientOrderId": client_order_id, "trigger": True},
        )

    async def cancel_order_by_venue_id(self, symbol: str, venue_order_id: str) -> OrderReport:
        """Cancel by the venue's order id (an order placed without a client id), then report
        its final state. Bybit cancels plain and conditional orders by ``orderId`` alike;
        Binance keeps stops in its algo service, tried when the plain cancel finds nothing."""
        await self._ensure_markets()
        cs = self.symbol_of(symbol)
        try:
            await self._retrying(
                "cancel", "cancel_order", lambda: self.ex.cancel_order(venue_order_id, cs)
            )
        except OrderNotFoundError:
            if self.name == "bybit":
                raise
            await self._retrying(
                "cancel",
                "cancel_algo_order",
                lambda: self.ex.cancel_order(venue_order_id, cs, {"trigger": True}),
            )
        report = await self.fetch_order_by_venue_id(symbol, venue_order_id)
        if report is None:
            raise OrderNotFoundError(
                f"{symbol} order {venue_order_id}: cancelled but not found afterwards",
                endpoint="cancel_order",
            )
        return report

    async def fetch_order_by_venue_id(self, symbol: str, venue_order_id: str) -> OrderReport | None:
        """By venue order id: Bybit's realtime list, then history (Binance: plain, then algo
        orders); None if the venue has no such order."""
        await self._ensure_markets()
        if self.name == "bybit":
            return await self._bybit_order(symbol, "orderId", venue_order_id)
        return await self._binance_order(symbol, venue_order_id, {}, {"trigger": True})

    async def _bybit_order(self, symbol: str, key: str, value: str) -> OrderReport | None:
        """One order by ``orderLinkId`` or ``orderId``: Bybit's realtime list (open and
        recent), then its history; None when neither has it."""
        q = {"category": "linear", "symbol": symbol, key: value}
        for name, method in (
            ("order_realtime", self.ex.privateGetV5OrderRealtime),
            ("order_history", self.ex.privateGetV5OrderHistory),
        ):
            resp = await self._read(name, functools.partial(method, dict(q)))
            for raw in (resp.get("result") or {}).get("list") or []:
                if str(raw.get(key)) == value:
                    parsed = self.ex.parse_order(raw, self.ex.market(self.symbol_of(symbol)))
                    return to_order_report(parsed, self._instruments.get(symbol))
        return None

    async def _binance_order(
        self, symbol: str, order_id: str | None, plain: dict[str, Any], algo: dict[str, Any]
    ) -> OrderReport | None:
        """One order on Binance: the plain order service, then the algo service (stops)."""
        cs = self.symbol_of(symbol)
        for name, params in (("fetch_order", plain), ("fetch_algo_order", algo)):
            try:
                order = await self._retrying(
                    "read",
                    name,
                    functools.partial(self.ex.fetch_order, order_id, cs, params),
                    quiet_codes=BINANCE_NOT_A_PLAIN_ORDER,
                )
            except OrderNotFoundError:
                continue
            return to_order_report(order, self._instruments.get(symbol))
        return None

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        await self._ensure_markets()
        cs = self.symbol_of(symbol) if symbol else None
        orders = await self._read("open_orders", lambda: self.ex.fetch_open_orders(cs))
        if self.name != "bybit":  # Binance lists stops (algo orders) separately
            orders = orders + await self._read(
                "open_algo_orders",
                lambda: self.ex.fetch_open_orders(cs, None, None, {"trigger": True}),
            )
        out = []
        for o in orders:
            sym = (o.get("info") or {}).get("symbol") or o.get("symbol")
            out.append(to_order_report(o, self._instruments.get(str(sym))))
        return out

    async def ensure_account_modes(self, margin_mode: MarginMode) -> None:
        """Every mode change is idempotent ("set to X"), so it is retried like a cancel: a 5xx
        at start-up does not refuse the start. Bybit: ``ccxt_bybit.ensure_account_modes``.
        Binance: one-way position mode, and the margin type per symbol (``ccxt_binance``:
        checked now, switched before a symbol's first entry). A refusal is a ``FatalError``
        saying what to change."""
        if self.name != "bybit":
            await self._binance_one_way()
            self._margin_ok = frozenset(await ccxt_binance.check_margin_types(self, margin_mode))
            self._margin_mode = margin_mode
            return
        await ccxt_bybit.ensure_account_modes(self, margin_mode)

    async def _binance_one_way(self) -> None:
        await self._set_mode(
            "set_position_mode",
            lambda: self.ex.set_position_mode(False),
            BINANCE_POSITION_MODE_NOT_MODIFIED,
            lambda exc: f"the venue refused one-way position mode ({exc})",
        )


def _conforms(v: CcxtVenue) -> Venue:
    """Static proof (mypy) that ``CcxtVenue`` implements the ``Venue`` protocol."""
    return v
