"""The ``[portfolio]`` config section (issue #20): sleeves, buckets, rotation, rebalancing and
the futures-sleeve roles. Money fractions are ``Decimal`` (exact sums); score thresholds are
floats like the signal maths they compare with.

Kept import-light (pydantic only): ``bot.config`` imports it to build ``Settings``.
Cross-section checks (stops against ``risk.stop_max_pct``) live in ``portfolio_problems``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from bot.config import Settings

_SYMBOL = re.compile(r"^[A-Z0-9]+USDT$")
_ONE = Decimal(1)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _frac(default: str, description: str = "", *, gt: bool = False) -> Decimal:
    """A fraction field in [0, 1] (or (0, 1] with ``gt``)."""
    if gt:
        return Field(default=Decimal(default), gt=Decimal(0), le=_ONE, description=description)
    return Field(default=Decimal(default), ge=Decimal(0), le=_ONE, description=description)


class BucketsConfig(_Section):
    """Bucket bounds as shares of the spot sleeve (the issue's 50-60 / 20-30 / 10-20 %)."""

    core_min: Decimal = _frac("0.50", "Core bucket (BTC, ETH, foundational L1s), lower bound.")
    core_max: Decimal = _frac("0.60")
    rotational_min: Decimal = _frac("0.20", "Rotational bucket, moved between sectors.")
    rotational_max: Decimal = _frac("0.30")
    speculative_min: Decimal = _frac("0.10", "Speculative bucket (new narratives, small caps).")
    speculative_max: Decimal = _frac("0.20")

    @model_validator(mode="after")
    def _bounds(self) -> BucketsConfig:
        for name in ("core", "rotational", "speculative"):
            lo, hi = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if lo > hi:
                raise ValueError(f"{name}_min {lo} is above {name}_max {hi}")
        top = self.core_min + self.rotational_max + self.speculative_max
        if top > _ONE:
            raise ValueError(
                f"core_min {self.core_min} + rotational_max {self.rotational_max} + "
                f"speculative_max {self.speculative_max} = {top} exceeds the whole spot sleeve (1)"
            )
        return self


class CoreConfig(_Section):
    """The anchors: held whatever the trend, in these shares of the core bucket."""

    assets: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "BTCUSDT": Decimal("0.5"),
            "ETHUSDT": Decimal("0.3"),
            "SOLUSDT": Decimal("0.2"),
        },
        description="symbol = share of the core bucket; the shares sum to 1.",
    )

    @field_validator("assets", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        # Environment variables arrive lower-cased (ROTOR__PORTFOLIO__CORE__ASSETS__BTCUSDT).
        return {str(k).upper(): x for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("assets")
    @classmethod
    def _shares(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        if not v:
            raise ValueError("needs at least one asset")
        for sym, share in v.items():
            if not _SYMBOL.match(sym):
                raise ValueError(f"{sym!r} is not a USDT symbol such as BTCUSDT")
            if not share.is_finite() or share <= 0 or share > _ONE:
                raise ValueError(f"{sym}: share {share} must be in (0, 1]")
        total = sum(v.values(), Decimal(0))
        if total != _ONE:
            raise ValueError(f"the shares sum to {total}, not 1")
        return v


class RotationConfig(_Section):
    """From sector scores to the rotational bucket (docs/portfolio.md, "Rotation")."""

    max_sectors: int = Field(2, ge=1, le=6, description="Favoured sectors held at once.")
    tokens_per_sector: int = Field(
        3, ge=2, le=5, description="Leading tokens bought per favoured sector (never one)."
    )
    liquid_pool: int = Field(
        8, ge=2, le=100, description="Leaders come from the sector's N most-traded members."
    )
    liquidity_lookback_h: int = Field(720, ge=24, le=8760, description="Quote-volume window.")
    momentum_lookback_h: int = Field(
        504, ge=24, le=8760, description="Leaders rank by their log return over this window."
    )
    min_score: float = Field(0.0, description="A favoured sector scores above this.")
    full_score: float = Field(
        2.0, gt=0, description="Best tilt at which the rotational bucket reaches its maximum."
    )
    accumulation_boost: float = Field(
        1.5, ge=1, le=5, description="Score multiplier for accumulation with healthy funding."
    )
    healthy_funding_8h: float = Field(
        0.0001, ge=0, le=0.01, description="Funding heat at or below this is low."
    )
    stable_funding_8h: float = Field(
        0.0001, ge=0, le=0.01, description="Latest funding within this of the 7d mean is stable."
    )
    max_sector_share: Decimal = _frac(
        "0.60", "One sector's cap inside the rotational bucket.", gt=True
    )


class SpeculativeConfig(_Section):
    """The speculative bucket: the strongest members of the narrative sectors."""

    sectors: list[str] = Field(
        default_factory=lambda: ["ai", "meme", "gaming", "rwa"],
        description="Sector ids whose members may be held as speculative.",
    )
    tokens: int = Field(3, ge=2, le=10, description="Tokens held (never one).")


class RebalanceConfig(_Section):
    """Trading toward the targets (docs/portfolio.md, "Rebalancing")."""

    interval_h: int = Field(
        24, ge=1, le=24 * 30, description="Hours between rebalances (at UTC multiples of it)."
    )
    drift_abs: Decimal = _frac("0.01", "Trade a token only when its weight is off by more ...")
    drift_rel: Decimal = _frac("0.25", "... than max(drift_abs, drift_rel × target weight).")
    min_trade: Decimal = Field(
        default=Decimal("25"), ge=0, le=Decimal(10) ** 9, description="USDT; smaller trades wait."
    )
    spot_fee: Decimal = Field(
        default=Decimal("0.001"), ge=0, lt=Decimal("0.05"), description="Spot taker fee rate."
    )
    residual: Decimal = Field(
        default=Decimal("0.10"),
        ge=0,
        le=Decimal("0.5"),
        description="A sell keeps at least this fraction of the holding (never 100 % at once).",
    )


class HedgeRoleConfig(_Section):
    """Role (a): short BTC (or the hot sectors' leaders) when the market is frothy."""

    enabled: bool = True
    ratio: Decimal = _frac("0.10", "Hedge notional as a fraction of the spot sleeve's value.")
    funding_on_8h: float = Field(
        0.0003, ge=0, le=0.01, description="Market funding heat that opens the hedge."
    )
    funding_off_8h: float = Field(
        0.0001, ge=0, le=0.01, description="Heat below which it closes (funding normalised)."
    )
    target: Literal["btc", "sector_leaders"] = "btc"
    leverage: Decimal = Field(default=Decimal(1), ge=1, le=5, description="Unleveraged: 1.")
    stop: Decimal = _frac("0.08", "Stop distance (fraction of price).", gt=True)

    @model_validator(mode="after")
    def _hysteresis(self) -> HedgeRoleConfig:
        if self.funding_off_8h > self.funding_on_8h:
            raise ValueError(
                f"funding_off_8h {self.funding_off_8h} is above funding_on_8h {self.funding_on_8h}"
            )
        return self


class TransitionRoleConfig(_Section):
    """Role (b): while a sector's spot is sold, short its leading tokens at low leverage."""

    enabled: bool = True
    tokens: int = Field(2, ge=2, le=3)
    ratio: Decimal = _frac("1.0", "Short notional as a fraction of the spot being sold.")
    leverage: Decimal = Field(default=Decimal(2), ge=1, le=5)
    stop: Decimal = _frac("0.06", "Stop distance (fraction of price).", gt=True)


class AmplifyRoleConfig(_Section):
    """Role (c): long the top tokens of the sector rotated into, at 2-3x, with hard stops."""

    enabled: bool = True
    tokens: int = Field(2, ge=1, le=3)
    max_sectors: int = Field(1, ge=1, le=3)
    margin_share: Decimal = _frac("0.25", "Margin per amplified sector, of the futures sleeve.")
    leverage: Decimal = Field(default=Decimal(2), ge=1, le=5, description="Never above 5x.")
    stop: Decimal = _frac("0.05", "Hard stop distance (fraction of price).", gt=True)


class PortfolioConfig(_Section):
    """``strategy.mode = "portfolio"``: a spot sleeve rotated by futures signals (issue #20)."""

    spot_share: Decimal = Field(
        default=Decimal("0.80"),
        gt=0,
        le=_ONE,
        description="The spot sleeve; the futures sleeve is the rest.",
    )
    kill_spot: Literal["keep_core", "all"] = Field(
        "keep_core", description="What the kill switch sells of the spot sleeve."
    )
    buckets: BucketsConfig = Field(default_factory=BucketsConfig)
    core: CoreConfig = Field(default_factory=CoreConfig)
    rotation: RotationConfig = Field(default_factory=RotationConfig)
    speculative: SpeculativeConfig = Field(default_factory=SpeculativeConfig)
    rebalance: RebalanceConfig = Field(default_factory=RebalanceConfig)
    hedge: HedgeRoleConfig = Field(default_factory=HedgeRoleConfig)
    transition: TransitionRoleConfig = Field(default_factory=TransitionRoleConfig)
    amplify: AmplifyRoleConfig = Field(default_factory=AmplifyRoleConfig)


def portfolio_problems(settings: Settings) -> list[str]:
    """Combinations of ``portfolio.*`` with other sections that can never work, as
    ``key.path: reason`` lines (empty = fine)."""
    out: list[str] = []
    pf, risk = settings.portfolio, settings.risk
    stop_max = Decimal(str(risk.stop_max_pct))
    for role in ("hedge", "transition", "amplify"):
        cfg = getattr(pf, role)
        if cfg.enabled and cfg.stop > stop_max:
            out.append(
                f"portfolio.{role}.stop: {cfg.stop} is wider than risk.stop_max_pct {stop_max}; "
                f"the risk manager would refuse every {role} order"
            )
    if pf.spot_share == _ONE and (pf.hedge.enabled or pf.amplify.enabled):
        out.append(
            "portfolio.spot_share: 1 leaves no futures sleeve for the enabled hedge/amplify roles"
        )
    return out
