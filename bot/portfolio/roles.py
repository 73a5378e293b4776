"""The futures sleeve's three roles as perp intents (issue #20; docs/portfolio.md, "Futures
sleeve"). Every intent goes to the ``RiskManager`` like any other perp intent: it sizes by
risk (the role's notional is only a cap), applies the liquidation buffers, limits and
breakers, and may refuse.

(a) hedge: a frothy market (funding heat and open interest up) ⇒ short BTC (or the hot
    sectors' leaders), unleveraged, ``hedge.ratio`` of the spot sleeve; closed when funding
    normalises (heat below ``funding_off_8h``: hysteresis).
(b) transition: while a sector's spot is being sold, short 2-3 of its leading tokens at low
    leverage for the amount being sold; closed once no sell of that sector is pending.
(c) amplify: long the top tokens of the best favoured sector in accumulation at 2-3x with a
    hard stop; closed when the sector is no longer favoured in accumulation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median

from bot.domain import OrderIntent, PositionSide, Side
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Input, Rule, pct, plain
from bot.portfolio.holdings import Holdings, PerpHolding, Role
from bot.portfolio.rebalance import SpotPlan
from bot.portfolio.selection import MarketStats, leaders
from bot.portfolio.targets import CORE, ROTATIONAL, Targets
from bot.signals.evaluation import Evaluation

_ZERO = Decimal(0)
SHORT, LONG = PositionSide.SHORT, PositionSide.LONG
_KIND = {Role.HEDGE: "hedge", Role.TRANSITION: "hedge", Role.AMPLIFY: "entry"}
_RULES = {
    Role.HEDGE: (Rule.HEDGE_OPEN, Rule.HEDGE_KEEP, Rule.HEDGE_CLOSE),
    Role.TRANSITION: (Rule.TRANSITION_OPEN, Rule.TRANSITION_KEEP, Rule.TRANSITION_CLOSE),
    Role.AMPLIFY: (Rule.AMPLIFY_OPEN, Rule.AMPLIFY_KEEP, Rule.AMPLIFY_CLOSE),
}


@dataclass(frozen=True, slots=True)
class PerpAction:
    """One perp intent of a role: an opening (hedge/entry) or a reduce-only close (exit)."""

    role: Role
    intent: OrderIntent
    notional: Decimal  # requested for an opening (a cap), held for a close
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Froth:
    """Market-wide futures heat: the median sector funding heat and OI flow."""

    heat: float | None
    oi_flow: float | None  # None when no sector has open interest
    overheated: tuple[str, ...]

    def inputs(self) -> dict[str, Input]:
        """For the hedge's explanation."""
        return {
            "market_funding_heat": self.heat,
            "market_oi_flow": self.oi_flow,
            "overheated": ",".join(self.overheated),
        }


@dataclass(frozen=True, slots=True)
class RolePlan:
    """The perp intents to send and what each role decided (also when it sends nothing)."""

    actions: list[PerpAction]
    notes: list[tuple[str, Explanation]] = field(default_factory=list)  # (symbol or role, why)
    froth: Froth | None = None


def froth_of(ev: Evaluation) -> Froth:
    """Medians over the rotation sectors (unknown values left out)."""
    heats = [
        s.funding_heat
        for s in ev.sectors
        if s.funding_heat is not None and math.isfinite(s.funding_heat)
    ]
    flows = [s.oi_flow for s in ev.sectors if not s.oi_missing and math.isfinite(s.oi_flow)]
    return Froth(
        float(median(heats)) if heats else None,
        float(median(flows)) if flows else None,
        tuple(s.sector for s in ev.sectors if s.overheated),
    )


@dataclass(frozen=True, slots=True)
class _Wish:
    role: Role
    side: PositionSide
    notional: Decimal
    sector: str | None
    why: Explanation
    leverage: Decimal
    stop: Decimal


