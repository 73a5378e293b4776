"""``rotor optimize``: an Optuna search of a preset's parameter space, walk-forward, with
in-sample next to out-of-sample (the backtester runs every trial)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.commands.backtest_cmd import (
    EXIT_USAGE,
    DataOption,
    FromOption,
    ToOption,
    batch_logging,
    batch_settings,
    parse_time,
)
from bot.commands.common import ConfigOption, fail

if TYPE_CHECKING:
    from bot.config import Settings


def optimize(
    data: Annotated[Path, DataOption],
    preset: Annotated[str, typer.Option("--preset", help="Preset whose space is searched.")],
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trials this process runs.")],
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Optuna storage URL shared by every worker, e.g. "
            "postgresql://user@host/db (default: in memory, this process only).",
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (required with --storage).")
    ] = None,
    config: Path | None = ConfigOption,
    start: Annotated[str | None, FromOption] = None,
    end: Annotated[str | None, ToOption] = None,
    folds: Annotated[
        int, typer.Option("--folds", min=1, help="Walk-forward folds (1 = one train/test split).")
    ] = 1,
    train_frac: Annotated[
        float, typer.Option("--train-frac", help="Share of the window that is in sample first.")
    ] = 0.7,
    metric: Annotated[
        str, typer.Option("--metric", help="sharpe | sortino | total_return | cagr | profit_factor")
    ] = "sharpe",
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write optimize.json into this directory.")
    ] = None,
) -> None:
    """Search the preset's parameter space with Optuna; in-sample next to out-of-sample."""
    import json

    start_ms = parse_time(start, "--from")
    end_ms = parse_time(end, "--to")
    if storage and not study:
        fail("--study: a study name is required with --storage (every worker uses the same)", 2)
    base = batch_settings(config, preset, command="optimize")
    batch_logging(False, base)
    from bot.backtest.optimize import run_study
    from bot.data.datadir import DataFileError

    def settings_for(overrides: dict[str, Any]) -> Settings:
        return batch_settings(config, preset, overrides, command="optimize")

    def on_trial(fold: int, number: int, ins: float) -> None:
        typer.echo(f"fold {fold + 1} trial {number}: in-sample {metric} {ins:.3f}", err=True)

    try:
        report = run_study(
            settings_for,
            preset,
            data,
            trials=trials,
            storage=storage,
            study_name=study,
            start_ms=start_ms,
            end_ms=end_ms,
            folds=folds,
            train_frac=train_frac,
            metric=metric,
            seed=seed,
            on_trial=on_trial,
        )
    except DataFileError as exc:
        fail(f"data: {exc}", EXIT_USAGE)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    _print_study(report)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "optimize.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}/optimize.json")


def _print_study(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    metric = report["metric"]
    con = Console(width=200)
    table = Table(
        title=f"study {report['study']} · {report['preset']} · last fold's {report['trials']} "
        "trials, the best first (the out-of-sample column is shown, never chosen on)"
    )
    table.add_column("trial", justify="right")
    table.add_column(f"in-sample {metric}", justify="right")
    table.add_column(f"out-of-sample {metric}", justify="right")
    table.add_column("params")
    for t in report["top"]:
        oos = t["out_of_sample"]
        table.add_row(
            str(t["number"]),
            f"{t['in_sample']:.3f}",
            "–" if oos is None else f"{oos:.3f}",
            ", ".join(f"{k}={v}" for k, v in t["params"].items()),
        )
    con.print(table)
    wf = Table(title="Walk-forward: each fold's best on its train window, run on its test piece")
    for col in ("fold", "test piece", f"in-sample {metric}", f"out-of-sample {metric}",
                "OOS return", "OOS trades", "untuned OOS return", "chosen params"):  # fmt: skip
        wf.add_column(col, justify="left" if col in ("test piece", "chosen params") else "right")
    for k, f in enumerate(report["folds"]):
        best = f["best"]
        run, base = best["out_of_sample_run"], f["untuned_out_of_sample_run"]
        wf.add_row(
            str(k + 1),
            f"{_day(f['test'][0])} → {_day(f['test'][1])}",
            f"{best['in_sample']:.3f}",
            f"{best['out_of_sample']:.3f}",
            f"{run['total_return']:.2%}",
            str(run["trades"]),
            f"{base['total_return']:.2%}",
            ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in best["overrides"].items()),
        )
    con.print(wf)
    w = report["walk_forward"]
    for label, key in (("tuned", "tuned_out_of_sample"), ("untuned", "untuned_out_of_sample")):
        s = w[key]
        typer.echo(
            f"stitched out-of-sample, {label}: {s['start']} → {s['end']}  return "
            f"{s['total_return']:.2%}  sharpe {s['sharpe']}  max DD {s['max_drawdown']:.2%}  "
            f"trades {s['trades']}  fees {s['fees']:.2f}  funding {s['funding']:.2f}"
        )
    typer.echo(f"mean in-sample {metric} of the chosen params: {w['in_sample_mean']:.3f}")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")
