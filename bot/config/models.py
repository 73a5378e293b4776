"""The configuration models: one pydantic model per section, ``extra="forbid"`` everywhere.

Secrets are ``SecretStr`` so they never print; the logging pipeline redacts their values too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.portfolio.config import PortfolioConfig, portfolio_problems
from bot.signals.params import SignalParams

ENV_PREFIX = "ROTOR__"
CONFIG_ENV = "ROTOR_CONFIG"

Mode = Literal["replay", "paper", "testnet", "live"]


class Section(BaseModel):
    """Base for every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class ExchangeConfig(Section):
    """Which venue, which credentials, and how to talk to it."""

    name: Literal["bybit", "binanceusdm"] = "bybit"
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    api_url: str | None = Field(
        default=None, description="Override the REST base URL (e.g. a local `rotor sim serve`)."
    )
    demo: bool = Field(default=False, description="Bybit demo trading (testnet mode only).")
    timeout_ms: int = Field(default=10_000, ge=500, le=120_000)
    recv_window_ms: int = Field(default=5_000, ge=1_000, le=60_000)
    poll_interval_s: float = Field(default=15.0, gt=0, le=3600)
    max_read_retries: int = Field(default=3, ge=0, le=10)
    rate_limit_ms: int | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="Minimum spacing between requests; unset = ccxt's limit for the exchange.",
    )


class UniverseConfig(Section):
    """Which symbols are traded."""

    symbols: list[str] = Field(default_factory=list, description="Empty = every mapped symbol.")
    exclude: list[str] = Field(default_factory=list)
    sector_map: Path | None = Field(default=None, description="CSV symbol,sector override.")
    quote: Literal["USDT"] = "USDT"


class DataConfig(Section):
    """Data-quality gate: every tick and bar is checked before any decision can use it.

    Jump limits are ``|ln(value / reference)|`` and a value is rejected only when it is off by
    more than the limit from BOTH the previous value and the mark price.
    """

    max_jump: float = Field(
        default=1.0, gt=0, le=10, description="Close/last vs previous and mark."
    )
    max_wick: float = Field(default=3.0, gt=0, le=20, description="High/low vs previous close.")
    max_mark_dev: float = Field(default=0.25, gt=0, le=10, description="Mark vs previous mark.")
    max_oi_jump: float = Field(default=3.0, gt=0, le=20)
    max_funding_abs: float = Field(default=0.1, gt=0, le=1, description="Per settlement.")
    reanchor_after: int = Field(
        default=3, ge=1, le=100, description="Consistent jumps accepted as a new price level."
    )


class ShortsConfig(Section):
    enabled: bool = False