class RolePlanner:
    """The three roles' perp intents against the perps already held:
    ``RolePlanner(...).run()``."""

    def __init__(
        self,
        cfg: PortfolioConfig,
        ev: Evaluation,
        targets: Targets,
        plan: SpotPlan,
        holdings: Holdings,
        prices: Mapping[str, Decimal],
        stats: MarketStats,
    ) -> None:
        self.cfg, self.ev, self.t, self.plan = cfg, ev, targets, plan
        self.h, self.prices, self.stats = holdings, prices, stats
        self.wishes: dict[str, _Wish] = {}
        self.notes: list[tuple[str, Explanation]] = []
        post: dict[str, Decimal] = {ln.symbol: ln.value for ln in plan.lines}
        for o in plan.orders:
            post[o.symbol] += o.side.sign * o.notional
        self.post = post
        self.sector_of = {ln.symbol: ln.sector for ln in plan.lines}
        self.spot_value = sum(post.values(), _ZERO)

    def wish(
        self, symbol: str, role: Role, side: PositionSide, notional: Decimal,
        sector: str | None, why: Explanation,
    ) -> None:  # fmt: skip
        """Record a role's wish; the first role to claim a symbol keeps it."""
        if symbol not in self.prices:
            self.notes.append((symbol, Explanation(Rule.ROLE_CONFLICT, f"{symbol}: no price")))
            return
        held = next((p for p in self.h.perps if p.symbol == symbol), None)
        other = self.wishes.get(symbol)
        if other is not None or (held is not None and held.role is None):
            by = f"the {other.role.value} role" if other else "a position rotor does not manage"
            text = f"{symbol}: {role.value} skipped, the symbol is taken by {by}"
            self.notes.append((symbol, Explanation(Rule.ROLE_CONFLICT, text)))
            return
        c = self.cfg
        lev, stop = {
            Role.HEDGE: (c.hedge.leverage, c.hedge.stop),
            Role.TRANSITION: (c.transition.leverage, c.transition.stop),
            Role.AMPLIFY: (c.amplify.leverage, c.amplify.stop),
        }[role]
        self.wishes[symbol] = _Wish(role, side, notional, sector, why, lev, stop)

    # ------------------------------------------------------------------ (a) hedge
    def hedge(self) -> Froth:
        hc, fr = self.cfg.hedge, froth_of(self.ev)
        if not hc.enabled:
            return fr
        held = any(p.role is Role.HEDGE for p in self.h.perps)
        heat = fr.heat if fr.heat is not None else -math.inf
        frothy = heat >= hc.funding_on_8h and (fr.oi_flow is None or fr.oi_flow > 0)
        keep = held and heat >= hc.funding_off_8h
        oi = "unknown" if fr.oi_flow is None else f"{fr.oi_flow:+.2%}"
        state = (
            f"market funding heat {_f8(fr.heat)} per 8h (opens at ≥ {_f8(hc.funding_on_8h)} "
            f"with open interest rising, closes below {_f8(hc.funding_off_8h)}), open interest {oi}"
        )
        if not (frothy or keep):
            why = Explanation(Rule.HEDGE_CLOSE, f"no hedge: {state}", fr.inputs())
            self.notes.append(("hedge", why))
            return fr
        rule = Rule.HEDGE_OPEN if frothy else Rule.HEDGE_KEEP
        if hc.target == "sector_leaders":
            for sector in fr.overheated:
                names = self.held_in(sector)[:2]
                value = sum((self.post[s] for s in names), _ZERO)
                for s in names:
                    n = hc.ratio * value / len(names)
                    text = (
                        f"hedge {sector} (over-leveraged): {state}; short {s} for "
                        f"{pct(hc.ratio)} of the sector's spot {value:.2f} / {len(names)} = {n:.2f}"
                    )
                    why = Explanation(rule, text, fr.inputs(), {"notional": n})
                    self.wish(s, Role.HEDGE, SHORT, n, sector, why)
            if any(w.role is Role.HEDGE for w in self.wishes.values()):
                return fr
        bench = self.benchmark()
        n = hc.ratio * self.spot_value
        text = (
            f"hedge: {state}; short {bench} for {pct(hc.ratio)} of the spot sleeve "
            f"{self.spot_value:.2f} = {n:.2f}, unleveraged"
        )
        self.wish(
            bench, Role.HEDGE, SHORT, n, None, Explanation(rule, text, fr.inputs(), {"notional": n})
        )
        return fr

    def benchmark(self) -> str:
        """The symbol the signal tags as the benchmark (BTC)."""
        return next((r.symbol for r in self.ev.symbols if r.sector == "benchmark"), "BTCUSDT")

    def held_in(self, sector: str) -> list[str]:
        """Spot tokens of ``sector`` held after the plan, largest first."""
        syms = [s for s, v in self.post.items() if v > 0 and self.sector_of.get(s) == sector]
        return sorted(syms, key=lambda s: (-self.post[s], s))

    # ------------------------------------------------------------------ (b) transition
    def transition(self) -> None:
        tc = self.cfg.transition
        if not tc.enabled:
            return
        selling: dict[str, dict[str, Decimal]] = {}
        for o in self.plan.orders:
            rotating_out = o.sector is not None and o.sector not in self.t.favoured
            if o.side is Side.SELL and o.bucket != CORE and rotating_out:
                selling.setdefault(str(o.sector), {})[o.symbol] = o.notional
        pool = self.cfg.rotation.liquid_pool
        for sector, sold in sorted(selling.items()):
            # The tokens being sold hedge their own sale best; the sector's leaders fill up.
            names = sorted(sold, key=lambda s: (-sold[s], s))
            names += [
                p.symbol
                for p in leaders(self.ev.symbols, sector, self.stats, pool, tc.tokens, names)
            ]
            names = names[: tc.tokens]
            selling_total = sum(sold.values(), _ZERO)
            n = tc.ratio * selling_total / len(names)
            for s in names:
                text = (
                    f"transition out of {sector}: {selling_total:.2f} USDT of its spot is being "
                    f"sold; short {s} for {pct(tc.ratio)} of it / {len(names)} = {n:.2f} at "
                    f"{tc.leverage}x until the sale is done"
                )
                why = Explanation(Rule.TRANSITION_OPEN, text, numbers={"notional": n})
                self.wish(s, Role.TRANSITION, SHORT, n, sector, why)

    # ------------------------------------------------------------------ (c) amplify
    def amplify(self) -> None:
        ac = self.cfg.amplify
        if not ac.enabled:
            return
        accumulating = [
            s for s in self.t.favoured if self.t.signals[s].state is Rule.SECTOR_ACCUMULATION
        ]
        margin = ac.margin_share * self.t.futures_weight * self.plan.nav
        for sector in accumulating[: ac.max_sectors]:
            sig = self.t.signals[sector]
            row = next(r for r in self.t.sectors if r.sector == sector and r.bucket == ROTATIONAL)
            names = row.tokens[: ac.tokens]
            n = margin * ac.leverage / len(names)
            for s in names:
                text = (
                    f"amplify {sector} (accumulation, tilt {sig.tilt:.2f}): long {s} {n:.2f} USDT "
                    f"= margin {pct(ac.margin_share)} of the futures sleeve × {ac.leverage}x / "
                    f"{len(names)}, hard stop {pct(ac.stop)}"
                )
                why = Explanation(Rule.AMPLIFY_OPEN, text, sig.explanation.inputs, {"notional": n})
                self.wish(s, Role.AMPLIFY, LONG, n, sector, why)

    # ------------------------------------------------------------------ diff with holdings
    def actions(self) -> list[PerpAction]:
        out: list[PerpAction] = []
        for p in self.h.perps:
            if p.role is None:
                continue
            w = self.wishes.get(p.symbol)
            _, keep_rule, close_rule = _RULES[p.role]
            if w is not None and w.side is p.side:
                del self.wishes[p.symbol]
                text = f"{p.symbol}: keep the {p.role.value} {p.side.value} ({w.why.text})"
                self.notes.append((p.symbol, Explanation(keep_rule, text, w.why.inputs)))
                continue
            out.append(self.close(p, p.role, close_rule))
        for symbol, w in self.wishes.items():
            out.append(self.open(symbol, w))
        return out

    def close(self, p: PerpHolding, role: Role, rule: Rule) -> PerpAction:
        price = self.prices.get(p.symbol, p.entry_price)
        intent = OrderIntent(
            symbol=p.symbol, side=p.side, kind="exit", reference_price=price, qty=p.qty,
            reduce_only=True, reason=f"portfolio:{role.value}:close",
        )  # fmt: skip
        why = {
            Role.HEDGE: "funding normalised",
            Role.TRANSITION: "no sell of its sector is pending (the spot is sold)",
            Role.AMPLIFY: "its sector is no longer favoured in accumulation",
        }[role]
        text = f"{p.symbol}: close the {role.value} {p.side.value} of {plain(p.qty)}: {why}"
        return PerpAction(role, intent, p.qty * price, Explanation(rule, text))

    def open(self, symbol: str, w: _Wish) -> PerpAction:
        price = self.prices[symbol]
        intent = OrderIntent(
            symbol=symbol, side=w.side, kind=_KIND[w.role], reference_price=price,
            stop_distance=w.stop, qty=w.notional / price, sector=w.sector,
            reason=f"portfolio:{w.role.value}", leverage=w.leverage,
        )  # fmt: skip
        return PerpAction(w.role, intent, w.notional, w.why)

    def run(self) -> RolePlan:
        """Hedge, then transition, then amplify (the first role to claim a symbol keeps
        it), diffed against the perps held."""
        froth = self.hedge()
        self.transition()
        self.amplify()
        return RolePlan(self.actions(), self.notes, froth)


def _f8(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4%}"
