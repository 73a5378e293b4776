"""The account in Binance USDⓈ-M's shapes: positions, the account and balance, trades and
income.

Income splits each wallet change as Binance reports it: a fill's realised PnL (REALIZED_PNL)
and fee (COMMISSION), funding (FUNDING_FEE), transfers (TRANSFER), and a liquidation's loss
beyond the realised PnL at the liquidation mark (INSURANCE_CLEAR). A liquidation's trade shows
that mark.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import PositionSide, Side
from bot.sim.account import pkey
from bot.sim.http.binance.views import plain_id, position_side, side_word
from bot.sim.http.binance.wire import amount, fixed, num, px, qty
from bot.sim.http.context import SimContext
from bot.sim.types import ZERO, SimExecution, SimPosition, SimTransaction

ASSET = "USDT"
# The account's total of each asset figure (availableBalance, maxWithdrawAmount: the same).
_TOTALS = {
    "walletBalance": "totalWalletBalance",
    "unrealizedProfit": "totalUnrealizedProfit",
    "marginBalance": "totalMarginBalance",
    "maintMargin": "totalMaintMargin",
    "initialMargin": "totalInitialMargin",
    "positionInitialMargin": "totalPositionInitialMargin",
    "openOrderInitialMargin": "totalOpenOrderInitialMargin",
    "crossWalletBalance": "totalCrossWalletBalance",
    "crossUnPnl": "totalCrossUnPnl",
}


def _mark(ctx: SimContext, symbol: str, fallback: Decimal) -> Decimal:
    try:
        return ctx.engine.mark_price(symbol)
    except Exception:  # the symbol stopped trading: keep the last known price
        return fallback


def _maint(ctx: SimContext, pos: SimPosition, mark: Decimal) -> Decimal:
    tier = ctx.market.instruments[pos.symbol].tier_for_notional(pos.size * mark)
    return max(pos.size * mark * tier.mmr - tier.mm_deduction, ZERO)


def position_row(
    ctx: SimContext, symbol: str, pos: SimPosition | None, idx: int = 0
) -> dict[str, Any]:
    """A /fapi/v3/positionRisk row (a flat row for a symbol with open orders only)."""
    inst = ctx.market.instruments[symbol]
    eng = ctx.engine
    if pos is None:
        mark = _mark(ctx, symbol, ZERO)
        z = amount(ZERO)
        return {
            "symbol": symbol,
            "positionSide": position_side(idx),
            "positionAmt": qty(inst, ZERO),
            "entryPrice": "0.0",
            "breakEvenPrice": "0.0",
            "markPrice": fixed(mark, 8),
            "unRealizedProfit": z,
            "liquidationPrice": "0",
            "isolatedMargin": z,
            "notional": "0",
            "marginAsset": ASSET,
            "isolatedWallet": z,
            "initialMargin": z,
            "maintMargin": z,
            "positionInitialMargin": z,
            "openOrderInitialMargin": z,
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": 0,
        }
    mark = _mark(ctx, symbol, pos.avg_price)
    sign = pos.side.sign
    upnl = pos.unrealised_pnl(mark)
    isolated = not eng.account.is_cross(pos)
    wallet = pos.margin if isolated else ZERO
    be = pos.avg_price * (1 + sign * eng.fee_taker) if pos.size else pos.avg_price
    im = pos.size * mark / pos.leverage
    return {
        "symbol": symbol,
        "positionSide": position_side(pos.idx),
        "positionAmt": qty(inst, sign * pos.size),
        "entryPrice": fixed(pos.avg_price, 8),
        "breakEvenPrice": fixed(be, 8),
        "markPrice": fixed(mark, 8),
        "unRealizedProfit": amount(upnl),
        "liquidationPrice": fixed(eng.liq_price(pkey(symbol, pos.idx)), 8),
        "isolatedMargin": amount(wallet + upnl if isolated else ZERO),
        "notional": amount(sign * pos.size * mark),
        "marginAsset": ASSET,
        "isolatedWallet": amount(wallet),
        "initialMargin": amount(im),
        "maintMargin": amount(_maint(ctx, pos, mark)),
        "positionInitialMargin": amount(im),
        "openOrderInitialMargin": amount(ZERO),
        "adl": 2,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": pos.updated_ms,
    }


def position_rows(ctx: SimContext, symbol: str | None = None) -> list[dict[str, Any]]:
    """positionRisk v3: the symbols with a position or open orders (one row per position
    side in hedge mode; a flat row for a symbol with orders only)."""
    eng = ctx.engine
    syms = {p.symbol for p in eng.positions.values()} | {o.symbol for o in eng.open_orders()}
    rows: list[dict[str, Any]] = []
    for sym in sorted(syms):
        if symbol is not None and sym != symbol:
            continue
        held = eng.account.of_symbol(sym)
        if held:
            rows.extend(position_row(ctx, sym, p) for p in sorted(held, key=lambda p: p.idx))
        else:
            rows.append(position_row(ctx, sym, None, 1 if eng.is_hedge(sym) else 0))
    return rows


def account(ctx: SimContext, *, v3: bool = True) -> dict[str, Any]:
    """/fapi/v3/account (``v3`` False: /fapi/v2/account, with the per-asset flags)."""
    eng = ctx.engine
    wallet = eng.wallet_balance
    upnl = eng.unrealised_pnl()
    cross_upnl = eng.unrealised_pnl(cross_only=True)
    iso = eng.account.isolated_margin()
    pos_im = ZERO
    mm = ZERO
    for p in eng.positions.values():
        mark = _mark(ctx, p.symbol, p.avg_price)
        pos_im += p.size * mark / p.leverage
        mm += _maint(ctx, p, mark)
    order_im = eng.order_margin()
    avail = max(eng.available(), ZERO)
    stamp = max([eng.now_ms] + [t.ts for t in eng.account.transactions[-1:]])
    values = {
        "walletBalance": amount(wallet),
        "unrealizedProfit": amount(upnl),
        "marginBalance": amount(wallet + upnl),
        "maintMargin": amount(mm),
        "initialMargin": amount(pos_im + order_im),
        "positionInitialMargin": amount(pos_im),
        "openOrderInitialMargin": amount(order_im),
        "crossWalletBalance": amount(wallet - iso),
        "crossUnPnl": amount(cross_upnl),
        "availableBalance": amount(avail),
        "maxWithdrawAmount": amount(min(avail, wallet - iso)),
    }
    asset = {"asset": ASSET, **values, "marginAvailable": True, "updateTime": stamp}
    keep = (
        "symbol",
        "positionSide",
        "positionAmt",
        "isolatedMargin",
        "notional",
        "isolatedWallet",
        "initialMargin",
        "maintMargin",
        "updateTime",
    )
    positions = [
        {**{k: row[k] for k in keep}, "unrealizedProfit": row["unRealizedProfit"]}
        for row in position_rows(ctx)
    ]
    # The account's totals are its one asset's (USDT) figures.
    out: dict[str, Any] = {_TOTALS.get(k, k): v for k, v in values.items()}
    out |= {"assets": [asset], "positions": positions}
    if not v3:
        out = {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            **out,
        }
    return out


def balance_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """/fapi/v2/balance and /fapi/v3/balance: one USDT row."""
    a = account(ctx)["assets"][0]
    return [
        {
            "accountAlias": "SgsR",
            "asset": ASSET,
            "balance": a["walletBalance"],
            "crossWalletBalance": a["crossWalletBalance"],
            "crossUnPnl": a["crossUnPnl"],
            "availableBalance": a["availableBalance"],
            "maxWithdrawAmount": a["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": a["updateTime"],
        }
    ]


def _liq_split(e: SimExecution) -> Decimal:
    """The realised PnL of a liquidation fill at the mark that triggered it (the rest of its
    loss is the insurance clearance)."""
    side = PositionSide.LONG if e.side is Side.SELL else PositionSide.SHORT
    mark = e.mark if e.mark is not None else e.price
    return side.sign * e.qty * (mark - e.entry_price)


def trade_row(ctx: SimContext, e: SimExecution) -> dict[str, Any]:
    """A /fapi/v1/userTrades row (a liquidation fill at the mark that triggered it)."""
    inst = ctx.market.instruments[e.symbol]
    o = ctx.engine.get_order(order_id=e.order_id)
    price, pnl = e.price, e.closed_pnl
    if e.exec_type == "BustTrade" and e.mark is not None:
        price, pnl = e.mark, _liq_split(e)
    return {
        "symbol": e.symbol,
        "id": num(e.exec_id),
        "orderId": plain_id(o) if o is not None else num(e.order_id),
        "side": side_word(e.side),
        "price": px(inst, price),
        "qty": qty(inst, e.qty),
        "realizedPnl": amount(pnl),
        "marginAsset": ASSET,
        "quoteQty": fixed(e.qty * price, 8),
        "commission": amount(e.fee),
        "commissionAsset": ASSET,
        "time": e.ts,
        "positionSide": position_side(o.position_idx if o is not None else 0),
        "maker": e.is_maker,
        "buyer": e.side is Side.BUY,
    }


def income_rows(ctx: SimContext, txs: list[SimTransaction]) -> list[dict[str, Any]]:
    """/fapi/v1/income rows, oldest first, one per Binance income item of each wallet change
    (``tranId`` numbers them; the trade ones carry the trade id)."""
    execs = {e.exec_id: e for e in ctx.engine.executions}
    out: list[dict[str, Any]] = []

    def add(n: int, kind: str, t: SimTransaction, value: Decimal, trade: str = "") -> None:
        if value == 0 and kind not in ("TRANSFER", "FUNDING_FEE"):
            return
        out.append(
            {
                "symbol": t.symbol,
                "incomeType": kind,
                "income": amount(value),
                "asset": ASSET,
                "info": kind if kind in ("FUNDING_FEE", "TRANSFER") else "",
                "time": t.ts,
                "tranId": n,
                "tradeId": trade,
            }
        )

    for i, t in enumerate(txs):
        n = 2 * i + 1  # two ids per change: PnL and its fee
        if t.kind == "SETTLEMENT":  # the account books funding paid as a fee
            add(n, "FUNDING_FEE", t, -t.fee)
        elif t.kind in ("TRANSFER_IN", "TRANSFER_OUT"):
            add(n, "TRANSFER", t, t.cash_flow)
        elif t.kind == "LIQUIDATION":
            e = execs.get(t.ref_id)
            realised = _liq_split(e) if e is not None else t.cash_flow
            trade = str(num(t.ref_id)) if e is not None else ""
            add(n, "REALIZED_PNL", t, realised, trade)
            add(n + 1, "INSURANCE_CLEAR", t, t.cash_flow - realised, trade)
        else:  # TRADE, DELIVERY
            trade = str(num(t.ref_id)) if t.ref_id in execs else ""
            add(n, "REALIZED_PNL", t, t.cash_flow, trade)
            add(n + 1, "COMMISSION", t, -t.fee, trade)
    return out
