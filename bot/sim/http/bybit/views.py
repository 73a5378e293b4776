"""Account objects (orders, positions, executions, wallet) in Bybit v5 field names and types.

Keys and value types follow the linear-swap replies in ``fixtures/ccxt-bybit``; integer fields
Bybit documents as integers (``positionIdx``, ``triggerDirection``, ``seq``, ...) stay ints.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import OrderType, PositionSide, Side, TriggerBy
from bot.sim.account import pkey
from bot.sim.http.context import SimContext
from bot.sim.http.numbers import amt, dec
from bot.sim.types import ZERO, SimError, SimExecution, SimFunding, SimOrder, SimPosition, SimStatus

SETTLE = "USDT"


def side_word(side: Side) -> str:
    """Bybit's ``Buy``/``Sell``."""
    return "Buy" if side is Side.BUY else "Sell"


def _trigger_by(tb: TriggerBy) -> str:
    return "MarkPrice" if tb is TriggerBy.MARK else "LastPrice"


def order_row(o: SimOrder) -> dict[str, Any]:
    """One order as /v5/order/realtime and /v5/order/history list it."""
    stop = o.order_type is OrderType.STOP_MARKET
    tpsl = o.stop_order_type in ("TakeProfit", "StopLoss")
    is_open = o.is_open
    leaves = o.leaves_qty if is_open else ZERO
    ref_price = o.price if o.price is not None else o.avg_price
    return {
        "symbol": o.symbol,
        "orderType": "Limit" if o.order_type is OrderType.LIMIT else "Market",
        "orderLinkId": o.order_link_id,
        "slLimitPrice": "0",
        "orderId": o.order_id,
        "cancelType": o.cancel_type or "UNKNOWN",
        "avgPrice": amt(o.avg_price) if o.avg_price is not None else "",
        "stopOrderType": o.stop_order_type,
        "lastPriceOnCreated": "",
        "orderStatus": str(o.status),
        "createType": o.create_type,
        "takeProfit": dec(o.take_profit) if o.take_profit is not None else "",
        "cumExecValue": amt(o.cum_exec_value),
        "tpslMode": "Full" if tpsl or o.take_profit or o.stop_loss else "",
        "smpType": "None",
        "triggerDirection": o.trigger_direction,
        "blockTradeId": "",
        "cumFeeDetail": {SETTLE: dec(o.cum_exec_fee)} if o.cum_exec_fee else {},
        "isLeverage": "",
        "rejectReason": o.reject_reason or "EC_NoError",
        "price": amt(ref_price) if ref_price is not None else "0",
        "orderIv": "",
        "createdTime": str(o.created_ms),
        "tpTriggerBy": "",
        "positionIdx": o.position_idx,
        "timeInForce": o.time_in_force,
        "leavesValue": amt(leaves * o.price) if o.price is not None else "0",
        "updatedTime": str(o.updated_ms),
        "side": side_word(o.side),
        "smpGroup": 0,
        "triggerPrice": dec(o.trigger_price) if o.trigger_price is not None else "",
        "tpLimitPrice": "0",
        "cumExecFee": dec(o.cum_exec_fee),
        "slTriggerBy": "",
        "leavesQty": dec(leaves),
        "closeOnTrigger": tpsl,
        "placeType": "",
        "cumExecQty": dec(o.cum_exec_qty),
        "reduceOnly": o.reduce_only,
        "qty": dec(o.qty),
        "stopLoss": dec(o.stop_loss) if o.stop_loss is not None else "",
        "marketUnit": "",
        "smpOrderId": "",
        "triggerBy": _trigger_by(o.trigger_by) if stop else "",
        "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0",
        "extraFees": "",
    }


def trade_mode(ctx: SimContext, symbol: str) -> int:
    """Bybit's position ``tradeMode``: 0 cross margin, 1 isolated."""
    return 1 if ctx.engine.margin_mode_of(symbol) == "ISOLATED_MARGIN" else 0


def _mark(ctx: SimContext, symbol: str, fallback: Decimal) -> Decimal:
    try:
        return ctx.engine.mark_price(symbol)
    except Exception:  # the symbol stopped trading: keep the last known price
        return fallback


def symbol_position_rows(ctx: SimContext, symbol: str) -> list[dict[str, Any]]:
    """/v5/position/list for one symbol: its position (an empty row when flat), or in hedge
    mode one row per side (positionIdx 1 and 2), as Bybit lists them."""
    eng = ctx.engine
    if not eng.is_hedge(symbol):
        return [position_row(ctx, symbol, eng.positions.get(symbol))]
    return [position_row(ctx, symbol, eng.positions.get(pkey(symbol, i)), i) for i in (1, 2)]


