"""The rebalance planner: spot orders that move holdings toward the targets
(docs/portfolio.md, "Rebalancing").

Per token, a trade happens only when its weight is off target by more than the drift band
``max(drift_abs, drift_rel × target)``; a sell never takes more than ``1 − residual`` of the
holding at once; trades below ``min_trade`` (or the market's minimum) wait. Sells go first;
the futures sleeve's collateral is topped up next; buys then spend what is left, scaled down
together if it is not enough, with the fee on top, so cash never goes negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal

from bot.domain import Side
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Rule, pct, plain
from bot.portfolio.holdings import Holdings, Valuation
from bot.portfolio.targets import CORE, ROTATIONAL, SPECULATIVE, Targets

_ZERO, _ONE = Decimal(0), Decimal(1)
DEFAULT_SPOT_MIN_NOTIONAL = Decimal(5)


@dataclass(frozen=True, slots=True)
class SpotMarket:
    """Precision and minimums of one spot market, and its price on the venue now (in the
    planner's units; None: unknown, the perpetual's price stands in)."""

    symbol: str
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal
    price: Decimal | None = None

    def floor(self, qty: Decimal) -> Decimal:
        """``qty`` rounded down to the step."""
        return (qty / self.qty_step).to_integral_value(rounding=ROUND_DOWN) * self.qty_step


def spot_prices_of(
    prices: Mapping[str, Decimal], markets: Mapping[str, SpotMarket]
) -> dict[str, Decimal]:
    """The prices coins are valued and spot orders sized at: each spot market's own price on
    the venue where it has one, else the perpetual's (``prices``)."""
    own = {s: m.price for s, m in markets.items() if m.price is not None and m.price > 0}
    return {**prices, **own} if own else dict(prices)


def default_spot_market(symbol: str, price: Decimal) -> SpotMarket:
    """Offline precision: the step is the power of ten worth at most 0.1 USDT (Bybit's
    BTC and ETH spot steps at today's prices); the minimum order is 5 USDT."""
    step = _ONE.scaleb((Decimal("0.1") / price).adjusted())
    return SpotMarket(symbol, step, step, DEFAULT_SPOT_MIN_NOTIONAL)


