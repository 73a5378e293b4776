"""Stable rejection reason codes and the numbers behind them (RISK.md, "Reason codes")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class ReasonCode(StrEnum):
    """Every rejection carries one or more of these; they are logged, persisted and counted."""

    RISK_PER_TRADE = "RISK_PER_TRADE"
    BELOW_MIN_QTY = "BELOW_MIN_QTY"
    BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"
    LIQ_TOO_CLOSE = "LIQ_TOO_CLOSE"
    STOP_BEHIND_LIQ = "STOP_BEHIND_LIQ"
    MAX_POSITIONS = "MAX_POSITIONS"
    SECTOR_LIMIT = "SECTOR_LIMIT"
    TOTAL_RISK = "TOTAL_RISK"
    GROSS_EXPOSURE = "GROSS_EXPOSURE"
    FREE_MARGIN = "FREE_MARGIN"
    FUNDING_CAP = "FUNDING_CAP"
    STALE_DATA = "STALE_DATA"
    BAD_PRICE = "BAD_PRICE"
    STATE_REDUCING = "STATE_REDUCING"
    STATE_HALTED = "STATE_HALTED"
    ORDER_RATE = "ORDER_RATE"
    # Not in RISK.md's list: a reduce-only intent for a position rotor does not hold, and an
    # entry against a held opposite position (one-way mode would net it instead of opening).
    NO_POSITION = "NO_POSITION"
    OPPOSITE_POSITION = "OPPOSITE_POSITION"
    # A market entry whose expected fill (the touch: ask to buy, bid to sell) is further from
    # the price it was sized on than ``risk.max_slippage`` (RELIABILITY.md #45).
    SLIPPAGE = "SLIPPAGE"


Number = Decimal | int | str | None


@dataclass(frozen=True, slots=True)
class Reason:
    """One rejection reason: a stable code, a sentence, and the numbers behind it."""

    code: ReasonCode
    message: str
    numbers: Mapping[str, Number] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain data for logs, storage and JSON (Decimals as strings, exact)."""
        return {
            "code": self.code.value,
            "message": self.message,
            "numbers": {
                k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.numbers.items()
            },
        }