def position_row(
    ctx: SimContext, symbol: str, pos: SimPosition | None, idx: int = 0
) -> dict[str, Any]:
    """One /v5/position/list row; a flat side gives Bybit's empty row with its leverage."""
    inst = ctx.market.instruments[symbol]
    now = str(ctx.engine.now_ms)
    if pos is None:
        lev = ctx.engine.leverage(symbol)
        mark = _mark(ctx, symbol, ZERO)
        t0 = inst.tiers[0]
        return {
            "symbol": symbol,
            "leverage": dec(lev),
            "autoAddMargin": 0,
            "avgPrice": "0",
            "liqPrice": "",
            "riskLimitValue": dec(t0.cap),
            "takeProfit": "",
            "positionValue": "",
            "isReduceOnly": False,
            "tpslMode": "Full",
            "riskId": 1,
            "trailingStop": "0",
            "unrealisedPnl": "",
            "markPrice": dec(mark),
            "adlRankIndicator": 0,
            "cumRealisedPnl": "0",
            "positionMM": "0",
            "createdTime": now,
            "positionIdx": idx,
            "positionIM": "0",
            "seq": 0,
            "updatedTime": now,
            "side": "",
            "bustPrice": "",
            "positionBalance": "0",
            "leverageSysUpdatedTime": "",
            "curRealisedPnl": "0",
            "size": "0",
            "positionStatus": "Normal",
            "mmrSysUpdatedTime": "",
            "stopLoss": "",
            "tradeMode": trade_mode(ctx, symbol),
            "sessionAvgPrice": "",
        }
    mark = _mark(ctx, symbol, pos.avg_price)
    value = pos.size * pos.avg_price
    k = next((i for i, t in enumerate(inst.tiers) if value <= t.cap), len(inst.tiers) - 1)
    tier = inst.tiers[k]
    mm = max(pos.size * mark * tier.mmr - tier.mm_deduction, ZERO)
    return {
        "symbol": symbol,
        "leverage": dec(pos.leverage),
        "autoAddMargin": 0,
        "avgPrice": amt(pos.avg_price),
        # "": cannot be reached (cross)
        "liqPrice": dec(ctx.engine.liq_price(pkey(symbol, pos.idx))) or "",
        "riskLimitValue": dec(tier.cap),
        "takeProfit": dec(pos.take_profit) if pos.take_profit is not None else "",
        "positionValue": amt(value),
        "isReduceOnly": False,
        "tpslMode": "Full",
        "riskId": k + 1,
        "trailingStop": "0",
        "unrealisedPnl": amt(pos.unrealised_pnl(mark)),
        "markPrice": dec(mark),
        "adlRankIndicator": 2,
        "cumRealisedPnl": amt(pos.realised_pnl),
        "positionMM": amt(mm),
        "createdTime": str(pos.created_ms),
        "positionIdx": pos.idx,
        "positionIM": amt(pos.margin),
        "seq": pos.updated_ms,
        "updatedTime": str(pos.updated_ms),
        "side": "Buy" if pos.side is PositionSide.LONG else "Sell",
        "bustPrice": dec(pos.bust_price),
        "positionBalance": amt(pos.margin),
        "leverageSysUpdatedTime": "",
        "curRealisedPnl": amt(pos.realised_pnl),
        "size": dec(pos.size),
        "positionStatus": "Normal",
        "mmrSysUpdatedTime": "",
        "stopLoss": dec(pos.stop_loss) if pos.stop_loss is not None else "",
        "tradeMode": trade_mode(ctx, symbol),
        "sessionAvgPrice": "",
    }


def execution_row(ctx: SimContext, e: SimExecution) -> dict[str, Any]:
    """One /v5/execution/list row for a Trade or BustTrade fill."""
    o = ctx.engine.get_order(order_id=e.order_id)
    return {
        "symbol": e.symbol,
        "orderType": ("Limit" if o.order_type is OrderType.LIMIT else "Market") if o else "Market",
        "underlyingPrice": "",
        "orderLinkId": e.order_link_id,
        "orderId": e.order_id,
        "stopOrderType": (o.stop_order_type or "UNKNOWN") if o else "UNKNOWN",
        "execTime": str(e.ts),
        "feeCurrency": "",
        "createType": o.create_type if o else "CreateByUser",
        "feeRate": dec(e.fee_rate),
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": dec(e.mark if e.mark is not None else e.price),
        "execPrice": dec(e.price),
        "markIv": "",
        "orderQty": dec(o.qty) if o else dec(e.qty),
        "orderPrice": dec(o.price) if o and o.price is not None else dec(e.price),
        "execValue": amt(e.value),
        "closedSize": dec(e.closed_size),
        "execType": e.exec_type,
        "seq": e.ts,
        "side": side_word(e.side),
        "indexPrice": "",
        "leavesQty": dec(o.leaves_qty) if o else "0",
        "isMaker": e.is_maker,
        "execFee": dec(e.fee),
        "execId": e.exec_id,
        "marketUnit": "",
        "execQty": dec(e.qty),
    }


