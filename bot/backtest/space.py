"""The parameter space ``rotor optimize`` searches, declared per preset.

Each entry is a dotted config key (``strategy.params.*`` or ``strategy.*``) with its range.
The spaces stay small on purpose: every extra dimension is another way to fit noise, and the
out-of-sample column of the optimiser's report is there to show when that happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Dim:
    """One searched parameter: ``int``/``float`` in [low, high] (with ``step``) or a choice."""

    key: str
    kind: Literal["int", "float", "choice"]
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[Any, ...] = ()


_EXITS = (
    Dim("strategy.params.exit_rsi", "float", 45.0, 65.0, 2.5),
    Dim("strategy.params.time_stop_bars", "int", 4, 24, 2),
)
_LAGGARD = (
    Dim("strategy.params.gap_max", "float", -0.16, -0.04, 0.01),
    Dim("strategy.params.zgap_max", "float", -2.5, -0.75, 0.25),
    Dim("strategy.params.rsi_oversold", "float", 20.0, 40.0, 2.5),
    Dim("strategy.params.adx_max", "float", 18.0, 35.0, 1.0),
)

SPACES: dict[str, tuple[Dim, ...]] = {
    "rotation-reversion": (
        *_LAGGARD,
        *_EXITS,
        Dim("strategy.params.n_leaders", "int", 1, 3, 1),
    ),
    "laggard-only": (*_LAGGARD, *_EXITS),
    "rsi-reversion": (
        Dim("strategy.params.rsi_oversold", "float", 18.0, 35.0, 1.0),
        Dim("strategy.params.adx_max", "float", 15.0, 35.0, 1.0),
        Dim("strategy.params.exit_rsi", "float", 42.0, 65.0, 1.0),
        Dim("strategy.params.time_stop_bars", "int", 0, 72, 6),
    ),
    "sector-momentum": (
        Dim("strategy.params.n_leaders", "int", 1, 3, 1),
        Dim("strategy.params.momentum_top_n", "int", 1, 2, 1),
        Dim("strategy.params.time_stop_bars", "int", 12, 84, 6),
        Dim("strategy.params.rs_short_h", "choice", choices=(72, 168, 336)),
    ),
}


def suggest(trial: Any, dims: tuple[Dim, ...]) -> dict[str, Any]:
    """Ask an Optuna trial for one point of the space; returns ``{key: value}`` overrides."""
    out: dict[str, Any] = {}
    for d in dims:
        name = d.key.rsplit(".", 1)[-1]
        if d.kind == "int":
            out[d.key] = trial.suggest_int(name, int(d.low), int(d.high), step=int(d.step or 1))
        elif d.kind == "float":
            out[d.key] = trial.suggest_float(name, d.low, d.high, step=d.step)
        else:
            out[d.key] = trial.suggest_categorical(name, list(d.choices))
    return out


def overrides_of(params: dict[str, Any], dims: tuple[Dim, ...]) -> dict[str, Any]:
    """A finished trial's ``params`` (short names) back to dotted config keys."""
    by_name = {d.key.rsplit(".", 1)[-1]: d.key for d in dims}
    return {by_name[k]: v for k, v in params.items() if k in by_name}
