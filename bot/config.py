"""Configuration: pydantic-settings models with ``extra="forbid"`` everywhere.

Precedence, lowest first (issue #2):
1. the defaults in these models (``bot/defaults.toml`` documents them);
2. a TOML file (``--config`` or ``ROTOR_CONFIG``);
3. environment variables ``ROTOR__SECTION__KEY`` (and ``ROTOR__SECTION__KEY_FILE`` for secrets);
4. CLI flags where a command offers them (passed as ``overrides``).

Errors name the full key path and the reason (``risk.risk_per_trde: unknown key``).
Secrets are ``SecretStr`` so they never print; the logging pipeline redacts their values too.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

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


class HedgeConfig(Section):
    enabled: bool = False
    ratio: float = Field(default=0.10, ge=0, le=1)


class StrategyConfig(Section):
    """Signal engine parameters (STRATEGY.md). Lookbacks are in hours of 1h bars.

    Resolution: model defaults < the preset file < keys set here (``bot.signals.params``).
    """

    preset: Literal["rotation-reversion", "rsi-reversion", "laggard-only", "sector-momentum"] = (
        "rotation-reversion"
    )
    entry_timeframe: Literal["1h", "4h", "1d"] = "4h"
    stop_mode: Literal["atr", "fixed"] = "atr"
    stop_pct: float = Field(default=0.08, gt=0, lt=0.5)
    shorts: ShortsConfig = Field(default_factory=ShortsConfig)
    hedge: HedgeConfig = Field(default_factory=HedgeConfig)
    params: SignalParams = Field(
        default_factory=SignalParams,
        description="Signal parameters; only keys set here override the preset.",
    )


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
    sim: SimConfig = Field(default_factory=SimConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)

    @model_validator(mode="after")
    def _control_token_off_loopback(self) -> Settings:
        if self.control.enabled and not is_loopback(self.control.host) and not self.control.token:
            raise ValueError(
                f"control.host: binding to {self.control.host} needs control.token "
                "(only 127.0.0.1/::1/localhost may run without one)"
            )
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


class ConfigError(Exception):
    """A configuration problem; ``errors`` are ``key.path: reason`` lines."""

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        self.errors = errors
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("invalid configuration\n" + "\n".join(f"  {prefix}{e}" for e in errors))


def is_loopback(host: str) -> bool:
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("127.")


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- loading


_SECRET_WORDS = ("key", "secret", "token", "password", "url")


def _describe(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "<root>"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required"
    msg = str(err["msg"])
    if kind == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        if ": " in msg and loc == "<root>":
            return msg
    got = err.get("input")
    # Never echo the value of a secret (or a URL that may carry a password) back.
    secret = any(word in loc.lower() for word in _SECRET_WORDS)
    shown = "" if isinstance(got, dict | list) or got is None or secret else f" (got {got!r})"
    return f"{loc}: {msg}{shown}"


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """``ROTOR__SECTION__KEY=value`` → nested dict; ``..._FILE`` reads the value from a file."""
    layer: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        value: Any = raw
        # ``KEY_FILE`` reads KEY from a file (Docker secrets), unless KEY_FILE is itself a
        # real setting (e.g. ``execution.kill_file``).
        if path[-1].endswith("_file") and not _is_field(path):
            file = Path(raw)
            try:
                value = file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    [f"{'.'.join(path)}: cannot read secret file {file}: {exc}"], name
                ) from exc
            path[-1] = path[-1][: -len("_file")]
        node = layer
        for p in path[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError([f"{'.'.join(path)}: conflicts with another variable"], name)
        node[path[-1]] = _parse_env_value(value)
    return layer


def _is_field(path: list[str]) -> bool:
    """True when ``path`` names a setting in the model (e.g. ``["execution", "kill_file"]``)."""
    model: type[BaseModel] = Settings
    for i, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return False
        ann = field.annotation
        if i == len(path) - 1:
            return True
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return False
        model = ann
    return False


def _parse_env_value(raw: str) -> Any:
    """Env values are strings; lists may be given as JSON or comma-separated."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        import json

        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError([f"config file not found: {path}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from exc
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc}"], str(path)) from exc


def config_path(
    explicit: Path | str | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return None


def load_settings(
    path: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective ``Settings`` from defaults, file, environment and CLI overrides.

    ``overrides`` uses dotted keys (``{"risk.leverage": 5}``) or nested dicts.
    Raises ``ConfigError`` naming every bad key path.
    """
    env = os.environ if environ is None else environ
    file = config_path(path, env)
    layers: list[tuple[str, dict[str, Any]]] = []
    if file is not None:
        layers.append((str(file), read_toml(file)))
    layers.append(("environment", _env_layer(env)))
    if overrides:
        layers.append(("command line", _expand_dotted(overrides)))
    merged: dict[str, Any] = {}
    for _, layer in layers:
        merged = _deep_merge(merged, layer)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        errors = [_describe(e) for e in exc.errors()]
        raise ConfigError(errors, str(file) if file else None) from None


def _expand_dotted(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def iter_keys(
    model: type[BaseModel] = Settings, prefix: str = ""
) -> Iterator[tuple[str, Any, str]]:
    """Yield ``(key.path, default, description)`` for every leaf key (used by the README test)."""
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_keys(ann, f"{prefix}{name}.")
        else:
            default = field.get_default(call_default_factory=True)
            yield f"{prefix}{name}", default, field.description or ""