def funding_row(f: SimFunding) -> dict[str, Any]:
    """A funding settlement as Bybit lists it (execType Funding; execFee > 0 when paid)."""
    fid = f"funding-{pkey(f.symbol, f.idx)}-{f.ts}"
    return {
        "symbol": f.symbol,
        "orderType": "UNKNOWN",
        "underlyingPrice": "",
        "orderLinkId": "",
        "orderId": fid,
        "stopOrderType": "UNKNOWN",
        "execTime": str(f.ts),
        "feeCurrency": "",
        "createType": "",
        "feeRate": dec(f.rate),
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": dec(f.mark),
        "execPrice": dec(f.mark),
        "markIv": "",
        "orderQty": "0",
        "orderPrice": "0",
        "execValue": amt(f.qty * f.mark),
        "closedSize": "0",
        "execType": "Funding",
        "seq": f.ts,
        "side": "Buy" if f.side is PositionSide.LONG else "Sell",
        "indexPrice": "",
        "leavesQty": "0",
        "isMaker": False,
        "execFee": amt(-f.amount),
        "execId": fid,
        "marketUnit": "",
        "execQty": dec(f.qty),
    }


def wallet(ctx: SimContext) -> dict[str, Any]:
    """The UNIFIED wallet-balance entry (one USDT coin).

    ccxt derives ``free = walletBalance − (locked + totalPositionIM + totalOrderIM)``, so the
    order IM is reported as whatever makes that equal the engine's available margin.
    """
    eng = ctx.engine
    wb = eng.wallet_balance
    pos_im = sum((p.margin for p in eng.positions.values()), ZERO)
    avail = eng.available()
    order_im = max(wb - pos_im - avail, ZERO)
    upnl = eng.unrealised_pnl()
    pos_mm = ZERO
    for p in eng.positions.values():
        mm = position_row(ctx, p.symbol, p)["positionMM"]
        pos_mm += Decimal(mm)
    equity = wb + upnl
    cum = sum((e.closed_pnl - e.fee for e in eng.executions), ZERO) + sum(
        (f.amount for f in eng.funding_payments), ZERO
    )
    coin = {
        "availableToBorrow": "",
        "bonus": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "totalOrderIM": amt(order_im),
        "equity": amt(equity),
        "totalPositionMM": amt(pos_mm),
        "usdValue": amt(equity),
        "unrealisedPnl": amt(upnl),
        "collateralSwitch": True,
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "totalPositionIM": amt(pos_im),
        "walletBalance": amt(wb),
        "cumRealisedPnl": amt(cum),
        "locked": "0",
        "marginCollateral": True,
        "coin": SETTLE,
    }
    coins = [coin, *spot_coin_rows(ctx)]
    spot_usd = sum((Decimal(c["usdValue"]) for c in coins[1:]), ZERO)
    total = equity + spot_usd
    im_rate = (pos_im + order_im) / equity if equity > 0 else ZERO
    mm_rate = pos_mm / equity if equity > 0 else ZERO
    return {
        "totalEquity": amt(total),
        "accountIMRate": dec(round(im_rate, 4)),
        "totalMarginBalance": amt(equity),
        "totalInitialMargin": amt(pos_im + order_im),
        "accountType": "UNIFIED",
        "totalAvailableBalance": amt(avail),
        "accountMMRate": dec(round(mm_rate, 4)),
        "totalPerpUPL": amt(upnl),
        "totalWalletBalance": amt(wb + spot_usd),
        "accountLTV": "0",
        "totalMaintenanceMargin": amt(pos_mm),
        "coin": coins,
    }


def spot_coin_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """The spot coins held (``bot.sim.spot``), valued at their spot price. They are not
    margin collateral in the simulator (``marginCollateral`` false): the USDT row's figures
    are the margin account's."""
    eng = ctx.engine
    if not eng.account.coins:
        return []
    by_base = {s.base: s for s in eng.spot_markets().values()}
    rows = []
    for c, q in sorted(eng.coin_balances().items()):
        spec = by_base[c]
        try:
            usd = q * eng.spot_price(spec.symbol)
        except SimError:
            usd = ZERO
        rows.append(
            {
                "availableToBorrow": "",
                "bonus": "0",
                "accruedInterest": "0",
                "availableToWithdraw": "",
                "totalOrderIM": "0",
                "equity": dec(q),
                "totalPositionMM": "0",
                "usdValue": amt(usd),
                "unrealisedPnl": "0",
                "collateralSwitch": False,
                "spotHedgingQty": "0",
                "borrowAmount": "0",
                "totalPositionIM": "0",
                "walletBalance": dec(q),
                "cumRealisedPnl": "0",
                "locked": "0",
                "marginCollateral": False,
                "coin": c,
            }
        )
    return rows


def is_open_status(o: SimOrder) -> bool:
    """Whether Bybit's order/realtime lists ``o`` without an id filter."""
    return o.status in (
        SimStatus.NEW,
        SimStatus.PARTIALLY_FILLED,
        SimStatus.UNTRIGGERED,
        SimStatus.TRIGGERED,
    )
