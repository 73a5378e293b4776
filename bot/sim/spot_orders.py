"""Spot orders on the simulated account (``SpotOrders``, over ``bot.sim.spot.SpotBook``).

The fill model is the perpetuals' (``bot.sim.entry``): a market order, or a limit that is
marketable on arrival, fills whole at once at price·(1 ± (half_spread + slippage)), rounded
adversely to the spot tick, taker fee; a limit that is not marketable is refused (the model
has no resting spot book), ``IOC``/``FOK`` alike. The fee is paid in the currency received
(Bybit's rule): base coin on a buy, USDT on a sell.

Spot orders and executions are kept apart from the derivatives ones (``spot_orders``,
``spot_executions``): Bybit answers each category's queries separately, and the perpetual
pipeline never sees a spot fill.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.domain import OrderType, Side, TriggerBy
from bot.sim.spot import (
    BASE_COIN,
    QUOTE_COIN,
    SPOT_EXEC_ID_PREFIX,
    SPOT_ORDER_ID_PREFIX,
    SpotBook,
    SpotSpec,
)
from bot.sim.types import ZERO, SimError, SimExecution, SimOrder, SimStatus, sim_id


class SpotOrders(SpotBook):
    """Mixin of ``bot.sim.core.EngineCore``: the account's spot orders and their fills."""

    def place_spot_order(
        self,
        symbol: str,
        side: Side,
        qty: Decimal,
        *,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        order_link_id: str | None = None,
        time_in_force: str = "GTC",
        market_unit: str = BASE_COIN,
    ) -> SimOrder:
        """Validate and fill a spot order now (Bybit's spot error codes on refusal).

        ``market_unit`` (market orders): ``baseCoin``, ``qty`` is coins; ``quoteCoin``, ``qty``
        is USDT, filled with as many coins (on the step) as it pays for at the fill price, the
        rest left unfilled (Bybit's ``PartiallyFilledCanceled``, ``EC_CancelForNoFullFill``).
        """
        spec = self.spot_market(symbol)
        link = order_link_id or ""
        if link and link in self._spot_by_link:
            raise SimError(SimError.SPOT_DUPLICATE_LINK_ID, f"Duplicate clientOrderId {link!r}")
        if order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise SimError(SimError.BAD_PARAMS, f"spot orders are Market or Limit ({order_type})")
        if market_unit not in (BASE_COIN, QUOTE_COIN):
            raise SimError(SimError.BAD_PARAMS, f"marketUnit {market_unit!r} is invalid")
        in_quote = market_unit == QUOTE_COIN and order_type is OrderType.MARKET
        if not qty.is_finite() or qty <= 0:
            raise SimError(SimError.BAD_PARAMS, f"qty must be a positive number ({qty})")
        if not in_quote:
            self._check_spot_qty(spec, qty)
        ref = self.spot_price(symbol)
        px = self._spot_taker_price(spec, side, ref)
        if order_type is OrderType.LIMIT:
            px = self._spot_limit_fill(spec, side, price, ref, px)
        coins = spec.floor(qty / px) if in_quote else qty
        if in_quote:
            self._check_spot_qty(spec, coins)
        value = qty if in_quote else qty * (price if price is not None else ref)
        if value < spec.min_notional:
            raise SimError(
                SimError.SPOT_VALUE_TOO_LOW,
                f"Order value {value} is below the minimum {spec.min_notional} USDT",
            )
        cost = coins * px
        cash = self.spot_cash()
        if side is Side.BUY and cost > cash:
            raise SimError(
                SimError.SPOT_INSUFFICIENT_BALANCE,
                f"Insufficient balance: {cost} USDT needed, {cash} available",
            )
        held = self.account.coins.get(spec.base, ZERO)
        if side is Side.SELL and coins > held:
            raise SimError(
                SimError.SPOT_INSUFFICIENT_BALANCE,
                f"Insufficient balance: selling {coins} {spec.base}, {held} held",
            )
        now = self.now_ms
        n = len(self.spot_orders) + 1
        order = SimOrder(
            order_id=sim_id(SPOT_ORDER_ID_PREFIX, n), order_link_id=link, symbol=symbol,
            side=side, order_type=order_type, qty=qty, price=price, trigger_price=None,
            trigger_by=TriggerBy.MARK, reduce_only=False, status=SimStatus.NEW, created_ms=now,
            updated_ms=now, seq=n, market_unit=market_unit if in_quote else BASE_COIN,
            time_in_force="IOC" if order_type is OrderType.MARKET else time_in_force,
        )  # fmt: skip
        self.spot_orders.append(order)
        self._spot_by_id[order.order_id] = order
        if link:
            self._spot_by_link[link] = order
        self._spot_fill(spec, order, coins, px, ref)
        return order

    @staticmethod
    def _check_spot_qty(spec: SpotSpec, qty: Decimal) -> None:
        if qty % spec.qty_step != 0:
            raise SimError(
                SimError.SPOT_TOO_MANY_DECIMALS,
                f"Order quantity has too many decimals ({qty}; step {spec.qty_step})",
            )
        if qty < spec.min_qty:
            raise SimError(
                SimError.SPOT_QTY_TOO_LOW, f"Order quantity {qty} is below {spec.min_qty}"
            )

    @staticmethod
    def _spot_limit_fill(
        spec: SpotSpec, side: Side, price: Decimal | None, ref: Decimal, px: Decimal
    ) -> Decimal:
        """A limit's fill price: the taker price capped at the limit; refused when the limit
        is not marketable (no resting spot book)."""
        if price is None or not price.is_finite() or price <= 0:
            raise SimError(SimError.BAD_PARAMS, "a limit order needs a positive price")
        if price % spec.tick != 0:
            raise SimError(
                SimError.SPOT_PRICE_DECIMALS,
                f"Order price has too many decimals ({price}; tick {spec.tick})",
            )
        if side.sign * (price - ref) < 0:
            raise SimError(
                SimError.BAD_PARAMS,
                f"{spec.symbol}: a spot limit {side.value} at {price} is not marketable at "
                f"{ref}; the simulator fills spot orders on arrival only",
                "spot_not_marketable",
            )
        return price if side.sign * (px - price) > 0 else px

    def get_spot_order(
        self, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> SimOrder | None:
        """A spot order by venue id or orderLinkId."""
        if order_id:
            o = self._spot_by_id.get(order_id)
            if o is not None and order_link_id and o.order_link_id != order_link_id:
                return None
            return o
        return self._spot_by_link.get(order_link_id) if order_link_id else None

    def spot_fill_price(self, symbol: str, side: Side) -> Decimal:
        """The price a market order in ``symbol`` would fill at now."""
        return self._spot_taker_price(self.spot_market(symbol), side, self.spot_price(symbol))

    def _spot_taker_price(self, spec: SpotSpec, side: Side, ref: Decimal) -> Decimal:
        px = ref * (1 + side.sign * (self.half_spread + self.slippage))
        rnd = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
        return (px / spec.tick).to_integral_value(rounding=rnd) * spec.tick

    def _spot_fill(
        self, spec: SpotSpec, order: SimOrder, qty: Decimal, price: Decimal, mark: Decimal
    ) -> None:
        """Settle ``qty`` coins at ``price`` (the whole order; a quote-unit order's change
        stays unfilled): the fee is paid in the currency received."""
        rate, now = self.spot_fee, self.now_ms
        value = qty * price
        acct = self.account
        if order.side is Side.BUY:
            fee, fee_ccy = qty * rate, spec.base
            acct.coins[spec.base] = acct.coins.get(spec.base, ZERO) + qty - fee
            cash = -value
        else:
            fee, fee_ccy = value * rate, spec.quote
            acct.coins[spec.base] = acct.coins.get(spec.base, ZERO) - qty
            cash = value
        if acct.coins[spec.base] == 0:
            del acct.coins[spec.base]
        change = cash - (fee if fee_ccy == spec.quote else ZERO)
        if self.rules.unified_spot:
            acct.wallet_balance += change
        else:  # a spot wallet of its own, apart from the derivatives wallet and its log
            acct.spot_usdt += change
        order.cum_exec_qty = qty
        order.cum_exec_value = value
        order.cum_exec_fee = fee
        order.avg_price = price
        order.status = SimStatus.FILLED
        if order.market_unit == QUOTE_COIN and value < order.qty:
            order.status = SimStatus.PARTIALLY_FILLED_CANCELED
            order.reject_reason = "EC_CancelForNoFullFill"
        order.updated_ms = now
        ex = SimExecution(
            exec_id=sim_id(SPOT_EXEC_ID_PREFIX, len(self.spot_executions) + 1),
            order_id=order.order_id, order_link_id=order.order_link_id, symbol=spec.symbol,
            side=order.side, qty=qty, price=price, fee=fee, fee_rate=rate, ts=now,
            is_maker=False, mark=mark, fee_currency=fee_ccy,
        )  # fmt: skip
        self.spot_executions.append(ex)
        if not self.rules.unified_spot:
            return
        acct.log(
            "TRADE", now, spec.symbol, "Buy" if order.side is Side.BUY else "Sell", qty, price,
            fee if fee_ccy == spec.quote else ZERO, cash, ex.exec_id,
            order_id=order.order_id, order_link_id=order.order_link_id, fee_rate=rate,
        )  # fmt: skip
