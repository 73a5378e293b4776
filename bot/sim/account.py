"""The simulated USDT account: wallet, one-way positions, fills, funding, transfers.

Cash rules (SIM-VENUE.md "Account"; RISK.md "Liquidation price"):
- A fill opening or adding to a position ties up margin ``qty·price/L``; closing part of a
  position releases the same fraction and realises ``s·q·(price − avg)``.
- Fees, funding and transfers are wallet cash; every wallet change is a ``SimTransaction``
  (Bybit's transaction log). ``available = wallet − Σ position margin − order margin`` in
  isolated mode; in cross mode unrealised PnL counts too (``bot.sim.core``).
- Isolated mode: the liquidation price is Bybit's unified-account formula from
  ``bot.risk.liquidation`` with no fee-to-close term, because a sim liquidation charges no fee:
  it closes at the bankruptcy price, so exactly the position margin is lost.
- Cross mode (a new account's default, as on Bybit): the positions share the wallet; the
  account is liquidated when its maintenance-margin rate reaches 100 % (``bot.sim.cross``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.domain import Instrument, PositionSide, Side
from bot.risk.liquidation import bankruptcy_price, liquidation_price
from bot.sim.types import ZERO, SimFunding, SimPosition, SimTransaction

ISOLATED, CROSS = "ISOLATED_MARGIN", "REGULAR_MARGIN"  # Bybit setMarginMode values


def position_prices(
    inst: Instrument, side: PositionSide, entry: Decimal, size: Decimal, leverage: Decimal
) -> tuple[Decimal, Decimal]:
    """(liquidation price, bankruptcy price) of an isolated position, rounded to the tick
    towards the entry (so the position is liquidated no later than the formula says)."""
    lp = liquidation_price("bybit", side, entry, size, leverage, inst.tiers)
    bp = bankruptcy_price(side, entry, leverage)
    rnd = ROUND_CEILING if side is PositionSide.LONG else ROUND_FLOOR
    return inst.round_price(lp, rnd), bp


@dataclass(frozen=True, slots=True)
class FillResult:
    """What a fill did to the position: the size it closed, the PnL of that part (before
    fees), its average entry and the opening fees that part had paid."""

    closed: Decimal
    pnl: Decimal
    entry_price: Decimal
    entry_fee: Decimal


class Account:
    """Wallet and positions; every change goes through a method that logs the transaction."""

    def __init__(self, equity: Decimal) -> None:
        self.wallet_balance = equity
        self.positions: dict[str, SimPosition] = {}
        self.funding_payments: list[SimFunding] = []
        self.transactions: list[SimTransaction] = []
        self.margin_mode = CROSS  # a new Bybit account is cross margin, one-way
        self._n_transfer = 0

    def position_margin(self) -> Decimal:
        return sum((p.margin for p in self.positions.values()), ZERO)

    def opening_qty(self, symbol: str, side: Side, qty: Decimal) -> Decimal:
        """The part of a ``side`` order of ``qty`` that would open or add exposure."""
        pos = self.positions.get(symbol)
        if pos is None or pos.side.entry_side is side:
            return qty
        return max(qty - pos.size, ZERO)

    def _reprice(self, inst: Instrument, pos: SimPosition) -> None:
        pos.margin = pos.size * pos.avg_price / pos.leverage
        pos.liq_price, pos.bust_price = position_prices(
            inst, pos.side, pos.avg_price, pos.size, pos.leverage
        )

    def apply_fill(
        self,
        inst: Instrument,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        leverage: Decimal,
        ts: int,
    ) -> FillResult:
        """Net a fill into the one-way position (fees and realised PnL hit the wallet)."""
        sym = inst.symbol
        self.wallet_balance -= fee
        pos = self.positions.get(sym)
        closed = pnl = entry = entry_fee = ZERO
        rest = qty
        if pos is not None and pos.side.exit_side is side:
            closed = min(qty, pos.size)
            entry = pos.avg_price
            entry_fee = pos.open_fees * closed / pos.size
            pos.open_fees -= entry_fee
            pnl = pos.side.sign * closed * (price - pos.avg_price)
            self.wallet_balance += pnl
            pos.realised_pnl += pnl - fee * closed / qty
            pos.size -= closed
            pos.updated_ms = ts
            rest = qty - closed
            if pos.size == 0:
                del self.positions[sym]
                pos = None
            else:
                self._reprice(inst, pos)
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
            pos.open_fees += open_fee
            pos.realised_pnl -= open_fee
            pos.updated_ms = ts
            self._reprice(inst, pos)
        return FillResult(closed, pnl, entry, entry_fee)

    def set_leverage(self, inst: Instrument, leverage: Decimal, ts: int) -> None:
        """Re-margin an open position at a new leverage (its margin becomes N/L)."""
        pos = self.positions.get(inst.symbol)
        if pos is None:
            return
        pos.leverage = leverage
        self._reprice(inst, pos)
        pos.updated_ms = ts

    def settle_funding(self, symbol: str, ts: int, rate: Decimal, mark: Decimal) -> SimFunding:
        """Pay or receive ``−s·qty·mark·rate`` for the position open at ``ts``."""
        pos = self.positions[symbol]
        amount = -pos.side.sign * pos.size * mark * rate
        self.wallet_balance += amount
        pos.realised_pnl += amount
        rec = SimFunding(symbol, ts, rate, pos.size, pos.side, mark, amount)
        self.funding_payments.append(rec)
        side = "Buy" if pos.side is PositionSide.LONG else "Sell"
        self.log(
            "SETTLEMENT", ts, symbol, side, pos.size, mark, -amount, ZERO,
            f"funding-{symbol}-{ts}", fee_rate=rate,
        )  # fmt: skip
        return rec

    def liquidate(
        self, symbol: str, ts: int, loss: Decimal | None = None
    ) -> tuple[SimPosition, Decimal]:
        """Close a position at its bankruptcy price; return it and the realised PnL: −margin
        (isolated), or −``loss`` (cross: the equity that is left)."""
        pos = self.positions.pop(symbol)
        # At the bankruptcy price the loss is by definition the whole isolated margin (in
        # cross, the whole remaining equity): booked exactly, not through a rounded price.
        pnl = -pos.margin if loss is None else -loss
        self.wallet_balance += pnl
        pos.realised_pnl += pnl
        pos.updated_ms = ts
        return pos, pnl

    def transfer(self, amount: Decimal, ts: int) -> SimTransaction:
        """A deposit (> 0) or withdrawal (< 0) of USDT; a withdrawal is limited to
        ``available`` by the caller."""
        self.wallet_balance += amount
        self._n_transfer += 1
        kind = "TRANSFER_IN" if amount > 0 else "TRANSFER_OUT"
        return self.log(kind, ts, "", "", ZERO, ZERO, ZERO, amount, f"transfer-{self._n_transfer}")

    def log(
        self,
        kind: str,
        ts: int,
        symbol: str,
        side: str,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        cash_flow: Decimal,
        ref_id: str,
        *,
        order_id: str = "",
        order_link_id: str = "",
        fee_rate: Decimal = ZERO,
    ) -> SimTransaction:
        """Record a wallet change that has just been applied (``balance`` = wallet now)."""
        tx = SimTransaction(
            kind, ts, symbol, side, qty, price, fee, cash_flow, cash_flow - fee,
            self.wallet_balance, ref_id, order_id, order_link_id, fee_rate,
        )  # fmt: skip
        self.transactions.append(tx)
        return tx
