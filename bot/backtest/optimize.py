"""``rotor optimize``: search a preset's declared space with Optuna, out of sample in view.

The trading window is split in time. With one fold, the first ``train_frac`` of it is in
sample and the rest out of sample; with ``folds = K`` the out-of-sample part is cut into K
consecutive pieces and fold k trains on everything before piece k (anchored walk-forward).
Each train run only sees data up to the end of its window (the data are truncated there),
and each test run starts flat at the start of its piece with the full warm-up behind it.

The objective is the mean in-sample metric over the folds. Every trial also records its
out-of-sample figures (as Optuna user attributes), so the report shows both side by side
and a parameter set that only fits the past is visible as such.

Several machines can work on one study: give each the same ``--storage`` (a PostgreSQL URL)
and ``--study`` name; Optuna's RDB storage hands out trials and keeps every result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.backtest.data import BacktestData, panel_of, prepare, truncate_market, universe_settings
from bot.backtest.result import run_prepared, warmup_begin
from bot.backtest.runner import HOUR_MS, default_start
from bot.backtest.space import SPACES, overrides_of, suggest
from bot.config import Settings
from bot.signals.engine import SignalEngine

METRICS = ("sharpe", "sortino", "total_return", "cagr", "profit_factor")
# A run without a defined metric (no trade, flat equity) scores this.
NO_SCORE = -10.0
SettingsFactory = Callable[[dict[str, Any]], Settings]


@dataclass(frozen=True, slots=True)
class Window:
    """Trade from ``start_ms`` to the end of ``data`` (which holds the warm-up before it)."""

    start_ms: int
    end_ms: int
    data: BacktestData


@dataclass(frozen=True, slots=True)
class Fold:
    train: Window
    test: Window


def _cut(full: BacktestData, end_ms: int, start_ms: int) -> Window:
    market = truncate_market(full.market, end_ms)
    panel = panel_of(market, list(full.panel.symbols), list(full.panel.sectors))
    return Window(start_ms, end_ms, BacktestData(full.root, market, panel))


def make_folds(full: BacktestData, start_ms: int, folds: int, train_frac: float) -> list[Fold]:
    """The anchored walk-forward folds over ``[start_ms, end of data)`` (hour-aligned)."""
    if folds < 1:
        raise ValueError("--folds must be >= 1")
    if not 0.1 <= train_frac <= 0.95:
        raise ValueError("--train-frac must be within [0.1, 0.95]")
    end = int(full.market.ts[-1]) + HOUR_MS
    if end - start_ms < 48 * HOUR_MS * (folds + 1):
        raise ValueError("the trading window is too short to split (need 2 days per piece)")

    def hour(t: float) -> int:
        return int(t // HOUR_MS) * HOUR_MS

    first = hour(start_ms + train_frac * (end - start_ms))
    bounds = [hour(first + k * (end - first) / folds) for k in range(folds)] + [end]
    return [
        Fold(_cut(full, bounds[k], start_ms), _cut(full, bounds[k + 1], bounds[k]))
        for k in range(folds)
    ]


def score(summary: dict[str, Any], metric: str) -> float:
    """The summary's ``metric`` as a finite number (``NO_SCORE`` when undefined)."""
    v = summary.get(metric)
    if v is None or not math.isfinite(float(v)) or summary.get("trades", 0) == 0:
        return NO_SCORE
    return float(v)


_KEEP = ("total_return", "sharpe", "max_drawdown", "trades", "win_rate", "profit_factor")


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary.get(k) for k in _KEEP}


def storage_url(url: str | None) -> str | None:
    """Optuna's RDB storage is synchronous SQLAlchemy: map async drivers to sync ones."""
    if url is None:
        return None
    for async_driver, sync_driver in (
        ("postgresql+asyncpg://", "postgresql+psycopg2://"),
        ("sqlite+aiosqlite://", "sqlite://"),
    ):
        if url.startswith(async_driver):
            return sync_driver + url[len(async_driver) :]
    return url


def open_storage(url: str | None, attempts: int = 6) -> Any:
    """Optuna's RDB storage for ``url`` (None = in memory).

    Workers started together on an empty database race to create Optuna's schema; the
    loser's ``CREATE`` fails with a duplicate, and a retry then finds the schema in place.
    """
    if url is None:
        return None
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(storage_url(url) or url)
        except (IntegrityError, ProgrammingError, OperationalError) as exc:
            last = exc
            time.sleep(0.2 * 2**attempt)
    raise ValueError(f"--storage: cannot open {url!r}: {last}")


def run_study(
    settings_for: SettingsFactory,
    preset: str,
    data_dir: Path,
    *,
    trials: int,
    storage: str | None = None,
    study_name: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    folds: int = 1,
    train_frac: float = 0.7,
    metric: str = "sharpe",
    seed: int | None = None,
    on_trial: Callable[[int, float, float], None] | None = None,
) -> dict[str, Any]:
    """Run ``trials`` trials (added to the study if it exists); return the report data."""
    import optuna

    if preset not in SPACES:
        raise ValueError(f"--preset: no parameter space for {preset!r}")
    if metric not in METRICS:
        raise ValueError(f"--metric: one of {', '.join(METRICS)}")
    dims = SPACES[preset]
    base = settings_for({})
    _, full = prepare(base, data_dir, end_ms, begin_ms=warmup_begin([base], start_ms))
    start = start_ms
    if start is None:
        start = default_start(full.market.ts, SignalEngine.from_settings(base).window_hours)
    fold_list = make_folds(full, start, folds, train_frac)

    def evaluate(overrides: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        s = universe_settings(settings_for(overrides), data_dir)
        ins = [run_prepared(s, f.train.data, start_ms=f.train.start_ms).summary for f in fold_list]
        oos = [run_prepared(s, f.test.data, start_ms=f.test.start_ms).summary for f in fold_list]
        return ins, oos

    def objective(trial: optuna.Trial) -> float:
        ins, oos = evaluate(suggest(trial, dims))
        value = sum(score(x, metric) for x in ins) / len(ins)
        out_value = sum(score(x, metric) for x in oos) / len(oos)
        trial.set_user_attr("in_sample", [_brief(x) for x in ins])
        trial.set_user_attr("out_of_sample", [_brief(x) for x in oos])
        trial.set_user_attr("oos_value", out_value)
        if on_trial is not None:
            on_trial(trial.number, value, out_value)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(storage),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )
    study.set_user_attr("preset", preset)
    study.set_user_attr("metric", metric)
    study.optimize(objective, n_trials=trials)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    done.sort(key=lambda t: -(t.value if t.value is not None else NO_SCORE))
    best = done[0] if done else None
    return {
        "study": study.study_name,
        "preset": preset,
        "metric": metric,
        "folds": [
            {
                "train": [f.train.start_ms, f.train.end_ms],
                "test": [f.test.start_ms, f.test.end_ms],
            }
            for f in fold_list
        ],
        "trials": len(done),
        "best": None
        if best is None
        else {
            "number": best.number,
            "in_sample": best.value,
            "out_of_sample": best.user_attrs.get("oos_value"),
            "overrides": overrides_of(best.params, dims),
            "in_sample_runs": best.user_attrs.get("in_sample"),
            "out_of_sample_runs": best.user_attrs.get("out_of_sample"),
        },
        "top": [
            {
                "number": t.number,
                "in_sample": t.value,
                "out_of_sample": t.user_attrs.get("oos_value"),
                "params": t.params,
            }
            for t in done[:10]
        ],
    }
