"""What the portfolio mode journals at a rebalance or a kill: every allocation decision but
"inside the band" holds, the coins the venue shows and the USDT split, as ``decisions`` rows
with action ``portfolio`` ("why is 30 % in DeFi now" is answered from them)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import Action, Decision
from bot.portfolio.explain import AllocationRecord, Rule
from bot.portfolio.holdings import Holdings
from bot.venues.spot import SpotHolding, spot_id


def decision_rows(
    records: Iterable[AllocationRecord], coins: Iterable[SpotHolding], h: Holdings, t: int
) -> list[Decision]:
    """The rows of one rebalance (or kill) at ``t``: its records, then the holdings."""
    rows = [_decision(r) for r in records if r.explanation.rule is not Rule.HOLD_IN_BAND]
    rows += [
        Decision(
            t,
            spot_id(c.market.symbol),
            None,
            Action.PORTFOLIO,
            ("holding",),
            {"kind": "holding", "qty": str(c.qty), "price": str(c.price), "value": str(c.value)},
        )
        for c in coins
    ]
    rows.append(
        Decision(
            t,
            "USDT",
            None,
            Action.PORTFOLIO,
            ("holding",),
            {"kind": "holding", "cash": str(h.cash), "collateral": str(h.futures_collateral)},
        )
    )
    return rows


def _decision(r: AllocationRecord) -> Decision:
    j = r.to_json()
    return Decision(
        r.t,
        r.subject[:32],
        None,
        Action.PORTFOLIO,
        (str(j.get("rule", "")), str(j.get("text", ""))[:500]),
        {"kind": r.kind, "inputs": j.get("inputs", {}), "numbers": j.get("numbers", {})},
    )
