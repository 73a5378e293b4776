"""``rotor optimize``: walk-forward search of a preset's declared space with Optuna.

The trading window is split in time. With one fold, the first ``train_frac`` of it is in
sample and the rest out of sample; with ``folds = K`` the out-of-sample part is cut into K
consecutive pieces and fold k trains on everything before piece k (anchored walk-forward).
Each train run only sees data up to the end of its window (the data are truncated there),
and each test run starts flat at the start of its piece with the full warm-up behind it.

Each fold is its own search: its sampler sees only its train window's metric, and its best
trial is chosen on that alone, then run once on the fold's test piece. Nothing chosen with a
later window's data is ever scored on an earlier piece, so the stitched test pieces are a
true out-of-sample result; the untuned config on the same pieces is reported beside it.
A trial runs its train window only. The report's diagnostic table shows the test-piece figures
of the trials it lists (the ``TOP`` best by in-sample value), run once each after the search:
they never take part in a choice, and a study of hundreds of trials does not pay a second
backtest for every trial nobody looks at (a trial cost 1.0 year of bars with its test piece,
0.7 without).

Several machines can work on one study: give each the same ``--storage`` (a PostgreSQL URL)
and ``--study`` name (fold k of a multi-fold run is ``NAME/fold-k``); Optuna's RDB storage
hands out trials and keeps every result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.data import BacktestData, panel_of, prepare, truncate_market, universe_settings
from bot.backtest.metrics import EquityCurve, summarise
from bot.backtest.result import BacktestResult, run_prepared, warmup_begin
from bot.backtest.runner import HOUR_MS, default_start
from bot.backtest.space import SPACES, overrides_of, suggest
from bot.config import Settings
from bot.signals.engine import LayerMemo, SignalEngine

METRICS = ("sharpe", "sortino", "total_return", "cagr", "profit_factor")
# The report lists this many trials, each with its test-piece figures.
TOP = 10
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


def stitch(results: list[BacktestResult]) -> dict[str, Any]:
    """One summary over consecutive test pieces: each piece's equity continues the last."""
    ts, eq, ex = [], [], []
    level = 1.0
    start_equity = float(results[0].start_equity)
    for r in results:
        c = r.curve
        ts.append(c.ts)
        eq.append(c.equity * level)
        ex.append(c.exposure)
        level *= float(c.equity[-1]) / float(r.start_equity) if len(c.equity) else 1.0
    curve = EquityCurve(np.concatenate(ts), np.concatenate(eq), np.concatenate(ex))
    trades = [t for r in results for t in r.trades]
    s0, s1 = results[0].summary, results[-1].summary
    return summarise(
        curve,
        trades,
        start_equity=start_equity,
        fees=sum((Decimal(str(r.summary["fees"])) for r in results), Decimal(0)),
        funding=sum((Decimal(str(r.summary["funding"])) for r in results), Decimal(0)),
        liquidations=sum(int(r.summary["liquidations"]) for r in results),
        start_ms=_ms(s0["start"]),
        end_ms=_ms(s1["end"]),
        cfg_hash=str(s1["config_hash"]),
        preset=str(s1["preset"]),
    )


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _fold_study(
    fold: Fold,
    k: int,
    settings_for: SettingsFactory,
    data_dir: Path,
    dims: tuple[Any, ...],
    *,
    trials: int,
    storage: Any,
    study_name: str | None,
    metric: str,
    seed: int | None,
    on_trial: Callable[[int, int, float], None] | None,
    memo: LayerMemo | None = None,
) -> Any:
    """Search fold ``k`` on its train window alone; returns the Optuna study."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        s = universe_settings(settings_for(suggest(trial, dims)), data_dir)
        train = fold.train
        ins = run_prepared(s, train.data, start_ms=train.start_ms, memo=memo).summary
        value = score(ins, metric)
        trial.set_user_attr("in_sample", _brief(ins))
        if on_trial is not None:
            on_trial(k, trial.number, value)
        return value

    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=None if seed is None else seed + k),
        load_if_exists=True,
    )
    study.optimize(objective, n_trials=trials)
    return study


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
    on_trial: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Run ``trials`` trials per fold (added to the studies if they exist); the report data."""
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
        start = default_start(full.market.ts, SignalEngine.from_settings(base).warmup_hours)
    fold_list = make_folds(full, start, folds, train_frac)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rdb = open_storage(storage)
    plain = universe_settings(base, data_dir)
    report_folds: list[dict[str, Any]] = []
    tuned: list[BacktestResult] = []
    untuned: list[BacktestResult] = []
    studies = []
    # The worker stays warm: data loaded once above, signal layers computed once per window
    # and reused by every trial whose parameters they do not read.
    memo = LayerMemo(size=2 * len(fold_list) + 2)
    for k, f in enumerate(fold_list):
        name = study_name if (study_name is None or folds == 1) else f"{study_name}/fold-{k + 1}"
        study = _fold_study(
            f, k, settings_for, data_dir, dims, trials=trials, storage=rdb, study_name=name,
            metric=metric, seed=seed, on_trial=on_trial, memo=memo,
        )  # fmt: skip
        studies.append(study)
        ranked = _ranked(study)
        best = ranked[0]
        test_of = _TestRuns(f.test, settings_for, data_dir, dims, memo)
        test = test_of(best.params)
        tuned.append(test)
        untuned.append(run_prepared(plain, f.test.data, start_ms=f.test.start_ms))
        report_folds.append(
            {
                "train": [f.train.start_ms, f.train.end_ms],
                "test": [f.test.start_ms, f.test.end_ms],
                "study": study.study_name,
                "trials": len(_completed(study)),
                "best": {
                    "number": best.number,
                    "overrides": overrides_of(best.params, dims),
                    "in_sample": best.value,
                    "out_of_sample": score(test.summary, metric),
                    "in_sample_run": best.user_attrs.get("in_sample"),
                    "out_of_sample_run": _brief(test.summary),
                },
                "untuned_out_of_sample_run": _brief(untuned[-1].summary),
            }
        )
    # The last fold's best trials with their test pieces (its best one is already run).
    done, last_tests = _ranked(studies[-1]), test_of
    return {
        "study": studies[-1].study_name,
        "preset": preset,
        "metric": metric,
        "folds": report_folds,
        "trials": len(done),
        "walk_forward": {
            "tuned_out_of_sample": stitch(tuned),
            "untuned_out_of_sample": stitch(untuned),
            "in_sample_mean": sum(float(x["best"]["in_sample"]) for x in report_folds)
            / len(report_folds),
        },
        "best": report_folds[-1]["best"],
        "top": [
            {
                "number": t.number,
                "in_sample": t.value,
                "out_of_sample": score(last_tests(t.params).summary, metric),
                "params": t.params,
            }
            for t in done[:TOP]
        ],
    }


def _completed(study: Any) -> list[Any]:
    import optuna

    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


def _ranked(study: Any) -> list[Any]:
    """The study's completed trials (every worker's), best in-sample value first."""
    return sorted(_completed(study), key=lambda t: -(t.value if t.value is not None else NO_SCORE))


class _TestRuns:
    """A fold's test piece run for a trial's parameters, each set of parameters once."""

    def __init__(
        self,
        test: Window,
        settings_for: SettingsFactory,
        data_dir: Path,
        dims: tuple[Any, ...],
        memo: LayerMemo | None,
    ) -> None:
        self.test, self.settings_for, self.data_dir, self.dims = test, settings_for, data_dir, dims
        self.memo = memo
        self.done: dict[tuple[tuple[str, Any], ...], BacktestResult] = {}

    def __call__(self, params: dict[str, Any]) -> BacktestResult:
        key = tuple(sorted(params.items()))
        if key not in self.done:
            overrides = overrides_of(params, self.dims)
            s = universe_settings(self.settings_for(overrides), self.data_dir)
            self.done[key] = run_prepared(s, self.test.data, start_ms=self.test.start_ms,
                                          memo=self.memo)  # fmt: skip
        return self.done[key]
