"""Decision records: every target, order and non-order carries the rule that produced it,
the signal inputs it read and the numbers of its arithmetic ("why is 30 % in DeFi now").

``AllocationRecord.to_json`` is the row the daemon will journal in part 2; ``rotor allocate
--json`` prints the same explanations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

Input = float | int | str | bool | None


class Rule(StrEnum):
    """Stable ids of the portfolio rules (docs/portfolio.md lists each with its default)."""

    # buckets (shares of the spot sleeve)
    BUCKET_CORE = "bucket.core"
    BUCKET_ROTATIONAL = "bucket.rotational"
    BUCKET_SPECULATIVE = "bucket.speculative"
    BUCKET_CASH = "bucket.cash"
    SLEEVE_FUTURES = "sleeve.futures"
    # sector states, in the order they are tested
    SECTOR_UNSCORED = "sector.unscored"
    SECTOR_OVERLEVERAGED = "sector.overleveraged"
    SECTOR_FADING = "sector.fading"
    SECTOR_ACCUMULATION = "sector.accumulation"
    SECTOR_NEUTRAL = "sector.neutral"
    # sector weights in the rotational bucket
    SECTOR_FAVOURED = "sector.favoured"
    SECTOR_NOT_FAVOURED = "sector.not_favoured"
    SECTOR_THIN = "sector.thin"
    # token targets (weights of the whole portfolio)
    TARGET_CORE = "target.core"
    TARGET_ROTATIONAL = "target.rotational"
    TARGET_SPECULATIVE = "target.speculative"
    TARGET_NONE = "target.none"
    # the rebalance decision per token
    TRADE_DRIFT = "trade.drift"
    TRADE_RESIDUAL = "trade.residual"
    TRADE_CASH_SCALED = "trade.cash_scaled"
    HOLD_IN_BAND = "hold.inside_band"
    HOLD_MIN_TRADE = "hold.below_min_trade"
    TRANSFER_FUTURES = "transfer.futures_sleeve"
    # futures-sleeve roles
    HEDGE_OPEN = "hedge.open"
    HEDGE_KEEP = "hedge.keep"
    HEDGE_CLOSE = "hedge.close"
    TRANSITION_OPEN = "transition.open"
    TRANSITION_KEEP = "transition.keep"
    TRANSITION_CLOSE = "transition.close"
    AMPLIFY_OPEN = "amplify.open"
    AMPLIFY_KEEP = "amplify.keep"
    AMPLIFY_CLOSE = "amplify.close"
    ROLE_CONFLICT = "role.conflict"
    # the kill switch
    KILL_SELL = "kill.sell"
    KILL_KEEP_CORE = "kill.keep_core"
    KILL_DUST = "kill.dust"
    KILL_CLOSE = "kill.close"


@dataclass(frozen=True, slots=True)
class Explanation:
    """The rule, a sentence with the numbers, the signal inputs (floats) and the money
    figures (Decimal) behind one target or order."""

    rule: Rule
    text: str
    inputs: Mapping[str, Input] = field(default_factory=dict)
    numbers: Mapping[str, Decimal] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data: Decimals as strings so no digit is lost."""
        return {
            "rule": self.rule.value,
            "text": self.text,
            "inputs": dict(self.inputs),
            "numbers": {k: str(v) for k, v in self.numbers.items()},
        }


@dataclass(frozen=True, slots=True)
class AllocationRecord:
    """One journal row: at ``t`` (UTC ms), what ``kind`` of decision about ``subject``."""

    t: int
    kind: str  # bucket, sector, token, order, perp, transfer, kill
    subject: str
    explanation: Explanation

    def to_json(self) -> dict[str, Any]:
        """The row as plain data."""
        return {"t": self.t, "kind": self.kind, "subject": self.subject} | (
            self.explanation.to_json()
        )


def pct(x: Decimal | float) -> str:
    """``12.50%`` for a fraction."""
    return f"{float(x):.2%}"


def plain(x: Decimal) -> str:
    """A quantity in plain digits (``57380``, not ``5.738E+4``)."""
    return f"{x.normalize():f}"
