"""Bybit v5 wire conventions: the reply envelope, errors, parameters, cursors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.domain import Side
from bot.sim.http.context import ctx_of
from bot.sim.http.numbers import json_response

# Bybit retCodes the simulator answers with (see ccxt bybit ``exceptions['exact']``).
PARAM_ERROR = 10001
RECV_WINDOW = 10002
INVALID_KEY = 10003
BAD_SIGN = 10004
RATE_LIMIT = 10006
SYSTEM_ERROR = 10016
ORDER_NOT_FOUND = 110001
LEVERAGE_NOT_MODIFIED = 110043

MAX_LINK_ID = 36


class BybitError(Exception):
    """A request failed with a Bybit retCode (and the HTTP status Bybit would use)."""

    def __init__(self, ret_code: int, msg: str, http_status: int = 200) -> None:
        super().__init__(f"{ret_code}: {msg}")
        self.ret_code = ret_code
        self.msg = msg
        self.http_status = http_status


def envelope(result: Any, time_ms: int, ret_code: int = 0, msg: str = "OK") -> dict[str, Any]:
    """The reply every v5 endpoint gives."""
    return {
        "retCode": ret_code,
        "retMsg": msg,
        "result": result,
        "retExtInfo": {},
        "time": time_ms,
    }


def cursor_offset(cursor: str | None) -> int:
    """The offset an opaque cursor stands for (10001 when malformed)."""
    if not cursor:
        return 0
    try:
        start = int(cursor)
    except ValueError:
        raise BybitError(PARAM_ERROR, f"cursor invalid: {cursor!r}") from None
    if start < 0:
        raise BybitError(PARAM_ERROR, f"cursor invalid: {cursor!r}")
    return start


def page(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ('' when done); cursors are opaque offsets."""
    start = cursor_offset(cursor)
    chunk = items[start : start + limit]
    nxt = str(start + limit) if start + limit < len(items) else ""
    return chunk, nxt


def int_param(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """An integer query/body parameter (10001 naming it when malformed)."""
    v = params.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except (TypeError, ValueError):
        raise BybitError(
            PARAM_ERROR, f"params error: {name} must be an integer, got {v!r}"
        ) from None


def limit_param(params: dict[str, Any], default: int, maximum: int) -> int:
    """A ``limit`` within [1, maximum]."""
    n = int_param(params, "limit", default)
    assert n is not None
    if n < 1 or n > maximum:
        raise BybitError(PARAM_ERROR, f"params error: limit must be in [1, {maximum}], got {n}")
    return n


def dec_param(params: dict[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    """A decimal-string parameter (Bybit sends numbers as strings)."""
    v = params.get(name)
    if v is None or v == "":
        if required:
            raise BybitError(PARAM_ERROR, f"params error: {name} is required")
        return None
    try:
        d = Decimal(str(v))
    except ArithmeticError:
        raise BybitError(PARAM_ERROR, f"params error: {name} is not a number: {v!r}") from None
    if not d.is_finite():
        raise BybitError(PARAM_ERROR, f"params error: {name} is not finite: {v!r}")
    return d


def bool_param(params: dict[str, Any], name: str) -> bool:
    """A boolean parameter (JSON true/false or the strings "true"/"false")."""
    v = params.get(name)
    if v is None or v == "":
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise BybitError(PARAM_ERROR, f"params error: {name} must be a boolean, got {v!r}")


def ok(request: web.Request, result: Any) -> web.Response:
    """A successful envelope stamped with simulated time."""
    return json_response(envelope(result, ctx_of(request).sim_ms(request.path)))


def side_and_type(p: dict[str, Any]) -> tuple[Side, str]:
    """An order's ``side`` (Buy/Sell) and ``orderType`` (Market/Limit), checked."""
    side = {"Buy": Side.BUY, "Sell": Side.SELL}.get(str(p.get("side")))
    if side is None:
        raise BybitError(
            PARAM_ERROR, f"params error: side must be Buy or Sell, got {p.get('side')!r}"
        )
    otype = str(p.get("orderType"))
    if otype not in ("Market", "Limit"):
        raise BybitError(
            PARAM_ERROR, f"params error: orderType must be Market or Limit, got {otype!r}"
        )
    return side, otype
