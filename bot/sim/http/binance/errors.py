"""Binance USDⓈ-M refusals: ``{"code": <negative int>, "msg": ...}`` with Binance's HTTP status.

The engine refuses with Bybit's codes (``bot.sim.types.SimError``) and names the rule in
``reason`` where one Bybit code covers several Binance codes; ``from_sim`` is the one table
from those to Binance's codes, so every face runs the same checks and each answers in its
venue's words.
"""

from __future__ import annotations

from bot.sim.types import SimError

# Codes the face answers with (Binance's names in comments).
UNKNOWN = -1000  # UNKNOWN
DISCONNECTED = -1001  # Internal error; unable to process your request
TOO_MANY_REQUESTS = -1003
TOO_MANY_ORDERS = -1015
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
MANDATORY_PARAM = -1102
UNKNOWN_PARAM = -1104  # not all sent parameters were read
PARAM_NOT_REQUIRED = -1106
BAD_PRECISION = -1111
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
BAD_SYMBOL = -1121
INVALID_INTERVAL = -1120
LOOKUP_INTERVAL_TOO_BIG = -1127
INVALID_PARAMETER = -1130
BAD_RECV_WINDOW = -1131
CANCEL_REJECTED = -2011  # Unknown order sent.
NO_SUCH_ORDER = -2013  # Order does not exist.
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015
MARGIN_NOT_SUFFICIENT = -2019
ORDER_WOULD_TRIGGER = -2021
REDUCE_ONLY_REJECT = -2022
MAX_LEVERAGE_RATIO = -2027
PRICE_LESS_THAN_ZERO = -4001
QTY_LESS_THAN_ZERO = -4003
QTY_LESS_THAN_MIN = -4004
QTY_GREATER_THAN_MAX = -4005
PRICE_NOT_BY_TICK = -4014
QTY_NOT_BY_STEP = -4023
INVALID_LEVERAGE = -4028
NO_NEED_MARGIN_TYPE = -4046
MARGIN_TYPE_OPEN_ORDERS = -4047
MARGIN_TYPE_POSITION = -4048
NO_NEED_POSITION_SIDE = -4059
POSITION_SIDE_MISMATCH = -4061
POSITION_SIDE_OPEN_ORDERS = -4067
POSITION_SIDE_POSITION = -4068
DUPLICATED_CLIENT_ID = -4116
INVALID_SYMBOL_STATUS = -4140
MIN_NOTIONAL = -4164
FOK_REJECTED = -5021
GTX_REJECTED = -5022

# HTTP statuses: Binance answers a refused request with 400, a refused key with 401.
_STATUS = {BAD_API_KEY_FMT: 401, REJECTED_MBX_KEY: 401, DISCONNECTED: 500}


class BinanceError(Exception):
    """A request refused with a Binance error code (and the HTTP status Binance uses)."""

    def __init__(self, code: int, msg: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status if status is not None else _STATUS.get(code, 400)


def mandatory(name: str) -> BinanceError:
    """-1102 naming the parameter, as Binance words it."""
    return BinanceError(
        MANDATORY_PARAM,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def invalid(name: str, detail: str = "") -> BinanceError:
    """-1130 naming the parameter (and what was wrong with it)."""
    more = f" ({detail})" if detail else ""
    return BinanceError(INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.{more}")


# Engine reasons (``SimError.reason``) with a Binance code of their own.
_BY_REASON: dict[str, int] = {
    "qty_le_zero": QTY_LESS_THAN_ZERO,
    "qty_step": QTY_NOT_BY_STEP,
    "min_qty": QTY_LESS_THAN_MIN,
    "max_qty": QTY_GREATER_THAN_MAX,
    "price_le_zero": PRICE_LESS_THAN_ZERO,
    "tick": PRICE_NOT_BY_TICK,
    "link_id": ILLEGAL_CHARS,
    "time_in_force": INVALID_TIF,
    "position_idx": POSITION_SIDE_MISMATCH,
    "post_only_rejected": GTX_REJECTED,
    "fok_rejected": FOK_REJECTED,
    "position_exists": MARGIN_TYPE_POSITION,
    "orders_exist": MARGIN_TYPE_OPEN_ORDERS,
    "unchanged": -5027,
}
# Engine codes (Bybit retCodes) → Binance codes and the message Binance sends.
_BY_CODE: dict[int, tuple[int, str | None]] = {
    SimError.INSUFFICIENT_BALANCE: (MARGIN_NOT_SUFFICIENT, "Margin is insufficient."),
    SimError.DUPLICATE_LINK_ID: (DUPLICATED_CLIENT_ID, "ClientOrderId is duplicated."),
    SimError.REDUCE_ONLY: (REDUCE_ONLY_REJECT, "ReduceOnly Order is rejected."),
    SimError.MIN_NOTIONAL: (MIN_NOTIONAL, None),
    SimError.ORDER_NOT_FOUND: (CANCEL_REJECTED, "Unknown order sent."),
    SimError.TRIGGER_RISING: (ORDER_WOULD_TRIGGER, "Order would immediately trigger."),
    SimError.TRIGGER_FALLING: (ORDER_WOULD_TRIGGER, "Order would immediately trigger."),
    SimError.RISK_LIMIT: (
        MAX_LEVERAGE_RATIO,
        "Exceeded the maximum allowable position at current leverage.",
    ),
    SimError.LEVERAGE_INVALID: (INVALID_LEVERAGE, None),
    SimError.MARGIN_MODE_NOT_MODIFIED: (NO_NEED_MARGIN_TYPE, "No need to change margin type."),
    SimError.POSITION_MODE_NOT_MODIFIED: (
        NO_NEED_POSITION_SIDE,
        "No need to change position side.",
    ),
    SimError.POSITION_EXISTS: (
        POSITION_SIDE_POSITION,
        "Position side cannot be changed if there exists position.",
    ),
    SimError.ORDERS_EXIST: (
        POSITION_SIDE_OPEN_ORDERS,
        "Position side cannot be changed if there exists open orders.",
    ),
    SimError.REDUCE_ONLY_STATUS: (INVALID_SYMBOL_STATUS, "Invalid symbol status for opening."),
    SimError.NOT_TRADING: (INVALID_SYMBOL_STATUS, "Invalid symbol status for opening."),
    SimError.SETTLING: (INVALID_SYMBOL_STATUS, "Invalid symbol status for opening."),
}


def from_sim(exc: SimError) -> BinanceError:
    """The Binance refusal for an engine refusal (by reason first, then by code)."""
    code = _BY_REASON.get(exc.reason)
    if code is not None:
        return BinanceError(code, exc.msg)
    mapped = _BY_CODE.get(exc.code)
    if mapped is not None:
        bcode, msg = mapped
        if bcode == MIN_NOTIONAL:
            msg = f"Order's notional must be no smaller than the minimum ({exc.msg})"
        return BinanceError(bcode, msg or exc.msg)
    return BinanceError(INVALID_PARAMETER, exc.msg)
