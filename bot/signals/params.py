"""Signal parameters, presets and their resolution (STRATEGY.md, "Presets").

Resolution order, lowest first: the defaults of :class:`SignalParams` < the preset's TOML file
(``bot/signals/presets/<name>.toml``) < keys the user set under ``[strategy]`` /
``[strategy.params]``. Lookbacks are in hours of 1h bars; ``*_bars`` are entry-timeframe bars.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from bot.config import StrategyConfig

PRESETS = ("rotation-reversion", "rsi-reversion", "laggard-only", "sector-momentum")
# Top-level [strategy] keys a preset may also set.
_STRATEGY_KEYS = ("entry_timeframe", "stop_mode", "stop_pct")


class SignalParams(BaseModel):
    """Every tunable number of the signal engine; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # what the preset trades
    entry_mode: Literal["laggard", "momentum", "rsi"] = Field(
        "laggard", description="laggard: layer 3; momentum: strongest member; rsi: per symbol."
    )
    require_leader: bool = Field(True, description="Entries only in leading sectors.")
    rank_by: Literal["zgap_score", "zgap", "momentum", "rsi"] = "zgap_score"
    benchmark: str = Field("BTCUSDT", description="Used when no symbol is tagged 'benchmark'.")
    # layer 1: regime
    regime_lookback_h: int = Field(480, ge=1)
    regime_volume_h: int = Field(720, ge=1)
    breadth_lookback_h: int = Field(720, ge=1)
    risk_off_action: Literal["block", "half", "ignore"] = "block"
    # layer 2: rotation
    min_sector_members: int = Field(4, ge=2)
    rs_short_h: int = Field(168, ge=1)
    rs_long_h: int = Field(720, ge=1)
    accel_lag_h: int = Field(168, ge=1)
    oi_lookback_h: int = Field(168, ge=1)
    heat_window_h: int = Field(168, ge=1)
    heat_floor_8h: float = 0.0005
    heat_percentile: float = Field(90.0, gt=0, lt=100)
    heat_history_days: int = Field(365, ge=1)
    heat_min_days: int = Field(30, ge=1)
    w_rs_long: float = 0.5
    w_accel: float = 0.5
    w_oi: float = 0.5
    overheat_penalty: float = 2.0
    n_leaders: int = Field(2, ge=1)
    rotation_out_evals: int = Field(3, ge=1)
    # layer 3: laggards
    gap_lookback_h: int = Field(504, ge=1)
    vol_lookback_h: int = Field(720, ge=2)
    gap_max: float = -0.08
    zgap_max: float = -1.5
    momentum_top_n: int = Field(1, ge=1)
    # confirmation (entry timeframe)
    confirm: bool = True
    rsi_period: int = Field(14, ge=2)
    adx_period: int = Field(14, ge=2)
    atr_period: int = Field(14, ge=1)
    ema_period: int = Field(20, ge=2)
    rsi_mode: Literal["fixed", "percentile"] = "fixed"
    rsi_oversold: float = Field(30.0, gt=0, lt=100)
    rsi_overbought: float = Field(70.0, gt=0, lt=100)
    rsi_percentile: float = Field(10.0, gt=0, lt=100)
    rsi_percentile_bars: int = Field(100, ge=10)
    adx_max: float = Field(25.0, gt=0)
    entry_trigger: Literal["cross_up", "below"] = "cross_up"
    cross_lookback_bars: int = Field(3, ge=1)
    require_lower_low: bool = False
    lower_low_literal: bool = Field(
        False, description="Use the source's literal clause lowest(low,20) != lowest(low,10)."
    )
    lower_low_long_bars: int = Field(20, ge=2)
    lower_low_short_bars: int = Field(10, ge=1)
    divergence: bool = False
    divergence_k: int = Field(3, ge=1)
    divergence_lookback_bars: int = Field(30, ge=5)
    divergence_bonus: float = 0.5
    funding_filter: bool = True
    funding_max_8h: float = 0.0005
    # exits
    exit_rule: Literal["rsi", "ema", "gap", "none"] = "rsi"
    exit_rsi: float = Field(50.0, gt=0, lt=100)
    exit_gap: float = -0.02
    time_stop_bars: int = Field(10, ge=0, description="0 disables the time stop.")
    rotation_exit: bool = True
    take_profit: bool = False
    tp_lookback_bars: int = Field(20, ge=1)
    # shorts
    short_top_n: int = Field(1, ge=1)
    # stops
    atr_stop_mult: float = Field(1.5, gt=0)
    stop_min_pct: float = Field(0.02, gt=0, lt=0.5)
    # warm-up of entry-timeframe indicators in the live (rolling-window) path
    warmup_bars: int = Field(200, ge=200)


class PresetError(ValueError):
    """An unknown preset or an invalid preset file."""


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """The fully resolved strategy: preset, top-level switches and signal parameters."""

    preset: str
    entry_timeframe: Literal["1h", "4h", "1d"]
    stop_mode: Literal["atr", "fixed"]
    stop_pct: float
    shorts_enabled: bool
    params: SignalParams


def load_preset(name: str) -> dict[str, Any]:
    """The raw preset file as a dict (``[strategy]`` keys and ``[params]``)."""
    if name not in PRESETS:
        raise PresetError(f"strategy.preset: unknown preset {name!r} (valid: {', '.join(PRESETS)})")
    ref = resources.files("bot.signals.presets").joinpath(f"{name}.toml")
    try:
        data = tomllib.loads(ref.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"preset {name}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"description", "strategy", "params"}
    if unknown:
        raise PresetError(f"preset {name}: unknown table(s) {sorted(unknown)}")
    return data


def resolve(cfg: StrategyConfig | None = None, preset: str | None = None) -> StrategySpec:
    """Apply defaults < preset file < user config; ``preset`` overrides ``cfg.preset``."""
    from bot.config import StrategyConfig

    cfg = cfg if cfg is not None else StrategyConfig()
    name = preset or cfg.preset
    data = load_preset(name)
    top: dict[str, Any] = {
        "entry_timeframe": cfg.entry_timeframe,
        "stop_mode": cfg.stop_mode,
        "stop_pct": cfg.stop_pct,
    }
    preset_top = data.get("strategy", {})
    for key, value in preset_top.items():
        if key not in _STRATEGY_KEYS:
            raise PresetError(f"preset {name}: strategy.{key} cannot be set by a preset")
        if key not in cfg.model_fields_set:
            top[key] = value
    merged: dict[str, Any] = dict(data.get("params", {}))
    merged.update(cfg.params.model_dump(include=cfg.params.model_fields_set))
    try:
        params = SignalParams.model_validate(merged)
        checked = StrategyConfig.model_validate({**top, "preset": name})
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise PresetError(f"preset {name}: " + "; ".join(lines)) from None
    return StrategySpec(
        preset=name,
        entry_timeframe=checked.entry_timeframe,
        stop_mode=checked.stop_mode,
        stop_pct=checked.stop_pct,
        shorts_enabled=cfg.shorts.enabled,
        params=params,
    )
