"""What every engine shares, whatever moves its prices: the account, its orders and modes.

``EngineCore`` is the fill model (SIM-VENUE.md "Matching engine"): order entry
(``bot.sim.entry``), the path walk (``bot.sim.path``) and the account (``bot.sim.account``).
A price source supplies ``now_ms``, ``price_float``/``mark_price`` and ``instruments``:
``bot.sim.engine.SimEngine`` replays a ``SimMarket`` (backtest, replay, the HTTP face) and
``bot.sim.live.LiveEngine`` follows polled tickers (paper trading). The same order on the same
prices therefore gets the same answer on every path.

Account modes: a new account is cross margin (``REGULAR_MARGIN``) and one-way, on both venues.
``set_margin_mode`` (Bybit, account-wide) switches every symbol to ``ISOLATED_MARGIN`` (or back)
only without positions and open orders (110073 otherwise); ``set_symbol_margin_mode`` (Binance's
per-symbol ``marginType``) only without a position or open orders in that symbol.
``set_position_mode`` switches one-way ↔ hedge (a long and a short side by side) without
positions or open orders in the symbols concerned (110024 / 110028). Leverage defaults to the
venue's (``bot.sim.rules``; capped by the tiers); the tier of the resulting notional must
allow it (110090). The venue's rules also give the isolated liquidation formula.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from bot.domain import Instrument, OrderType, PositionSide
from bot.sim.account import CROSS, ISOLATED, Account, position_prices
from bot.sim.path import PathWalker
from bot.sim.rules import BYBIT, VenueRules
from bot.sim.spot import DEFAULT_SPOT_FEE
from bot.sim.spot_orders import SpotOrders
from bot.sim.types import ZERO, SimError, SimExecution, SimFunding, SimOrder, SimPosition

MARGIN_MODES = (ISOLATED, CROSS)
ONE_WAY, HEDGE = 0, 3  # Bybit switch-mode values


class EngineCore(SpotOrders, PathWalker):
    """One simulated account (derivatives and spot); a subclass supplies the prices and the
    clock."""

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
        rules: VenueRules = BYBIT,
        spot_fee: Decimal = DEFAULT_SPOT_FEE,
    ) -> None:
        if margin_mode not in MARGIN_MODES:
            raise ValueError(f"margin_mode: one of {MARGIN_MODES} (got {margin_mode!r})")
        self.rules = rules
        self.instruments = instruments
        self.fee_taker = fee_taker
        self.fee_maker = fee_maker
        self.slippage = slippage
        self.half_spread = half_spread
        self.partial_fills = partial_fills
        self.participation = participation
        self.account = Account(equity, rules.liquidation)
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
        self._init_spot(spot_fee)

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
        """The account's margin mode: Bybit's ``ISOLATED_MARGIN`` or ``REGULAR_MARGIN``
        (cross); a symbol set on its own (Binance) may differ (``margin_mode_of``)."""
        return self.account.margin_mode

    def margin_mode_of(self, symbol: str) -> str:
        """The symbol's margin mode."""
        return self.account.mode_of(symbol)

    def is_hedge(self, symbol: str) -> bool:
        """Whether the symbol is in hedge position mode."""
        return self.account.is_hedge(symbol)

    def unrealised_pnl(self, *, cross_only: bool = False) -> Decimal:
        """Σ unrealised PnL of the (cross) positions at the current marks."""
        upnl = ZERO
        for pos in self.positions.values():
            if not cross_only or self.account.is_cross(pos):
                upnl += pos.unrealised_pnl(Decimal(repr(self.price_float(pos.symbol))))
        return upnl

    def equity(self) -> Decimal:
        """Wallet balance plus unrealised PnL at the current mark, plus the spot coins at
        the spot price (the unified account's total equity)."""
        eq = self.wallet_balance + self.unrealised_pnl()
        return eq + self.spot_value() if self.account.coins and self.rules.unified_spot else eq

    def wallet_equity_and_available(self) -> tuple[Decimal, Decimal]:
        """``wallet_balance + unrealised_pnl()`` (the USDT row, coins apart) and
        ``available()``, from one pass over the positions (a balance read)."""
        if not self.positions:
            return self.wallet_balance + ZERO, self._available(None)
        upnl = cross = ZERO
        is_cross = self.account.is_cross
        for pos in self.positions.values():
            u = pos.unrealised_pnl(Decimal(repr(self.price_float(pos.symbol))))
            upnl += u
            if is_cross(pos):
                cross += u
        return self.wallet_balance + upnl, self._available(cross)

    def order_margin(self) -> Decimal:
        """Margin reserved by resting limit orders for the exposure they would open."""
        total = ZERO
        for orders in self._open.values():
            for o in orders:
                if o.order_type is OrderType.LIMIT and not o.reduce_only and o.price is not None:
                    q = self.account.opening_qty(o.symbol, o.side, o.leaves_qty, o.position_idx)
                    total += q * o.price / self.leverage(o.symbol)
        return total

    def available(self) -> Decimal:
        """Free margin: wallet plus the cross positions' unrealised PnL, less position and
        order margin."""
        return self._available(self.unrealised_pnl(cross_only=True) if self.positions else None)

    def _available(self, cross_upnl: Decimal | None) -> Decimal:
        base = self.wallet_balance
        if cross_upnl is not None:
            base += cross_upnl
        return base - self.account.position_margin() - self.order_margin()

    def liq_price(self, key: str) -> Decimal:
        """The position's liquidation price: isolated, its own; cross, the account-level
        estimate (``bot.sim.cross``), rounded to the tick (0 when it cannot be reached)."""
        pos = self.positions[key]
        if not self.account.is_cross(pos):
            return pos.liq_price
        lvl = self._liq_level(key)
        if lvl in (float("inf"), float("-inf")) or lvl <= 0:
            return ZERO
        return self.instruments[pos.symbol].round_price(Decimal(repr(lvl)))

    def leverage(self, symbol: str) -> Decimal:
        """The symbol's leverage setting (the venue's default, capped by the tiers, until
        set)."""
        lev = self._lev.get(symbol)
        if lev is None:
            lev = min(self.rules.default_leverage, self._instrument(symbol).max_leverage)
        return lev

    def _instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise SimError(SimError.BAD_PARAMS, f"unknown symbol {symbol!r}")
        return inst

    # --- account settings ---

    def set_margin_mode(self, mode: str) -> None:
        """Switch every symbol between cross (``REGULAR_MARGIN``) and ``ISOLATED_MARGIN``
        (Bybit's account-wide switch)."""
        if mode not in MARGIN_MODES:
            raise SimError(SimError.BAD_PARAMS, f"setMarginMode {mode!r} is not supported")
        acct = self.account
        if mode == acct.margin_mode and all(m == mode for m in acct.symbol_modes.values()):
            raise SimError(SimError.MARGIN_MODE_NOT_MODIFIED, "margin mode is not modified")
        if self.positions or self._open:
            raise SimError(
                SimError.SET_MARGIN_MODE_FAILED,
                "Set margin mode failed: close every position and cancel every order first",
            )
        acct.revision += 1
        acct.margin_mode = mode
        acct.symbol_modes.clear()
        self._watch.clear()

    def set_symbol_margin_mode(self, symbol: str, mode: str) -> None:
        """Switch one symbol's margin mode (Binance's ``marginType``): refused while the
        symbol has a position or open orders."""
        self._instrument(symbol)
        if mode not in MARGIN_MODES:
            raise SimError(SimError.BAD_PARAMS, f"margin mode {mode!r} is not supported")
        if mode == self.account.mode_of(symbol):
            raise SimError(SimError.MARGIN_MODE_NOT_MODIFIED, "No need to change margin type.")
        if self.account.of_symbol(symbol):
            raise SimError(
                SimError.SET_MARGIN_MODE_FAILED,
                f"{symbol}: margin type cannot be changed if there exists position.",
                "position_exists",
            )
        if self._open.get(symbol):
            raise SimError(
                SimError.SET_MARGIN_MODE_FAILED,
                f"{symbol}: margin type cannot be changed if there exists open orders.",
                "orders_exist",
            )
        self.account.revision += 1
        self.account.symbol_modes[symbol] = mode
        self._watch.clear()

    def set_position_mode(self, hedge: bool, symbols: list[str] | None = None) -> None:
        """One-way (``hedge`` False) or hedge mode for ``symbols`` (None: the whole account,
        as Binance's ``dualSidePosition`` and Bybit's switch by coin); refused while any of
        them has a position (110024) or open orders (110028), or is in that mode (110025)."""
        acct = self.account
        syms = list(self.instruments) if symbols is None else symbols
        for s in syms:
            self._instrument(s)
        if all(acct.is_hedge(s) == hedge for s in syms) and (
            symbols is not None or acct.hedge_default == hedge
        ):
            raise SimError(SimError.POSITION_MODE_NOT_MODIFIED, "Position mode is not modified")
        if any(acct.of_symbol(s) for s in syms):
            raise SimError(
                SimError.POSITION_EXISTS,
                "You have an existing position, so position mode cannot be switched",
            )
        if any(self._open.get(s) for s in syms):
            raise SimError(
                SimError.ORDERS_EXIST, "Open orders exist, so you cannot change position mode"
            )
        acct.revision += 1
        if symbols is None:
            acct.hedge_default = hedge
            acct.hedge_symbols.clear()
        else:
            acct.hedge_symbols.update(dict.fromkeys(symbols, hedge))

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
        held = self.account.of_symbol(symbol)
        for pos in held:
            tier = inst.tier_for_notional(pos.value)
            if leverage > tier.max_leverage:
                raise SimError(
                    SimError.RISK_LIMIT,
                    f"{symbol}: position value {pos.value} allows at most {tier.max_leverage}x",
                )
        extra = sum((p.value / leverage - p.margin for p in held), ZERO)
        if held and extra > self.available():
            raise SimError(
                SimError.INSUFFICIENT_BALANCE,
                f"{symbol}: needs {extra} more margin, available {self.available()}",
            )
        for pos in held:
            if not self.account.is_cross(pos):
                lp, _ = position_prices(
                    inst, pos.side, pos.avg_price, pos.size, leverage, self.rules.liquidation
                )
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
