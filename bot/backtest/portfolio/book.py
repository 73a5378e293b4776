"""A portfolio on the simulator's engine: holdings read from the venue, orders sent to it.

The engine is one unified account (``bot.sim.spot``): USDT, spot coins and perpetual
positions. The portfolio's two sleeves are bookkeeping on top of it, as on a real unified
account: the futures sleeve's collateral is the USDT moved to it by the planner's transfers
plus everything the perpetuals made or cost (closed PnL, fees, funding, liquidations); the
spot sleeve's cash is the rest of the wallet. So ``cash + coins + collateral + uPnL`` is the
engine's equity, exactly.

Spot quantities cross the boundary in perpetual units: the portfolio keys tokens by the
perpetual's symbol (the signals' universe), a ``1000PEPEUSDT`` unit being 1000 coins of the
``PEPEUSDT`` spot market.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from bot.domain import OrderType, Position, PositionSide, Side
from bot.portfolio.holdings import Holdings, PerpHolding, Role
from bot.portfolio.rebalance import SpotMarket, SpotOrder
from bot.risk.decision import Approved
from bot.sim.engine import SimEngine
from bot.sim.spot import SpotSpec
from bot.sim.types import SimError

_ZERO = Decimal(0)


@dataclass(slots=True)
class Flows:
    """Money counted as it happens (USDT; a spot buy's fee, paid in coins, at its price)."""

    spot_traded: Decimal = _ZERO  # Σ |notional| of spot fills
    spot_fees: Decimal = _ZERO
    spot_cash: Decimal = _ZERO  # Σ USDT the spot fills moved (− buys, + sells − fee)
    perp_fees: Decimal = _ZERO
    funding: Decimal = _ZERO
    role_pnl: dict[str, Decimal] = field(default_factory=dict)  # closed − fees + funding
    spot_orders: int = 0
    perp_orders: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # engine or risk refusals by code


class Book:
    """One portfolio on one engine (the strategy's or a baseline's)."""

    def __init__(self, engine: SimEngine) -> None:
        self.engine = engine
        self.start_wallet = engine.wallet_balance
        self.transfers = _ZERO  # net USDT moved into the futures sleeve
        self.roles: dict[str, Role] = {}  # perp symbol → the role that opened it
        self.flows = Flows()
        self._n_exec = 0
        self._n_funding = 0
        self.spec_of: dict[str, SpotSpec] = {}
        for spec in engine.spot_markets().values():
            self.spec_of[spec.perp] = spec

    # --- reading the venue ---

    def markets(self) -> dict[str, SpotMarket]:
        """The spot markets' precision in perpetual units, for the planner."""
        return {
            p: SpotMarket(p, s.qty_step / s.multiplier, s.min_qty / s.multiplier, s.min_notional)
            for p, s in self.spec_of.items()
        }

    @property
    def collateral(self) -> Decimal:
        """The futures sleeve's USDT: transfers plus every perpetual cash flow."""
        eng = self.engine
        perp_flow = eng.wallet_balance - self.start_wallet - self.flows.spot_cash
        return self.transfers + perp_flow

    def holdings(self) -> Holdings:
        """What the venue holds now, as the planner sees it."""
        eng = self.engine
        spot: dict[str, Decimal] = {}
        by_base = {s.base: s for s in self.spec_of.values()}
        for coin, qty in eng.coin_balances().items():
            spec = by_base[coin]
            spot[spec.perp] = qty / spec.multiplier
        collateral = self.collateral
        perps = tuple(
            PerpHolding(p.symbol, p.side, p.size, p.avg_price, p.leverage, self.roles.get(p.symbol))
            for p in eng.positions.values()
        )
        return Holdings(eng.wallet_balance - collateral, spot, collateral, perps)

    def sync(self) -> None:
        """Count the perpetual fills and funding since the last call against their roles;
        forget the roles of positions that are gone (a stop, a liquidation)."""
        eng, fl = self.engine, self.flows
        for ex in eng.executions[self._n_exec :]:
            fl.perp_fees += ex.fee
            role = self.roles.get(ex.symbol)
            if role is not None:
                fl.role_pnl[role.value] = (
                    fl.role_pnl.get(role.value, _ZERO) + ex.closed_pnl - ex.fee
                )
        self._n_exec = len(eng.executions)
        for f in eng.funding_payments[self._n_funding :]:
            fl.funding += f.amount
            role = self.roles.get(f.symbol)
            if role is not None:
                fl.role_pnl[role.value] = fl.role_pnl.get(role.value, _ZERO) + f.amount
        self._n_funding = len(eng.funding_payments)
        held = {p.symbol for p in eng.positions.values()}
        for sym in [s for s in self.roles if s not in held]:
            del self.roles[sym]

    def _refuse(self, code: str) -> None:
        self.flows.refused[code] = self.flows.refused.get(code, 0) + 1

    # --- spot ---

    def spot(self, order: SpotOrder, cash_cap: Decimal | None = None) -> bool:
        """Send one planned spot order as a market order; a buy is trimmed to what
        ``cash_cap`` USDT pays at the fill price. False when the venue refuses it."""
        spec = self.spec_of.get(order.symbol)
        if spec is None:
            self._refuse("spot.no_market")
            return False
        eng = self.engine
        coins = spec.floor(order.qty * spec.multiplier)
        if order.side is Side.SELL:
            coins = min(coins, spec.floor(eng.account.coins.get(spec.base, _ZERO)))
        elif cash_cap is not None:
            px = eng.spot_fill_price(spec.symbol, Side.BUY)
            afford = (cash_cap / px).quantize(Decimal("1e-18"), rounding=ROUND_DOWN)
            coins = min(coins, spec.floor(afford))
        if coins <= 0:
            self._refuse("spot.nothing_to_trade")
            return False
        try:
            o = eng.place_spot_order(spec.symbol, order.side, coins)
        except SimError as exc:
            self._refuse(f"spot.{exc.code}")
            return False
        ex = eng.spot_executions[-1]
        fee_usdt = ex.fee * ex.price if ex.fee_currency == spec.base else ex.fee
        fl = self.flows
        fl.spot_orders += 1
        fl.spot_traded += o.cum_exec_value
        fl.spot_fees += fee_usdt
        fl.spot_cash += -ex.value if order.side is Side.BUY else ex.value - ex.fee
        return True

    # --- perpetuals ---

    def close_perp(self, symbol: str) -> bool:
        """Close the position in ``symbol`` (reduce-only market) and cancel its stops."""
        eng = self.engine
        pos = eng.positions.get(symbol)
        if pos is None:
            return False
        try:
            eng.place_order(
                symbol, pos.side.exit_side, OrderType.MARKET, pos.size, reduce_only=True
            )
        except SimError as exc:
            self._refuse(f"perp.{exc.code}")
            return False
        self.flows.perp_orders += 1
        for o in eng.open_orders(symbol):
            eng.cancel_order(symbol, order_id=o.order_id)
        self.sync()
        return True

    def open_perp(self, ok: Approved, role: Role) -> bool:
        """Send an approved opening at its leverage, then its protective stop."""
        eng, sym = self.engine, ok.symbol
        try:
            if eng.leverage(sym) != ok.leverage_used:
                eng.set_leverage(sym, ok.leverage_used)
            eng.place_order(sym, ok.side, OrderType.MARKET, ok.qty)
        except SimError as exc:
            self._refuse(f"perp.{exc.code}")
            return False
        self.flows.perp_orders += 1
        self.roles[sym] = role
        pos = eng.positions.get(sym)
        if pos is not None:
            view = Position(sym, pos.side, pos.size, pos.avg_price, pos.leverage, eng.now_ms)
            stop = ok.stop_for(view, eng.instruments.get(sym))
            if stop is not None:
                up = 1 if pos.side is PositionSide.SHORT else 2
                try:
                    eng.place_order(
                        sym, pos.side.exit_side, OrderType.STOP_MARKET, pos.size,
                        trigger_price=stop, trigger_direction=up, reduce_only=True,
                    )  # fmt: skip
                except SimError as exc:
                    self._refuse(f"stop.{exc.code}")
                    self.close_perp(sym)  # never hold a role's perp without its stop
                    return False
        self.sync()
        return True
