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
- Cross mode (a new account's default on both venues): the cross positions share the wallet
  less the isolated positions' margin; they are liquidated together when the cross
  maintenance-margin rate reaches 100 % (``bot.sim.cross``).
- Margin mode is per symbol (Binance's ``marginType``), with an account default that Bybit's
  account-wide ``set-margin-mode`` sets for every symbol at once.
- Position mode: one-way (one position per symbol, ``positionIdx`` 0) or hedge (a long,
  ``positionIdx`` 1, and a short, 2, side by side). Positions are keyed by ``pkey``: the symbol
  in one-way mode, so one-way code reads ``positions[symbol]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from bot.domain import Instrument, PositionSide, Side
from bot.risk.liquidation import bankruptcy_price, liquidation_price
from bot.sim.types import ZERO, SimFunding, SimPosition, SimTransaction

ISOLATED, CROSS = "ISOLATED_MARGIN", "REGULAR_MARGIN"  # Bybit setMarginMode values
LONG_IDX, SHORT_IDX = 1, 2  # hedge-mode position indexes (Bybit positionIdx)


def pkey(symbol: str, idx: int = 0) -> str:
    """A position's key: the symbol (one-way), ``symbol#1`` (hedge long), ``symbol#2`` (short)."""
    return symbol if idx == 0 else f"{symbol}#{idx}"


def hedge_idx(side: PositionSide) -> int:
    """The hedge-mode position index of a position side."""
    return LONG_IDX if side is PositionSide.LONG else SHORT_IDX


def position_prices(
    inst: Instrument,
    side: PositionSide,
    entry: Decimal,
    size: Decimal,
    leverage: Decimal,
    formula: Literal["bybit", "binance"] = "bybit",
) -> tuple[Decimal, Decimal]:
    """(liquidation price, bankruptcy price) of an isolated position by the venue's formula,
    rounded to the tick towards the entry (liquidated no later than the formula says)."""
    lp = liquidation_price(formula, side, entry, size, leverage, inst.tiers)
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
    """Wallet and positions; every change goes through a method that logs the transaction.

    ``revision`` counts the changes of the account's state (fills, funding, liquidations,
    transfers, leverage, modes; the order book's changes are counted here too, by
    ``bot.sim.entry`` and ``bot.sim.fills``): an unchanged number means nothing but the marks
    moved (what ``bot.sim.venue.SimVenue.account_mark`` tells reconciliation)."""

    def __init__(self, equity: Decimal, liquidation: Literal["bybit", "binance"] = "bybit") -> None:
        self.wallet_balance = equity
        self.coins: dict[str, Decimal] = {}  # spot coin balances (bot.sim.spot)
        self.spot_usdt = ZERO  # a separate spot wallet's USDT (VenueRules.unified_spot False)
        self.positions: dict[str, SimPosition] = {}  # by ``pkey``
        self.funding_payments: list[SimFunding] = []
        self.transactions: list[SimTransaction] = []
        self.margin_mode = CROSS  # the default of every symbol: a new account is cross
        self.symbol_modes: dict[str, str] = {}  # per-symbol margin modes (Binance marginType)
        self.hedge_default = False  # a new account is one-way
        self.hedge_symbols: dict[str, bool] = {}  # per-symbol position modes (Bybit)
        self.liquidation: Literal["bybit", "binance"] = liquidation
        self._n_transfer = 0
        self.revision = 0

    # --- modes ---

    def mode_of(self, symbol: str) -> str:
        """The symbol's margin mode (``ISOLATED_MARGIN`` or ``REGULAR_MARGIN``)."""
        return self.symbol_modes.get(symbol, self.margin_mode)

    def is_cross(self, pos: SimPosition) -> bool:
        return self.symbol_modes.get(pos.symbol, self.margin_mode) == CROSS

    def any_cross(self) -> bool:
        """Whether some open position is in cross margin."""
        return any(self.is_cross(p) for p in self.positions.values())

    def is_hedge(self, symbol: str) -> bool:
        """Whether the symbol is in hedge (two-sided) position mode."""
        return self.hedge_symbols.get(symbol, self.hedge_default)

    def of_symbol(self, symbol: str) -> list[SimPosition]:
        """The symbol's open positions (one in one-way mode, up to two in hedge mode)."""
        pos = self.positions.get(symbol)
        if pos is not None:
            return [pos]
        if not self.is_hedge(symbol):
            return []
        return [p for i in (LONG_IDX, SHORT_IDX) if (p := self.positions.get(pkey(symbol, i)))]

    def isolated_margin(self) -> Decimal:
        """Σ margin of the isolated positions (walled off from the cross positions)."""
        return sum((p.margin for p in self.positions.values() if not self.is_cross(p)), ZERO)

    def position_margin(self) -> Decimal:
        return sum((p.margin for p in self.positions.values()), ZERO)

    def opening_qty(self, symbol: str, side: Side, qty: Decimal, idx: int = 0) -> Decimal:
        """The part of a ``side`` order of ``qty`` that would open or add exposure."""
        pos = self.positions.get(pkey(symbol, idx))
        if pos is None or pos.side.entry_side is side:
            return qty
        return max(qty - pos.size, ZERO)

    def _reprice(self, inst: Instrument, pos: SimPosition) -> None:
        pos.margin = pos.size * pos.avg_price / pos.leverage
        pos.liq_price, pos.bust_price = position_prices(
            inst, pos.side, pos.avg_price, pos.size, pos.leverage, self.liquidation
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
        idx: int = 0,
    ) -> FillResult:
        """Net a fill into the position ``idx`` of the symbol (0 one-way; hedge 1 long, 2
        short: the order's checks keep a hedge fill from passing through zero); fees and
        realised PnL hit the wallet."""
        sym = inst.symbol
        key = pkey(sym, idx)
        self.revision += 1
        self.wallet_balance -= fee
        pos = self.positions.get(key)
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
                del self.positions[key]
                pos = None
            else:
                self._reprice(inst, pos)
        if rest > 0:
            open_fee = fee * rest / qty
            if pos is None:
                pside = PositionSide.LONG if side is Side.BUY else PositionSide.SHORT
                pos = SimPosition(
                    symbol=sym,
                    idx=idx,
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
                self.positions[key] = pos
            new_size = pos.size + rest
            pos.avg_price = (pos.size * pos.avg_price + rest * price) / new_size
            pos.size = new_size
            pos.open_fees += open_fee
            pos.realised_pnl -= open_fee
            pos.updated_ms = ts
            self._reprice(inst, pos)
        return FillResult(closed, pnl, entry, entry_fee)

    def set_leverage(self, inst: Instrument, leverage: Decimal, ts: int) -> None:
        """Re-margin the symbol's open positions at a new leverage (margin becomes N/L)."""
        self.revision += 1
        for pos in self.of_symbol(inst.symbol):
            pos.leverage = leverage
            self._reprice(inst, pos)
            pos.updated_ms = ts

    def settle_funding(self, key: str, ts: int, rate: Decimal, mark: Decimal) -> SimFunding:
        """Pay or receive ``−s·qty·mark·rate`` for the position ``key`` open at ``ts``."""
        pos = self.positions[key]
        symbol = pos.symbol
        self.revision += 1
        amount = -pos.side.sign * pos.size * mark * rate
        self.wallet_balance += amount
        pos.realised_pnl += amount
        rec = SimFunding(symbol, ts, rate, pos.size, pos.side, mark, amount, pos.idx)
        self.funding_payments.append(rec)
        side = "Buy" if pos.side is PositionSide.LONG else "Sell"
        self.log(
            "SETTLEMENT", ts, symbol, side, pos.size, mark, -amount, ZERO,
            f"funding-{key}-{ts}", fee_rate=rate,
        )  # fmt: skip
        return rec

    def liquidate(
        self, key: str, ts: int, loss: Decimal | None = None
    ) -> tuple[SimPosition, Decimal]:
        """Close a position at its bankruptcy price; return it and the realised PnL: −margin
        (isolated), or −``loss`` (cross: the cross equity that is left)."""
        self.revision += 1
        pos = self.positions.pop(key)
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
        self.revision += 1
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
