"""Orders in Binance USDⓈ-M's shapes: plain orders and conditional (algo) orders.

- Plain orders (``/fapi/v1/order`` and its lists) are the engine's market and limit orders and
  the *actual* orders of triggered conditional orders; conditional orders before they trigger
  are algo orders only (``/fapi/v1/algoOrder``), as on Binance since conditional orders moved
  to its algo service. A triggered algo order is forwarded to the matching engine as an
  *actual* order with an id of its own (the algo row's ``actualOrderId``, Binance's "ai"):
  the actual order's rows, its fills (``userTrades``) and ``orderId`` look-ups use that id,
  never the ``algoId``. The engine keeps one order for both; ``plain_id`` derives the
  actual id from it. The actual order carries ``clientAlgoId`` as its client id.
- Orders without a client id (a liquidation, a delivery) get Binance-style generated ones
  (``autoclose-<id>``, ``delivery-<id>``); the face finds them by these too.
"""

from __future__ import annotations

from typing import Any

from bot.domain import OrderType, Side, TriggerBy
from bot.sim.http.binance.wire import fixed, num, order_uuid, px, qty
from bot.sim.http.context import SimContext
from bot.sim.types import ZERO, SimOrder, SimStatus
from bot.sim.validation import FALLING, RISING

_SIDE = {Side.BUY: "BUY", Side.SELL: "SELL"}
_TIF = {"PostOnly": "GTX"}
_AUTO = {"CreateByLiq": "autoclose-", "CreateByAdmin": "delivery-"}
_EXPIRED_BY = ("CancelByReduceOnly", "CancelByLiq", "CancelByAdmin")


def side_word(side: Side) -> str:
    return _SIDE[side]


def position_side(idx: int) -> str:
    """Binance's positionSide: BOTH (one-way), LONG / SHORT (hedge)."""
    return {0: "BOTH", 1: "LONG", 2: "SHORT"}[idx]


def client_id(o: SimOrder) -> str:
    """The client id Binance shows: the one sent, or a generated one for venue-made orders."""
    if o.order_link_id:
        return o.order_link_id
    return _AUTO.get(o.create_type, "web_") + str(num(o.order_id))


def is_algo(o: SimOrder) -> bool:
    """Whether ``o`` is a conditional (algo) order."""
    return o.order_type is OrderType.STOP_MARKET


# The actual order of a triggered algo order: its Binance id is the algo order's number plus
# this (ids of plain orders stay below it).
ACTUAL_ID_OFFSET = 1 << 40


def plain_id(o: SimOrder) -> int:
    """The id the plain order endpoints and the fills give ``o``: a conditional order's
    actual order has its own."""
    n = num(o.order_id)
    return n + ACTUAL_ID_OFFSET if is_algo(o) else n


def engine_id_of_plain(n: int) -> str:
    """The engine order behind plain order id ``n`` (an actual order's algo order)."""
    return order_uuid(n - ACTUAL_ID_OFFSET if n >= ACTUAL_ID_OFFSET else n)


def shows_as_plain(o: SimOrder) -> bool:
    """Whether the plain order endpoints list ``o``: market and limit orders, and a
    conditional order once it has triggered (its actual order)."""
    if not is_algo(o):
        return True
    return o.status in (SimStatus.TRIGGERED, SimStatus.PARTIALLY_FILLED, SimStatus.FILLED)


def algo_type(o: SimOrder) -> str:
    """STOP_MARKET (a buy rising / sell falling to its trigger) or TAKE_PROFIT_MARKET."""
    stop_dir = RISING if o.side is Side.BUY else FALLING
    return "STOP_MARKET" if o.trigger_direction == stop_dir else "TAKE_PROFIT_MARKET"


def working_type(o: SimOrder) -> str:
    """MARK_PRICE or CONTRACT_PRICE (what a conditional order triggers on; plain orders
    show Binance's default)."""
    if is_algo(o) and o.trigger_by is TriggerBy.MARK:
        return "MARK_PRICE"
    return "CONTRACT_PRICE"


