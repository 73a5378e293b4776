"""``rotor allocate --json``: current vs target weights per bucket and sector, the signals
behind each, and the orders a rebalance would send. Decimal figures are strings (exact);
signal inputs are floats. Every target and order carries its ``why`` (rule, text, inputs,
numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.portfolio.account import CheckedPerp
from bot.portfolio.allocate import Allocation
from bot.portfolio.targets import BUCKETS, CASH
from bot.risk.decision import Approved

_ZERO = Decimal(0)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _s(x: Decimal) -> str:
    """Exact digits without an exponent (``0E-12`` → ``0``)."""
    return f"{x.normalize():f}" if x != 0 else "0"


def _w(x: Decimal) -> str:
    """A weight rounded for reading (the ``why`` numbers stay exact)."""
    return _s(x.quantize(Decimal("1e-8")))


def current_by(alloc: Allocation) -> tuple[dict[str, Decimal], dict[tuple[str, str], Decimal]]:
    """Current weights per bucket and per (bucket, sector) from the planner's token lines."""
    buckets: dict[str, Decimal] = {}
    sectors: dict[tuple[str, str], Decimal] = {}
    for ln in alloc.spot.lines:
        buckets[ln.bucket] = buckets.get(ln.bucket, _ZERO) + ln.weight
        key = (ln.bucket, ln.sector or "-")
        sectors[key] = sectors.get(key, _ZERO) + ln.weight
    return buckets, sectors


def _perp(c: CheckedPerp) -> dict[str, Any]:
    """A role's perp intent with the risk manager's decision (``qty`` only when approved)."""
    a, d = c.action, c.decision
    i = a.intent
    return {
        "symbol": i.symbol,
        "market": "perp",
        "side": (i.side.exit_side if i.reduce_only else i.side.entry_side).value,
        "qty": _s(d.qty) if isinstance(d, Approved) else None,
        "reason": a.explanation.text,
        "role": a.role.value,
        "kind": i.kind,
        "reduce_only": i.reduce_only,
        "requested_notional": _s(a.notional.quantize(Decimal("0.01"))),
        "risk": d.to_dict(),
        "why": a.explanation.to_json(),
    }


def allocation_report(alloc: Allocation, checks: Sequence[CheckedPerp]) -> dict[str, Any]:
    """The ``--json`` object."""
    tg, plan, val = alloc.targets, alloc.spot, alloc.valuation
    nav = val.nav
    cur_b, cur_s = current_by(alloc)
    buckets: dict[str, Any] = {}
    for name in (*BUCKETS, CASH):
        b = tg.buckets[name]
        cur = val.cash / nav if name == CASH and nav > 0 else cur_b.get(name, _ZERO)
        buckets[name] = {
            "target": _w(b.weight),
            "current": _w(cur),
            "share_of_spot_sleeve": _s(b.share),
            "invested_target": _w(b.invested),
            "why": b.explanation.to_json(),
        }
    sectors = [
        {
            "sector": s.sector,
            "bucket": s.bucket,
            "target": _w(s.weight),
            "current": _w(cur_s.get((s.bucket, s.sector), _ZERO)),
            "tokens": list(s.tokens),
            "state": s.signal.state.value if s.signal else None,
            "tilt": s.signal.tilt if s.signal else None,
            "inputs": dict(s.signal.explanation.inputs) if s.signal else {},
            "why": s.explanation.to_json(),
        }
        for s in tg.sectors
    ]
    targeted = {(s.bucket, s.sector) for s in tg.sectors}
    sectors += [  # held outside every target (e.g. a sector rotated out)
        {"sector": sec, "bucket": b, "target": "0", "current": _w(w), "tokens": [], "state": None,
         "tilt": None, "inputs": {}, "why": None}
        for (b, sec), w in sorted(cur_s.items()) if (b, sec) not in targeted and w > 0
    ]  # fmt: skip
    tokens = [
        {
            "symbol": ln.symbol,
            "bucket": ln.bucket,
            "sector": ln.sector,
            "qty": _s(ln.qty),
            "value": _s(ln.value.quantize(Decimal("0.01"))),
            "current": _w(ln.weight),
            "target": _w(ln.target),
            "band": _w(ln.band),
            "target_why": tg.tokens[ln.symbol].explanation.to_json()
            if ln.symbol in tg.tokens
            else None,
            "decision": ln.explanation.to_json(),
        }
        for ln in plan.lines
    ]
    orders: list[dict[str, Any]] = [
        {
            "symbol": o.symbol,
            "market": "spot",
            "side": o.side.value,
            "qty": _s(o.qty),
            "reason": o.explanation.text,
            "bucket": o.bucket,
            "sector": o.sector,
            "price": _s(o.price),
            "notional": _s(o.notional.quantize(Decimal("0.01"))),
            "fee": _s(o.fee.quantize(Decimal("0.0001"))),
            "why": o.explanation.to_json(),
        }
        for o in plan.orders
    ]
    # Only what the risk manager approves would be sent; refusals are shown with their codes.
    orders += [_perp(c) for c in checks if isinstance(c.decision, Approved)]
    refused = [_perp(c) for c in checks if not isinstance(c.decision, Approved)]
    transfers = (
        []
        if plan.transfer_explanation is None
        else [
            {
                "from": "spot" if plan.transfer > 0 else "futures",
                "to": "futures" if plan.transfer > 0 else "spot",
                "amount": _s(abs(plan.transfer).quantize(Decimal("0.01"))),
                "why": plan.transfer_explanation.to_json(),
            }
        ]
    )
    froth = alloc.roles.froth
    return {
        "t": _iso(alloc.t),
        "nav": _s(nav.quantize(Decimal("0.01"))),
        "regime": {"risk_on": tg.regime.risk_on, "breadth": tg.regime.breadth},
        "sleeves": {
            "spot": {"target": _w(tg.spot_share), "current": _w((val.cash + val.spot_value) / nav)},
            "futures": {"target": _w(tg.futures_weight), "current": _w(val.futures_value / nav)},
        },
        "buckets": buckets,
        "sectors": sectors,
        "tokens": tokens,
        "orders": orders,
        "refused": refused,
        "transfers": transfers,
        "futures_roles": {
            "froth": froth.inputs() if froth else None,
            "notes": [{"subject": s, "why": why.to_json()} for s, why in alloc.roles.notes],
        },
        "cash": {
            "before": _s(plan.cash_before.quantize(Decimal("0.01"))),
            "after": _s(plan.cash_after.quantize(Decimal("0.01"))),
            "fees": _s(plan.fees.quantize(Decimal("0.0001"))),
        },
    }
