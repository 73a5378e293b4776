"""The entry path of ``RiskManager.check`` (RISK.md: sizing, buffers, limits, verification).

Order of work: state and breakers, guards (stale data, price sanity, funding, order rate),
position counts; then size by risk (``N = R/(d + c)``), apply ``on_unsafe_leverage``, cap
exposure (reject or shrink), round to the venue, solve the leverage on the final quantity and
re-verify every rule exactly. Every refusal found is reported, not only the first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from bot.domain import Instrument, OrderIntent, TradingState
from bot.risk.account import UNMAPPED_SECTOR, AccountView
from bot.risk.buffers import check_buffers, leverage_cap, max_safe_leverage, tightened_stop
from bot.risk.codes import Reason, ReasonCode
from bot.risk.decision import Approved, Figures, Rejected
from bot.risk.limits import (
    breakers,
    count_limits,
    funding_guard,
    gross_notional,
    open_risk,
    order_rate_guard,
    price_guard,
    price_ok,
    sector_notional,
    slippage_guard,
    stale_guard,
    state_guard,
)
from bot.risk.sizing import (
    floor_to_step,
    notional_for_risk,
    realised_risk,
    risk_budget,
    stop_price_for,
)
from bot.risk.state import StateRequest

if TYPE_CHECKING:
    from bot.risk.manager import RiskManager

_ZERO = Decimal(0)


def _pct(x: Decimal) -> str:
    return f"{x:.2%}"


def _lev(x: Decimal) -> str:
    """``10x``, ``7.96x``: leverage without trailing zeros."""
    return f"{x.normalize():f}x"


class EntryCheck:
    """One entry evaluation; collects reasons, notes and figures as it goes."""

    def __init__(self, mgr: RiskManager, intent: OrderIntent, view: AccountView) -> None:
        self.m = mgr
        self.p = mgr.params
        self.intent = intent
        self.view = view
        self.reasons: list[Reason] = []
        self.notes: list[str] = []
        self.requests: list[StateRequest] = []
        # An intent may ask for less leverage than risk.leverage (a portfolio hedge is
        # unleveraged), never more: risk.leverage stays the ceiling.
        self.lev_req = (
            mgr.params.leverage
            if intent.leverage is None
            else max(Decimal(1), min(intent.leverage, mgr.params.leverage))
        )
        self.fig: dict[str, Decimal | None] = {"leverage_requested": self.lev_req}

    def reject(
        self,
        code: ReasonCode | None = None,
        message: str = "",
        **numbers: Decimal | int | str | None,
    ) -> Rejected:
        if code is not None:
            self.reasons.append(Reason(code, message, numbers))
        return Rejected(
            self.intent,
            tuple(self.reasons),
            Figures(**self.fig),
            tuple(self.notes),
            tuple(self.requests),
        )

    def gates(self, inst: Instrument | None, sector: str) -> None:
        """The first stage: state, breakers, stale data, price, funding, order rate and
        position counts (reasons and state requests, no sizing)."""
        v, i, p = self.view, self.intent, self.p
        found = state_guard(v.trading_state, i, reduce_only=False)
        if found:
            self.reasons.append(found)
        for req in breakers(v, p):
            self.requests.append(req)
            code = (
                ReasonCode.STATE_HALTED
                if req.target is TradingState.HALTED
                else ReasonCode.STATE_REDUCING
            )
            if code not in {r.code for r in self.reasons}:
                self.reasons.append(Reason(code, req.reason, {"equity": v.equity}))
        if inst is None:
            self.reasons.append(
                Reason(ReasonCode.STALE_DATA, f"{i.symbol}: no instrument metadata")
            )
        for guard in (
            stale_guard(v, i.symbol, p),
            price_guard(v, i.symbol, i.reference_price, p),
            slippage_guard(v, i.symbol, i.side, i.reference_price, p),
            funding_guard(v, i.symbol, i.side, p),
        ):
            if guard:
                self.reasons.append(guard)
        rate = order_rate_guard(v, p)
        if rate:
            self.reasons.append(rate[0])
            self.requests.append(rate[1])
        held = v.position(i.symbol)
        if held is not None and held.side is not i.side:
            self.reasons.append(
                Reason(
                    ReasonCode.OPPOSITE_POSITION,
                    f"{i.symbol}: a {held.side} position of {held.qty} is open; exit it first",
                    {"held_side": held.side.value, "held_qty": held.qty},
                )
            )
        self.reasons.extend(count_limits(v, i.symbol, sector, p))

    def run(self) -> Approved | Rejected:
        i, v, p, m = self.intent, self.view, self.p, self.m
        inst = v.instruments.get(i.symbol)
        sector = i.sector or (inst.sector if inst else None) or UNMAPPED_SECTOR
        self.gates(inst, sector)
        ep = i.reference_price
        self.fig["reference_price"] = ep if price_ok(ep) else None
        if inst is None or not price_ok(ep) or not inst.tiers:
            if inst is not None and not inst.tiers:
                return self.reject(ReasonCode.STALE_DATA, f"{i.symbol}: no leverage tiers known")
            return self.reject()
        d = i.stop_distance
        if d is None or not d.is_finite() or d <= 0 or d >= 1:
            return self.reject(
                ReasonCode.RISK_PER_TRADE,
                "an entry needs a stop distance in (0, 1)",
                stop_distance=str(d),
            )
        self.fig["stop_distance"] = d
        if d > p.stop_max_pct:
            return self.reject(
                ReasonCode.RISK_PER_TRADE,
                f"stop distance {_pct(d)} is wider than risk.stop_max_pct {_pct(p.stop_max_pct)}",
                stop_distance=d, stop_max_pct=p.stop_max_pct,
            )  # fmt: skip
        budget = risk_budget(v.equity, p.risk_per_trade, i.size_factor)
        self.fig["risk_budget"] = budget
        if budget <= 0:
            return self.reject(
                ReasonCode.RISK_PER_TRADE, f"no risk budget (equity {v.equity})", equity=v.equity
            )
        c = p.cost_allowance
        n = notional_for_risk(budget, d, c)
        self.notes.append(
            f"risk budget R = {_pct(p.risk_per_trade)} × equity {v.equity:.2f}"
            + (f" × size factor {i.size_factor}" if i.size_factor != 1 else "")
            + f" = {budget:.2f}"
        )
        self.notes.append(
            f"notional N = R / (stop {_pct(d)} + costs {c:.4%}) = {n:.2f} (Q = {n / ep:.6g})"
        )
        if i.qty is not None and i.qty > 0 and i.qty * ep < n:
            n = i.qty * ep
            self.notes.append(f"capped by the intent's quantity {i.qty}: N = {n:.2f}")
        tiers, step = inst.tiers, m.leverage_step
        lev = leverage_cap(tiers, n, self.lev_req, step)
        if lev < self.lev_req:
            self.notes.append(
                f"leverage capped at {_lev(lev)} by the venue tier for notional {n:.2f}"
            )
        rough = check_buffers(
            m.model, i.side, ep, n / ep, lev, tiers, stop_price_for(i.side, ep, d, _ZERO), m.rules
        )
        required = m.rules.required_distance(d)
        q0 = floor_to_step(n / ep, inst.qty_step)
        self.fig.update(
            qty=q0,
            notional=q0 * ep,
            margin=q0 * ep / lev,
            stop_price=stop_price_for(i.side, ep, d, inst.tick_size),
        )
        self.notes.append(
            f"at {_lev(lev)} liquidation is {rough.liquidation_price:.6g} ({_pct(rough.distance)} from entry); "
            f"the rules need ≥ {_pct(required)} = max(min_liquidation_distance "
            f"{_pct(p.min_liquidation_distance)}, stop {_pct(d)} + stop_liquidation_gap {_pct(p.stop_liquidation_gap)})"
        )
        policy = p.on_unsafe_leverage
        if not rough.ok and policy == "reject":
            self.notes.append("on_unsafe_leverage = reject")
            self._buffer_fig(rough.liquidation_price, rough.distance, lev)
            return self._buffer_reject(
                rough.liq_ok, rough.gap_ok, rough.distance, rough.stop_gap, d
            )
        if not rough.ok and policy == "tighten_stop":
            if not rough.liq_ok:
                self.notes.append(
                    "on_unsafe_leverage = tighten_stop cannot help: a tighter stop only grows N"
                )
                self._buffer_fig(rough.liquidation_price, rough.distance, lev)
                return self._buffer_reject(False, True, rough.distance, None, d)
            d2 = tightened_stop(
                m.model, i.side, ep, tiers, budget, c, d, m.rules, self.lev_req, step
            )
            if d2 is None:
                return self._buffer_reject(True, False, rough.distance, rough.stop_gap, d)
            n = notional_for_risk(budget, d2, c)
            if i.qty is not None and i.qty > 0:
                n = min(n, i.qty * ep)
            lev = leverage_cap(tiers, n, self.lev_req, step)
            self.notes.append(
                f"on_unsafe_leverage = tighten_stop: stop {_pct(d)} → {_pct(d2)}, N grows to {n:.2f}, risk stays R"
            )
            d = d2
        capped = self._exposure(n, sector)
        if capped is None:
            return self.reject()
        return self._finish(inst, capped, d, lev, budget)

    def _exposure(self, n: Decimal, sector: str) -> Decimal | None:
        v, p = self.view, self.p
        e = max(v.equity, _ZERO)
        for code, label, cap, used in (
            (ReasonCode.GROSS_EXPOSURE, "gross", p.max_gross_notional * e, gross_notional(v)),
            (
                ReasonCode.SECTOR_LIMIT,
                f"sector {sector}",
                p.max_sector_notional * e,
                sector_notional(v, sector),
            ),
        ):
            room = cap - used
            if n <= room:
                continue
            numbers: dict[str, Decimal | int | str | None] = {
                "notional": n,
                "open": used,
                "cap": cap,
            }
            if p.exposure_action == "reject" or room <= 0:
                self.reasons.append(
                    Reason(
                        code, f"{label} notional {used:.2f} + {n:.2f} exceeds {cap:.2f}", numbers
                    )
                )
                return None
            self.notes.append(
                f"{label} notional cap {cap:.2f} (open {used:.2f}): shrink N {n:.2f} → {room:.2f}"
            )
            n = room
        return n

    def _buffer_fig(self, lp: Decimal, dist: Decimal, lev: Decimal) -> None:
        self.fig.update(liquidation_price=lp, liquidation_distance=dist, leverage_used=lev)

    def _buffer_reject(
        self, liq_ok: bool, gap_ok: bool, dist: Decimal, gap: Decimal | None, d: Decimal
    ) -> Rejected:
        p = self.p
        if not liq_ok:
            self.reasons.append(
                Reason(
                    ReasonCode.LIQ_TOO_CLOSE,
                    f"liquidation {_pct(dist)} from entry is closer than min_liquidation_distance "
                    f"{_pct(p.min_liquidation_distance)}",
                    {
                        "liquidation_distance": dist,
                        "min_liquidation_distance": p.min_liquidation_distance,
                    },
                )
            )
        if not gap_ok:
            where = "behind" if gap is not None and gap < 0 else "too close to"
            self.reasons.append(
                Reason(
                    ReasonCode.STOP_BEHIND_LIQ,
                    f"the stop ({_pct(d)}) sits {where} the liquidation price ({_pct(dist)}); "
                    f"stop_liquidation_gap needs {_pct(p.stop_liquidation_gap)}",
                    {
                        "stop_distance": d,
                        "liquidation_distance": dist,
                        "gap": gap,
                        "min_gap": p.stop_liquidation_gap,
                    },
                )
            )
        return self.reject()

    def _finish(
        self, inst: Instrument, n: Decimal, d: Decimal, lev: Decimal, budget: Decimal
    ) -> Approved | Rejected:
        i, v, p, m = self.intent, self.view, self.p, self.m
        side, ep = i.side, i.reference_price
        stop = stop_price_for(side, ep, d, inst.tick_size)
        d_real = side.sign * (ep - stop) / ep
        self.fig.update(stop_price=stop, stop_distance=d_real)
        if d_real <= 0:
            return self.reject(
                ReasonCode.RISK_PER_TRADE,
                f"stop {_pct(d)} is within one tick of entry",
                tick=inst.tick_size,
            )
        qty = floor_to_step(n / ep, inst.qty_step)
        # Entries are market orders: one order may not exceed the venue's market-order limit.
        # Capped (a smaller position than sized), never split into several orders.
        cap = min((c for c in (inst.max_qty, inst.max_mkt_qty) if c is not None), default=None)
        if cap is not None and qty > cap:
            qty = floor_to_step(cap, inst.qty_step)
            self.notes.append(f"quantity capped at the venue's market-order maximum {cap}")
        notional = qty * ep
        self.fig.update(qty=qty, notional=notional)
        self.notes.append(
            f"Q rounded down to step {inst.qty_step}: {qty} (notional {notional:.2f}); stop at {stop}"
        )
        if qty <= 0 or qty < inst.min_qty:
            self.reasons.append(
                Reason(ReasonCode.BELOW_MIN_QTY, f"quantity {qty} is below the minimum {inst.min_qty}",
                       {"qty": qty, "min_qty": inst.min_qty, "qty_step": inst.qty_step})
            )  # fmt: skip
        if notional < inst.min_notional:
            self.reasons.append(
                Reason(ReasonCode.BELOW_MIN_NOTIONAL, f"notional {notional:.4f} is below the minimum {inst.min_notional}",
                       {"notional": notional, "min_notional": inst.min_notional})
            )  # fmt: skip
        if qty <= 0:
            return self.reject()
        if p.on_unsafe_leverage == "reduce_leverage":
            lev = leverage_cap(inst.tiers, notional, self.lev_req, m.leverage_step)
            required = m.rules.required_distance(d_real)
            safe = max_safe_leverage(
                m.model, side, ep, qty, inst.tiers, required, lev, m.leverage_step
            )
            if safe is None:
                final = check_buffers(m.model, side, ep, qty, Decimal(1), inst.tiers, stop, m.rules)
                self._buffer_fig(final.liquidation_price, final.distance, Decimal(1))
                return self._buffer_reject(
                    final.liq_ok, final.gap_ok, final.distance, final.stop_gap, d_real
                )
            if safe < lev:
                self.notes.append(
                    f"on_unsafe_leverage = reduce_leverage: {_lev(lev)} → {_lev(safe)} "
                    f"(largest leverage with liquidation ≥ {_pct(required)} away)"
                )
            lev = safe
        final = check_buffers(m.model, side, ep, qty, lev, inst.tiers, stop, m.rules)
        self._buffer_fig(final.liquidation_price, final.distance, lev)
        margin = notional / lev
        risk = realised_risk(side, ep, qty, stop, p.cost_allowance)
        self.fig.update(margin=margin, risk_amount=risk)
        self.notes.append(
            f"final: {_lev(lev)}, margin {margin:.2f}, liquidation {final.liquidation_price:.6g} "
            f"({_pct(final.distance)}), stop gap {_pct(final.stop_gap or _ZERO)}, realised risk {risk:.2f} ≤ R {budget:.2f}"
        )
        if not final.ok:
            self._buffer_reject(final.liq_ok, final.gap_ok, final.distance, final.stop_gap, d_real)
        if risk > budget:
            self.reasons.append(
                Reason(ReasonCode.RISK_PER_TRADE, f"realised risk {risk:.4f} exceeds R {budget:.4f}",
                       {"risk_amount": risk, "risk_budget": budget})
            )  # fmt: skip
        e = max(v.equity, _ZERO)
        held = open_risk(v)
        if held + risk > p.max_total_open_risk * e:
            self.reasons.append(
                Reason(ReasonCode.TOTAL_RISK,
                       f"open risk {held:.2f} + {risk:.2f} exceeds {_pct(p.max_total_open_risk)} of equity",
                       {"open_risk": held, "risk_amount": risk, "cap": p.max_total_open_risk * e})
            )  # fmt: skip
        floor = p.min_free_margin * e
        if margin > v.free_margin or v.free_margin - margin < floor:
            self.reasons.append(
                Reason(ReasonCode.FREE_MARGIN,
                       f"margin {margin:.2f} leaves {v.free_margin - margin:.2f} free, below {floor:.2f}",
                       {"margin": margin, "free_margin": v.free_margin, "min_free": floor})
            )  # fmt: skip
        if self.reasons:
            return self.reject()
        return Approved(
            intent=i, symbol=i.symbol, side=side.entry_side, position_side=side, qty=qty,
            reduce_only=False, notional=notional, margin=margin, risk_amount=risk, risk_budget=budget,
            leverage_requested=self.lev_req, leverage_used=lev,
            liquidation_price=final.liquidation_price, liquidation_distance=final.distance,
            stop_price=stop, stop_distance=d_real, reference_price=ep,
            notes=tuple(self.notes), state_requests=tuple(self.requests),
        )  # fmt: skip