def order_status(o: SimOrder) -> str:
    """Binance's status of a plain (or actual) order."""
    st = o.status
    if st in (SimStatus.NEW, SimStatus.TRIGGERED):
        return "NEW"
    if st is SimStatus.PARTIALLY_FILLED:
        return "PARTIALLY_FILLED"
    if st is SimStatus.FILLED:
        return "FILLED"
    if st is SimStatus.REJECTED:
        return "REJECTED"
    # Cancelled: an IOC that could not fill, or a reduce-only order the position outgrew,
    # expires on Binance; a cancel asked for is CANCELED.
    if o.time_in_force in ("IOC", "FOK") and not is_algo(o):
        return "EXPIRED"
    if o.cancel_type in _EXPIRED_BY:
        return "EXPIRED"
    return "CANCELED"


def algo_status(o: SimOrder) -> str:
    """Binance's algoStatus of a conditional order."""
    st = o.status
    if st is SimStatus.UNTRIGGERED:
        return "NEW"
    if st in (SimStatus.TRIGGERED, SimStatus.PARTIALLY_FILLED):
        return "TRIGGERING"
    if st is SimStatus.FILLED:
        return "FINISHED"
    if st is SimStatus.REJECTED:
        return "REJECTED"
    return "EXPIRED" if o.cancel_type in _EXPIRED_BY else "CANCELED"


def order_row(ctx: SimContext, o: SimOrder) -> dict[str, Any]:
    """A plain order as /fapi/v1/order answers (and lists) it."""
    inst = ctx.market.instruments[o.symbol]
    algo = is_algo(o)
    created = o.updated_ms if algo else o.created_ms  # an actual order exists from its trigger
    otype = "MARKET" if o.order_type is not OrderType.LIMIT else "LIMIT"
    return {
        "orderId": plain_id(o),
        "symbol": o.symbol,
        "status": order_status(o),
        "clientOrderId": client_id(o),
        "price": px(inst, o.price),
        "avgPrice": px(inst, o.avg_price) if o.avg_price is not None else px(inst, ZERO),
        "origQty": qty(inst, o.qty),
        "executedQty": qty(inst, o.cum_exec_qty),
        "cumQty": qty(inst, o.cum_exec_qty),
        "cumQuote": fixed(o.cum_exec_value, 8),
        "timeInForce": _TIF.get(o.time_in_force, o.time_in_force),
        "type": otype,
        "reduceOnly": o.reduce_only,
        "closePosition": False,
        "side": side_word(o.side),
        "positionSide": position_side(o.position_idx),
        "stopPrice": px(inst, o.trigger_price),
        "workingType": working_type(o),
        "priceProtect": False,
        "origType": algo_type(o) if algo else otype,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": created,
        "updateTime": o.updated_ms,
    }


def algo_row(ctx: SimContext, o: SimOrder) -> dict[str, Any]:
    """A conditional order as /fapi/v1/algoOrder answers (and lists) it."""
    inst = ctx.market.instruments[o.symbol]
    triggered = o.status in (SimStatus.TRIGGERED, SimStatus.PARTIALLY_FILLED, SimStatus.FILLED)
    return {
        "algoId": num(o.order_id),
        "clientAlgoId": client_id(o),
        "algoType": "CONDITIONAL",
        "orderType": algo_type(o),
        "symbol": o.symbol,
        "side": side_word(o.side),
        "positionSide": position_side(o.position_idx),
        "timeInForce": "GTC",
        "quantity": qty(inst, o.qty),
        "algoStatus": algo_status(o),
        "actualOrderId": str(plain_id(o)) if triggered else "",
        "actualPrice": px(inst, o.avg_price) if o.avg_price is not None else "",
        "actualType": "MARKET" if triggered else "",
        "actualQty": qty(inst, o.cum_exec_qty) if triggered else "",
        "triggerPrice": px(inst, o.trigger_price),
        "price": px(inst, ZERO),
        "icebergQuantity": None,
        "tpOrderType": "",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": working_type(o),
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": o.reduce_only,
        "activatePrice": "",
        "callbackRate": "",
        "createTime": o.created_ms,
        "updateTime": o.updated_ms,
        "triggerTime": o.updated_ms if triggered else 0,
        "goodTillDate": 0,
    }
