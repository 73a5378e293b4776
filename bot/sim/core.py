"""What every engine shares, whatever moves its prices: the account, its orders and modes.

``EngineCore`` is the fill model (SIM-VENUE.md "Matching engine"): order entry
(``bot.sim.entry``), the path walk (``bot.sim.path``) and the account (``bot.sim.account``).
A price source supplies ``now_ms``, ``price_float``/``mark_price`` and ``instruments``:
``bot.sim.engine.SimEngine`` replays a ``SimMarket`` (backtest, replay, the HTTP face) and
``bot.sim.live.LiveEngine`` follows polled tickers (paper trading). The same order on the same
prices therefore gets the same answer on every path.

Account modes, as on Bybit: a new account is cross margin (``REGULAR_MARGIN``) and one-way;
``set_margin_mode`` switches to ``ISOLATED_MARGIN`` (or back) only without positions and open
orders (110073 otherwise). Leverage defaults to 10x (capped by the tiers); the tier of the
resulting notional must allow it (110090).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from bot.domain import Instrument, OrderType, PositionSide
from bot.sim.account import CROSS, ISOLATED, Account, position_prices
from bot.sim.path import PathWalker
from bot.sim.types import ZERO, SimError, SimExecution, SimFunding, SimOrder, SimPosition

DEFAULT_LEVERAGE = Decimal(10)
MARGIN_MODES = (ISOLATED, CROSS)
ONE_WAY, HEDGE = 0, 3  # Bybit switch-mode values


class EngineCore(PathWalker):
    """One simulated Bybit-like account; a subclass supplies the prices and the clock."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        *,
        equity: Decimal,
        fee_taker: Decimal,
        fee_maker: Decimal,
        slippage: Decimal,
        half_spread: Decimal,
        partial_fills: bool,
        participation: Decimal,
        margin_mode: str = CROSS,
    ) -> None:
        if margin_mode not in MARGIN_MODES:
            raise ValueError(f"margin_mode: one of {MARGIN_MODES} (got {margin_mode!r})")
        self.instruments = instruments
        self.fee_taker = fee_taker
        self.fee_maker = fee_maker
        self.slippage = slippage
        self.half_spread = half_spread
        self.partial_fills = partial_fills
        self.participation = participation
        self.account = Account(equity)
        self.account.margin_mode = margin_mode
        self.orders: list[SimOrder] = []
        self.executions: list[SimExecution] = []
        self._by_id: dict[str, SimOrder] = {}
        self._by_link: dict[str, SimOrder] = {}
        self._open: dict[str, list[SimOrder]] = {}
        self._lev: dict[str, Decimal] = {}
        self._event_ms = 0
        self._event_mark = ZERO  # the mark at the event being processed (see _fill)
        self._n_exec = 0
        self._watch: dict[str, tuple[float, float]] = {}  # see PathWalker._levels

    # --- account views ---

    @property
    def positions(self) -> dict[str, SimPosition]:
        return self.account.positions

    @property
    def funding_payments(self) -> list[SimFunding]:
        return self.account.funding_payments

    @property
    def wallet_balance(self) -> Decimal:
        return self.account.wallet_balance

    @property
    def margin_mode(self) -> str:
        """Bybit's ``ISOLATED_MARGIN`` or ``REGULAR_MARGIN`` (cross)."""
        return self.account.margin_mode

    def unrealised_pnl(self) -> Decimal:
        """Σ unrealised PnL of the positions at the current marks."""
        upnl = ZERO
        for sym, pos in self.positions.items():
            upnl += pos.unrealised_pnl(Decimal(repr(self.price_float(sym))))
        return upnl

    def equity(self) -> Decimal:
        """Wallet balance plus unrealised PnL at the current mark."""
        return self.wallet_balance + self.unrealised_pnl()

    def order_margin(self) -> Decimal:
        """Margin reserved by resting limit orders for the exposure they would open."""
        total = ZERO
        for orders in self._open.values():
            for o in orders:
                if o.order_type is OrderType.LIMIT and not o.reduce_only and o.price is not None:
                    q = self.account.opening_qty(o.symbol, o.side, o.leaves_qty)
                    total += q * o.price / self.leverage(o.symbol)
        return total

    def available(self) -> Decimal:
        """Free margin: wallet (plus unrealised PnL in cross) − position and order margin."""
        base = self.wallet_balance
        if self.account.margin_mode == CROSS and self.positions:
            base += self.unrealised_pnl()
        return base - self.account.position_margin() - self.order_margin()

    def liq_price(self, symbol: str) -> Decimal:
        """The position's liquidation price: isolated, its own; cross, the account-level
        estimate (``bot.sim.cross``), rounded to the tick (0 when it cannot be reached)."""
        pos = self.positions[symbol]
        if self.account.margin_mode != CROSS:
            return pos.liq_price
        lvl = self._liq_level(symbol)
        if lvl in (float("inf"), float("-inf")) or lvl <= 0:
            return ZERO
        return self.instruments[symbol].round_price(Decimal(repr(lvl)))

    def leverage(self, symbol: str) -> Decimal:
        """The symbol's leverage setting (10x, capped by the tiers, until set)."""
        lev = self._lev.get(symbol)
        if lev is None:
            lev = min(DEFAULT_LEVERAGE, self._instrument(symbol).max_leverage)
        return lev

    def _instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise SimError(SimError.BAD_PARAMS, f"unknown symbol {symbol!r}")
        return inst

    # --- account settings ---

    def set_margin_mode(self, mode: str) -> None:
        """Switch between cross (``REGULAR_MARGIN``) and ``ISOLATED_MARGIN``."""
        if mode not in MARGIN_MODES:
            raise SimError(SimError.BAD_PARAMS, f"setMarginMode {mode!r} is not supported")
        if mode == self.account.margin_mode:
            raise SimError(SimError.MARGIN_MODE_NOT_MODIFIED, "margin mode is not modified")
        if self.positions or self._open:
            raise SimError(
                SimError.SET_MARGIN_MODE_FAILED,
                "Set margin mode failed: close every position and cancel every order first",
            )
        self.account.margin_mode = mode
        self._watch.clear()

    def transfer(self, amount: Decimal) -> None:
        """A deposit (> 0) or withdrawal (< 0, at most the available balance) of USDT."""
        if not amount.is_finite() or amount == 0:
            raise SimError(SimError.BAD_PARAMS, f"amount must be a non-zero number ({amount})")
        if amount < 0 and -amount > self.available():
            raise SimError(
                SimError.INSUFFICIENT_BALANCE,
                f"withdrawal {-amount} exceeds the available {self.available()}",
            )
        self.account.transfer(amount, self.now_ms)
        self._watch.clear()

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set the symbol's leverage (re-margins an open position)."""
        inst = self._instrument(symbol)
        if not leverage.is_finite() or leverage < 1 or leverage > inst.max_leverage:
            raise SimError(
                SimError.BAD_PARAMS,
                f"{symbol}: leverage {leverage} outside [1, {inst.max_leverage}]",
            )
        if leverage != leverage.quantize(Decimal("0.01"), rounding=ROUND_FLOOR):
            raise SimError(SimError.BAD_PARAMS, f"{symbol}: leverage {leverage} not in 0.01 steps")
        if leverage == self.leverage(symbol):
            raise SimError(SimError.LEVERAGE_NOT_MODIFIED, "leverage not modified")
        pos = self.positions.get(symbol)
        if pos is not None:
            tier = inst.tier_for_notional(pos.value)
            if leverage > tier.max_leverage:
                raise SimError(
                    SimError.RISK_LIMIT,
                    f"{symbol}: position value {pos.value} allows at most {tier.max_leverage}x",
                )
            extra = pos.value / leverage - pos.margin
            if extra > self.available():
                raise SimError(
                    SimError.INSUFFICIENT_BALANCE,
                    f"{symbol}: needs {extra} more margin, available {self.available()}",
                )
            if self.account.margin_mode != CROSS:
                lp, _ = position_prices(inst, pos.side, pos.avg_price, pos.size, leverage)
                mark = self.mark_price(symbol)
                if pos.side.sign * (mark - lp) <= 0:
                    raise SimError(
                        SimError.LEVERAGE_INVALID,
                        f"{symbol}: at {leverage}x the liquidation price {lp} is past the "
                        f"mark {mark}",
                    )
        self._lev[symbol] = leverage
        self._watch.pop(symbol, None)
        self.account.set_leverage(inst, leverage, self.now_ms)

    def position_side_word(self, pos: SimPosition) -> str:
        """Bybit's ``Buy``/``Sell`` for a position."""
        return "Buy" if pos.side is PositionSide.LONG else "Sell"