@dataclass(frozen=True, slots=True)
class SpotOrder:
    """A market order on the spot market; ``price`` is the reference it was sized at."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    bucket: str
    sector: str | None
    explanation: Explanation

    @property
    def notional(self) -> Decimal:
        """``qty × price``."""
        return self.qty * self.price


@dataclass(frozen=True, slots=True)
class TokenLine:
    """One token: what is held, what is targeted, and what the planner decided."""

    symbol: str
    bucket: str
    sector: str | None
    qty: Decimal
    value: Decimal
    weight: Decimal
    target: Decimal
    band: Decimal
    order: SpotOrder | None
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class SpotPlan:
    """Orders (sells first), a collateral transfer (+ = spot → futures) and the cash after."""

    nav: Decimal
    lines: list[TokenLine]
    orders: list[SpotOrder]
    transfer: Decimal
    transfer_explanation: Explanation | None
    cash_before: Decimal
    cash_after: Decimal
    fees: Decimal


def bucket_of(
    symbol: str, sector: str | None, targets: Targets | None, cfg: PortfolioConfig
) -> str:
    """The bucket a holding counts in: its target's, else core anchors, else the
    speculative sectors, else rotational (part 2 persists the bucket with each holding)."""
    t = targets.tokens.get(symbol) if targets is not None else None
    if t is not None:
        return t.bucket
    if symbol in cfg.core.assets:
        return CORE
    return SPECULATIVE if sector in cfg.speculative.sectors else ROTATIONAL


@dataclass(frozen=True, slots=True)
class _Want:
    line: TokenLine  # the token's figures; its order and explanation are filled in later
    side: Side
    qty: Decimal
    rule: Rule
    text: str


class SpotPlanner:
    """Plans the spot orders and collateral transfer that move ``holdings`` toward
    ``targets``: ``SpotPlanner(...).run()``."""

    def __init__(
        self,
        targets: Targets,
        holdings: Holdings,
        val: Valuation,
        prices: Mapping[str, Decimal],
        markets: Mapping[str, SpotMarket],
        cfg: PortfolioConfig,
        sector_of: Mapping[str, str | None],
    ) -> None:
        self.t, self.h, self.v, self.prices = targets, holdings, val, prices
        self.markets, self.cfg, self.rc = markets, cfg, cfg.rebalance
        self.sector_of = sector_of
        self.nav = val.nav
        self.lines: dict[str, TokenLine] = {}

    def market(self, symbol: str) -> SpotMarket:
        return self.markets.get(symbol) or default_spot_market(symbol, self.prices[symbol])

    def min_trade(self, m: SpotMarket) -> Decimal:
        return max(self.rc.min_trade, m.min_notional)

    def want(self, symbol: str) -> _Want | None:
        """The unscaled trade toward target, or None with the token's line recorded."""
        rc, price = self.rc, self.prices[symbol]
        held = self.h.spot.get(symbol, _ZERO)
        value = held * price
        w = value / self.nav if self.nav > 0 else _ZERO
        tgt = self.t.weight(symbol)
        band = max(rc.drift_abs, rc.drift_rel * tgt)
        sector = self.sector_of.get(symbol)
        base = TokenLine(
            symbol, bucket_of(symbol, sector, self.t, self.cfg), sector, held, value, w, tgt, band,
            None, Explanation(Rule.HOLD_IN_BAND, ""),
        )  # fmt: skip
        drift = w - tgt
        if abs(drift) <= band:
            self.hold(
                base, Rule.HOLD_IN_BAND,
                f"{symbol}: {pct(w)} vs target {pct(tgt)}, drift {pct(abs(drift))} ≤ band {pct(band)}: hold",
            )  # fmt: skip
            return None
        delta = tgt * self.nav - value
        if delta < 0:
            want_qty = -delta / price
            cap = held * (_ONE - rc.residual)
            if want_qty > cap:
                return _Want(
                    base, Side.SELL, cap, Rule.TRADE_RESIDUAL,
                    f"{symbol}: {pct(w)} → target {pct(tgt)}; the sell is capped at "
                    f"{pct(_ONE - rc.residual)} of the holding (residual {pct(rc.residual)} kept, "
                    "never 100 % at once)",
                )  # fmt: skip
            return _Want(
                base, Side.SELL, want_qty, Rule.TRADE_DRIFT,
                f"{symbol}: {pct(w)} → target {pct(tgt)} (drift {pct(abs(drift))} > band {pct(band)})",
            )  # fmt: skip
        return _Want(
            base, Side.BUY, delta / price, Rule.TRADE_DRIFT,
            f"{symbol}: {pct(w)} → target {pct(tgt)} (drift {pct(abs(drift))} > band {pct(band)})",
        )  # fmt: skip

    def hold(self, base: TokenLine, rule: Rule, text: str) -> None:
        why = Explanation(rule, text, numbers={"weight": base.weight, "target": base.target})
        self.lines[base.symbol] = replace(base, order=None, explanation=why)

    def order(self, want: _Want, qty: Decimal, note: str = "") -> SpotOrder | None:
        """The order for ``qty`` (rounded down), or None when below the minimums."""
        symbol = want.line.symbol
        m, price = self.market(symbol), self.prices[symbol]
        qty = m.floor(qty)
        notional = qty * price
        floor = self.min_trade(m)
        if qty < m.min_qty or notional < floor or qty <= 0:
            self.hold(
                want.line, Rule.HOLD_MIN_TRADE,
                f"{want.text}{note}; but {want.side.value} {plain(qty)} = {notional:.2f} USDT is below the "
                f"minimum trade {floor} USDT: wait",
            )  # fmt: skip
            return None
        fee = notional * self.rc.spot_fee
        rule = Rule.TRADE_CASH_SCALED if note else want.rule
        text = f"{want.side.value} {plain(qty)} {symbol} ≈ {notional:.2f} USDT (fee {fee:.2f}): {want.text}{note}"
        o = SpotOrder(
            symbol, want.side, qty, price, fee, want.line.bucket, want.line.sector,
            Explanation(rule, text, numbers={"qty": qty, "notional": notional, "fee": fee}),
        )  # fmt: skip
        self.lines[symbol] = replace(want.line, order=o, explanation=o.explanation)
        return o

    def transfer(self, cash: Decimal) -> tuple[Decimal, Explanation | None]:
        """Collateral to move into (+) or out of (−) the futures sleeve, within the band."""
        target = self.t.futures_weight * self.nav
        cur = self.v.futures_value
        gap = target - cur
        if abs(gap) <= self.rc.drift_abs * self.nav:
            return _ZERO, None
        if gap > 0:
            amount = min(gap, cash)
        else:
            free = max(self.h.futures_collateral - self.v.perp_margin, _ZERO)
            amount = -min(-gap, free)
        if amount == 0:
            return _ZERO, None
        text = (
            f"futures sleeve {pct(cur / self.nav)} vs target {pct(self.t.futures_weight)}: move "
            f"{abs(amount):.2f} USDT {'into' if amount > 0 else 'out of'} its collateral"
        )
        return amount, Explanation(
            Rule.TRANSFER_FUTURES,
            text,
            numbers={"amount": amount, "target": target, "current": cur},
        )

    def run(self) -> SpotPlan:
        """The plan: sells, the transfer, then the buys the cash allows."""
        symbols = sorted(set(self.t.tokens) | {s for s, q in self.h.spot.items() if q > 0})
        wants = [w for w in (self.want(s) for s in symbols) if w is not None]
        sells = [o for w in wants if w.side is Side.SELL if (o := self.order(w, w.qty))]
        fee = self.rc.spot_fee
        proceeds = sum((o.notional - o.fee for o in sells), _ZERO)
        cash = self.h.cash + proceeds
        moved, why = self.transfer(cash)
        cash -= moved
        buys_w = [w for w in wants if w.side is Side.BUY]
        cost = sum((w.qty * self.prices[w.line.symbol] * (_ONE + fee) for w in buys_w), _ZERO)
        scale = _ONE if cost <= cash else (cash / cost if cost > 0 else _ZERO)
        note = "" if scale == _ONE else f"; buys scaled by {scale:.4f} to the cash available"
        buys = [o for w in buys_w if (o := self.order(w, w.qty * scale, note))]
        spent = sum((o.notional + o.fee for o in buys), _ZERO)
        return SpotPlan(
            nav=self.nav,
            lines=[self.lines[s] for s in symbols],
            orders=sells + buys,
            transfer=moved,
            transfer_explanation=why,
            cash_before=self.h.cash,
            cash_after=cash - spent,
            fees=sum((o.fee for o in sells + buys), _ZERO),
        )