class StrategyConfig(Section):
    """Signal engine parameters (STRATEGY.md). Lookbacks are in hours of 1h bars.

    Resolution: model defaults < the preset file < keys set here (``bot.signals.params``).
    """

    mode: Literal["perp", "portfolio"] = Field(
        default="perp",
        description="perp: the perpetual presets; portfolio: the spot sleeve of [portfolio].",
    )
    preset: Literal["rotation-reversion", "rsi-reversion", "laggard-only", "sector-momentum"] = (
        "rotation-reversion"
    )
    entry_timeframe: Literal["1h", "4h", "1d"] = "4h"
    stop_mode: Literal["atr", "fixed"] = "atr"
    stop_pct: float = Field(default=0.08, gt=0, lt=0.5)
    shorts: ShortsConfig = Field(default_factory=ShortsConfig)
    params: SignalParams = Field(
        default_factory=SignalParams,
        description="Signal parameters; only keys set here override the preset.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_perp_hedge(cls, data: Any) -> Any:
        """``strategy.hedge`` is gone: it was journaled as a decision but never executed."""
        if isinstance(data, dict) and "hedge" in data:
            raise ValueError(
                "strategy.hedge: removed: the perp hedge was never executed (it only appeared "
                "in the decision journal); delete the key. The portfolio mode's hedge role "
                "(portfolio.hedge) is executed."
            )
        return data


class RiskConfig(Section):
    """Sizing, liquidation buffers and portfolio limits (RISK.md)."""

    risk_per_trade: float = Field(default=0.02, gt=0, le=0.05)
    leverage: float = Field(default=10.0, ge=1, le=125)
    cost_allowance: float = Field(
        default=0.0021, ge=0, lt=0.05, description="Round-trip cost per unit notional."
    )
    max_open_positions: int = Field(default=5, ge=1, le=100)
    max_positions_per_sector: int = Field(default=2, ge=1, le=100)
    max_total_open_risk: float = Field(default=0.06, gt=0, le=1)
    max_gross_notional: float = Field(default=3.0, gt=0, le=100)
    max_sector_notional: float = Field(default=1.5, gt=0, le=100)
    exposure_action: Literal["reject", "shrink"] = "shrink"
    min_free_margin: float = Field(default=0.20, ge=0, lt=1)
    min_liquidation_distance: float = Field(default=0.12, ge=0, lt=1)
    stop_liquidation_gap: float = Field(default=0.03, ge=0, lt=1)
    on_unsafe_leverage: Literal["reduce_leverage", "tighten_stop", "reject"] = "reduce_leverage"
    stop_max_pct: float = Field(default=0.09, gt=0, lt=0.5, description="d_max for stops.")
    funding_cap_8h: float = Field(default=0.0005, ge=0, le=0.05)
    stale_after_polls: int = Field(default=3, ge=1, le=100)
    price_sanity_max_dev: float = Field(default=0.02, gt=0, le=1)
    max_slippage: float = Field(
        default=0.01,
        gt=0,
        le=0.2,
        description="Refuse a market entry whose touch price is further than this from the "
        "price it was sized on.",
    )
    max_orders_per_minute: int = Field(default=20, ge=1, le=10_000)
    daily_loss_limit: float = Field(default=0.05, gt=0, le=1)
    max_drawdown: float = Field(default=0.15, gt=0, le=1)
    account_type: Literal["unified", "classic"] = Field(
        default="unified", description="Bybit account model for the liquidation formula."
    )
    taker_fee: float = Field(
        default=0.00055,
        ge=0,
        lt=0.01,
        description="Taker fee rate for Bybit's fee-to-close term in the maintenance margin.",
    )
    default_mmr: float = Field(
        default=0.005,
        gt=0,
        lt=0.5,
        description="MMR assumed where no venue tiers are known (risk explain, config validation).",
    )


class ExecutionConfig(Section):
    """Order manager, reconciliation and the kill switch."""

    client_id_prefix: str = Field(default="rtr", pattern=r"^[a-z][a-z0-9]{1,7}$")
    order_timeout_s: float = Field(default=10.0, gt=0, le=120)
    reconcile_interval_s: float = Field(default=60.0, gt=0, le=3600)
    unknown_position_policy: Literal["adopt", "refuse"] = "adopt"
    stop_trigger_by: Literal["mark", "last"] = "mark"
    margin_mode: Literal["isolated", "cross"] = Field(
        default="isolated",
        description="Account margin mode set at start-up (RISK.md's formulas are isolated).",
    )
    kill_file: Path | None = None
    kill_retry_max_backoff_s: float = Field(default=30.0, gt=0, le=600)
    shutdown_timeout_s: float = Field(default=25.0, gt=0, le=300)


class DatabaseConfig(Section):
    """Where orders, fills, positions and decisions are persisted."""

    url: str = "sqlite+aiosqlite:///var/rotor.db"
    busy_timeout_ms: int = Field(default=5_000, ge=0, le=120_000)
    lease_ttl_s: float = Field(default=30.0, gt=1, le=600)
    auto_upgrade: bool = True

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        return mask_url_password(self.url)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # repr()/str() of the settings must not show a password inside database.url.
        for key, value in super().__repr_args__():
            yield key, (self.masked_url() if key == "url" else value)

    def password(self) -> str | None:
        return urlsplit(self.url).password


class ControlConfig(Section):
    """The local HTTP control API."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: SecretStr | None = None
    enabled: bool = True


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class AlertsConfig(Section):
    """Operator notifications (apprise URLs: Telegram, Discord, Slack, e-mail, ntfy, webhooks)."""

    urls: list[SecretStr] = Field(
        default_factory=list,
        description="apprise URLs, secrets (ROTOR__ALERTS__URLS_FILE: one per line); none = off.",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="Per-send network timeout.")
    queue_size: int = Field(default=100, ge=1, le=10_000, description="Alerts waiting to go.")
    max_per_minute: int = Field(default=20, ge=1, description="More are dropped (and counted).")
    daily_summary_hour: int | None = Field(
        default=0, ge=0, le=23, description="UTC hour of the daily summary; None = none."
    )

    @field_validator("urls", mode="before")
    @classmethod
    def _one_per_line(cls, value: Any) -> Any:
        """A file or variable holds the URLs one per line (or comma/space separated)."""
        if isinstance(value, str):
            return value.replace(",", " ").split()
        return value


class SimConfig(Section):
    """The simulated exchange (replay mode and `rotor sim serve`)."""

    data_dir: Path | None = Field(default=None, description="None = the bundled sample.")
    speed: float = Field(
        default=0.0, ge=0, description="Simulated seconds per wall second; 0 = as fast as possible."
    )
    start: str | None = Field(default=None, description="ISO8601 start of the replay.")
    equity: float = Field(default=10_000.0, gt=0)
    fee_taker: float = Field(default=0.00055, ge=0, lt=0.01)
    fee_maker: float = Field(default=0.0002, ge=-0.001, lt=0.01)
    slippage: float = Field(default=0.0005, ge=0, lt=0.05)
    partial_fills: bool = False
    faults: Path | None = None


class BacktestConfig(Section):
    starting_equity: float = Field(default=10_000.0, gt=0)
    fee_taker: float = Field(default=0.00055, ge=0, lt=0.01)
    fee_maker: float = Field(default=0.0002, ge=-0.001, lt=0.01)
    slippage: float = Field(default=0.0005, ge=0, lt=0.05)


class Settings(Section):
    """The whole configuration."""

    mode: Mode = "replay"
    exchange: ExchangeConfig = Field(default_factory=ExchangeConfig)
    universe: UniverseConfig = Field(default_factory=UniverseConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    portfolio: PortfolioConfig = Field(default_factory=PortfolioConfig)

    @model_validator(mode="after")
    def _control_token_off_loopback(self) -> Settings:
        if self.control.enabled and not is_loopback(self.control.host) and not self.control.token:
            raise ValueError(
                f"control.host: binding to {self.control.host} needs control.token "
                "(only 127.0.0.1/::1/localhost may run without one)"
            )
        return self

    @model_validator(mode="after")
    def _portfolio_consistent(self) -> Settings:
        # Only in portfolio mode: a perp user's risk settings must not fail on unused keys.
        problems = portfolio_problems(self) if self.strategy.mode == "portfolio" else []
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def secrets(self) -> list[str]:
        """Every secret value configured, for the log redaction processor."""
        out = [
            s.get_secret_value()
            for s in (self.exchange.api_key, self.exchange.api_secret, self.control.token)
            if s is not None and s.get_secret_value()
        ]
        pw = self.database.password()
        if pw:
            out.append(pw)
        out.extend(u.get_secret_value() for u in self.alerts.urls if u.get_secret_value())
        return out

    def masked_dump(self) -> dict[str, Any]:
        """The effective config as plain data with every secret masked."""
        data = self.model_dump(mode="json")
        for section, key in (
            ("exchange", "api_key"),
            ("exchange", "api_secret"),
            ("control", "token"),
        ):
            if data[section][key] is not None:
                data[section][key] = "**********"
        data["database"]["url"] = self.database.masked_url()
        return data


def is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("127.")


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- loading
