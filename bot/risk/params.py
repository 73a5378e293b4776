"""Risk parameters as Decimals, converted once from the float config at the boundary."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.config import RiskConfig

OnUnsafe = Literal["reduce_leverage", "tighten_stop", "reject"]
ExposureAction = Literal["reject", "shrink"]


def dec(value: float | int | str | Decimal) -> Decimal:
    """Float → Decimal through ``str`` so 0.02 stays 0.02, not its binary expansion."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Everything the manager needs from ``risk.*`` (RISK.md defaults)."""

    risk_per_trade: Decimal = Decimal("0.02")
    leverage: Decimal = Decimal(10)
    cost_allowance: Decimal = Decimal("0.0021")
    taker_fee: Decimal = Decimal("0.00055")
    max_open_positions: int = 5
    max_positions_per_sector: int = 2
    max_total_open_risk: Decimal = Decimal("0.06")
    max_gross_notional: Decimal = Decimal(3)
    max_sector_notional: Decimal = Decimal("1.5")
    exposure_action: ExposureAction = "shrink"
    min_free_margin: Decimal = Decimal("0.20")
    min_liquidation_distance: Decimal = Decimal("0.12")
    stop_liquidation_gap: Decimal = Decimal("0.03")
    on_unsafe_leverage: OnUnsafe = "reduce_leverage"
    stop_max_pct: Decimal = Decimal("0.09")
    funding_cap_8h: Decimal = Decimal("0.0005")
    stale_after_polls: int = 3
    price_sanity_max_dev: Decimal = Decimal("0.02")
    max_slippage: Decimal = Decimal("0.01")
    max_orders_per_minute: int = 20
    daily_loss_limit: Decimal = Decimal("0.05")
    max_drawdown: Decimal = Decimal("0.15")
    account_type: Literal["unified", "classic"] = "unified"

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> RiskParams:
        """Copy every matching field of the pydantic section, floats through ``str``."""
        values: dict[str, object] = {}
        for f in fields(cls):
            if not hasattr(cfg, f.name):
                continue
            raw = getattr(cfg, f.name)
            values[f.name] = dec(raw) if isinstance(raw, float) else raw
        return cls(**values)  # type: ignore[arg-type]
