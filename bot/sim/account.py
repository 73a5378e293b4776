"""The simulated USDT account: wallet, isolated one-way positions, fills and funding.

Cash rules (SIM-VENUE.md "Account"; RISK.md "Liquidation price"):
- A fill opening or adding to a position locks isolated margin ``qty·price/L``; closing part of
  a position releases the same fraction of its margin and realises ``s·q·(price − avg)``.
- Fees and funding are wallet cash. ``available = wallet − Σ position margin − order margin``;
  unrealised PnL of an isolated position stays inside its margin until liquidation.
- The liquidation price is Bybit's unified-account formula from ``bot.risk.liquidation`` with
  no fee-to-close term, because a sim liquidation charges no fee: it closes at the bankruptcy
  price, so exactly the isolated margin is lost.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.domain import Instrument, PositionSide, Side
from bot.risk.liquidation import bankruptcy_price, liquidation_price
from bot.sim.types import ZERO, SimFunding, SimPosition


def position_prices(
    inst: Instrument, side: PositionSide, entry: Decimal, size: Decimal, leverage: Decimal
) -> tuple[Decimal, Decimal]:
    """(liquidation price, bankruptcy price) of an isolated position, rounded to the tick
    towards the entry (so the position is liquidated no later than the formula says)."""
    lp = liquidation_price("bybit", side, entry, size, leverage, inst.tiers)
    bp = bankruptcy_price(side, entry, leverage)
    rnd = ROUND_CEILING if side is PositionSide.LONG else ROUND_FLOOR
    return inst.round_price(lp, rnd), bp


class Account:
    """Wallet and positions; every change goes through ``apply_fill`` or ``settle_funding``."""

    def __init__(self, equity: Decimal) -> None:
        self.wallet_balance = equity
        self.positions: dict[str, SimPosition] = {}
        self.funding_payments: list[SimFunding] = []

    def position_margin(self) -> Decimal:
        return sum((p.margin for p in self.positions.values()), ZERO)

    def opening_qty(self, symbol: str, side: Side, qty: Decimal) -> Decimal:
        """The part of a ``side`` order of ``qty`` that would open or add exposure."""
        pos = self.positions.get(symbol)
        if pos is None or pos.side.entry_side is side:
            return qty
        return max(qty - pos.size, ZERO)

    def apply_fill(
        self,
        inst: Instrument,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        leverage: Decimal,
        ts: int,
    ) -> tuple[Decimal, Decimal]:
        """Net a fill into the one-way position; return (closed size, closed PnL before fee)."""
        sym = inst.symbol
        self.wallet_balance -= fee
        pos = self.positions.get(sym)
        closed = ZERO
        pnl = ZERO
        rest = qty
        if pos is not None and pos.side.exit_side is side:
            closed = min(qty, pos.size)
            pnl = pos.side.sign * closed * (price - pos.avg_price)
            self.wallet_balance += pnl
            pos.realised_pnl += pnl - fee * closed / qty
            pos.size -= closed
            pos.margin = pos.size * pos.avg_price / pos.leverage
            pos.updated_ms = ts
            rest = qty - closed
            if pos.size == 0:
                del self.positions[sym]
                pos = None
            else:
                pos.liq_price, pos.bust_price = position_prices(
                    inst, pos.side, pos.avg_price, pos.size, pos.leverage
                )
        if rest > 0:
            open_fee = fee * rest / qty
            if pos is None:
                pside = PositionSide.LONG if side is Side.BUY else PositionSide.SHORT
                pos = SimPosition(
                    symbol=sym,
                    side=pside,
                    size=ZERO,
                    avg_price=price,
                    leverage=leverage,
                    liq_price=ZERO,
                    bust_price=ZERO,
                    margin=ZERO,
                    realised_pnl=ZERO,
                    created_ms=ts,
                    updated_ms=ts,
                )
                self.positions[sym] = pos
            new_size = pos.size + rest
            pos.avg_price = (pos.size * pos.avg_price + rest * price) / new_size
            pos.size = new_size
            pos.margin = pos.size * pos.avg_price / pos.leverage
            pos.realised_pnl -= open_fee
            pos.updated_ms = ts
            pos.liq_price, pos.bust_price = position_prices(
                inst, pos.side, pos.avg_price, pos.size, pos.leverage
            )
        return closed, pnl

    def set_leverage(self, inst: Instrument, leverage: Decimal, ts: int) -> None:
        """Re-margin an open position at a new leverage (its margin becomes N/L)."""
        pos = self.positions.get(inst.symbol)
        if pos is None:
            return
        pos.leverage = leverage
        pos.margin = pos.size * pos.avg_price / leverage
        pos.liq_price, pos.bust_price = position_prices(
            inst, pos.side, pos.avg_price, pos.size, leverage
        )
        pos.updated_ms = ts

    def settle_funding(self, symbol: str, ts: int, rate: Decimal, mark: Decimal) -> SimFunding:
        """Pay or receive ``−s·qty·mark·rate`` for the position open at ``ts``."""
        pos = self.positions[symbol]
        amount = -pos.side.sign * pos.size * mark * rate
        self.wallet_balance += amount
        pos.realised_pnl += amount
        rec = SimFunding(symbol, ts, rate, pos.size, pos.side, mark, amount)
        self.funding_payments.append(rec)
        return rec

    def liquidate(self, symbol: str, ts: int) -> tuple[SimPosition, Decimal]:
        """Close a position at its bankruptcy price; return it and the realised PnL (−margin)."""
        pos = self.positions.pop(symbol)
        # At the bankruptcy price the loss is by definition the whole isolated margin.
        pnl = -pos.margin
        self.wallet_balance += pnl
        pos.realised_pnl += pnl
        pos.updated_ms = ts
        return pos, pnl
