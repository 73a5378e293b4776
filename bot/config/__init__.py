"""Configuration: pydantic models with ``extra="forbid"`` everywhere (``models``), loaded in
layers (``loader``).

Precedence, lowest first (issue #2):
1. the defaults in these models (``bot/defaults.toml`` documents them);
2. a TOML file (``--config`` or ``ROTOR_CONFIG``);
3. environment variables ``ROTOR__SECTION__KEY`` (and ``ROTOR__SECTION__KEY_FILE`` for secrets);
4. CLI flags where a command offers them (passed as ``overrides``).

Errors name the full key path and the reason (``risk.risk_per_trde: unknown key``).
Secrets are ``SecretStr`` so they never print; the logging pipeline redacts their values too.
"""

from bot.config.loader import (
    ConfigError,
    config_path,
    iter_keys,
    load_settings,
    read_toml,
)
from bot.config.models import (
    CONFIG_ENV,
    ENV_PREFIX,
    BacktestConfig,
    ControlConfig,
    DatabaseConfig,
    DataConfig,
    ExchangeConfig,
    ExecutionConfig,
    LoggingConfig,
    Mode,
    RiskConfig,
    Section,
    Settings,
    ShortsConfig,
    SimConfig,
    StrategyConfig,
    UniverseConfig,
    is_loopback,
    mask_url_password,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "BacktestConfig",
    "ConfigError",
    "ControlConfig",
    "DataConfig",
    "DatabaseConfig",
    "ExchangeConfig",
    "ExecutionConfig",
    "LoggingConfig",
    "Mode",
    "RiskConfig",
    "Section",
    "Settings",
    "ShortsConfig",
    "SimConfig",
    "StrategyConfig",
    "UniverseConfig",
    "config_path",
    "is_loopback",
    "iter_keys",
    "load_settings",
    "mask_url_password",
    "read_toml",
]
