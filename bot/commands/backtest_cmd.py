"""``rotor backtest`` (one config, or ``--compare`` presets); the settings, logging and time
flags it shares with ``rotor optimize`` (``optimize_cmd``)."""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.commands.common import (
    EXIT_CONFIG,
    ConfigOption,
    fail,
    load_config_or_exit,
    perp_mode_only,
)

if TYPE_CHECKING:
    from bot.backtest.runner import ProgressHook
    from bot.config import Settings

EXIT_USAGE = 2

DataOption = typer.Option("--data", help="Data directory (ohlcv/, funding/, ...).")
PresetOption = typer.Option("--preset", help="Strategy preset (overrides the config's).")
FromOption = typer.Option("--from", help="First bar (ISO 8601, UTC if no offset).")
ToOption = typer.Option("--to", help="End of the data, exclusive (ISO 8601, UTC if no offset).")


def parse_time(text: str | None, flag: str) -> int | None:
    """ISO 8601 → UTC ms; a time without an offset (or a bare date) is UTC."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{flag}: not an ISO-8601 time: {text!r} (e.g. 2025-06-01 or 2025-06-01T12:00Z)", 2)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def batch_settings(
    config: Path | None,
    preset: str | None,
    extra: dict[str, Any] | None = None,
    *,
    command: str = "backtest",
) -> Settings:
    overrides: dict[str, Any] = {"strategy.preset": preset}
    overrides.update(extra or {})
    settings = load_config_or_exit(config, overrides, log=False)
    if command != "backtest":  # rotor backtest runs both modes
        perp_mode_only(settings, command)
    from bot.risk import validate_risk

    problems = validate_risk(settings)
    if problems:
        fail("invalid risk configuration:\n  " + "\n  ".join(problems), EXIT_CONFIG)
    return settings


def batch_logging(verbose: bool, settings: Settings) -> None:
    from bot.observability.logging import configure_logging

    level = settings.logging.level if verbose else "ERROR"
    configure_logging(level, settings.logging.format, settings.secrets(), stream=sys.stderr)
    import structlog

    # A batch run keeps its configuration: resolve each module's logger once, so the
    # thousands of filtered-out debug/info calls of a backtest cost nothing.
    structlog.configure(cache_logger_on_first_use=True)


class _Bar:
    """A rich progress bar on a terminal, nothing otherwise."""

    def __init__(self, label: str) -> None:
        self.progress: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TimeElapsedColumn

            self.progress = Progress(
                f"[bold]{label}",
                BarColumn(),
                "{task.completed}/{task.total} bars",
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> ProgressHook | None:
        if self.progress is None:
            return None
        self.progress.start()

        def hook(done: int, total: int) -> None:
            self.progress.update(self.task, completed=done, total=total)

        return hook

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def backtest(
    data: Annotated[Path, DataOption],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    preset: Annotated[str | None, PresetOption] = None,
    config: Path | None = ConfigOption,
    start: Annotated[str | None, FromOption] = None,
    end: Annotated[str | None, ToOption] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            help="Comma-separated presets to run side by side on the same data "
            "(e.g. rotation-reversion,rsi-reversion,laggard-only,sector-momentum).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every cycle.")] = False,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="perp | portfolio: overrides strategy.mode (portfolio: the spot sleeve rotated "
            "by futures signals, docs/portfolio.md).",
        ),
    ] = None,
) -> None:
    """Backtest a config on a data directory through the daemon's own pipeline."""
    from bot.backtest.heap import return_large_blocks

    return_large_blocks()  # the precompute's freed temporaries do not stay resident
    start_ms = parse_time(start, "--from")
    end_ms = parse_time(end, "--to")
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        fail("--to must be after --from", EXIT_USAGE)
    if mode is not None and mode not in ("perp", "portfolio"):
        fail(f"--mode: expected perp or portfolio (got {mode!r})", EXIT_USAGE)
    extra = {"strategy.mode": mode} if mode is not None else {}
    settings = batch_settings(config, preset, extra)
    portfolio = settings.strategy.mode == "portfolio"
    if portfolio and compare:
        fail("--compare runs perpetual presets; it does not apply to the portfolio mode", 2)
    batch_logging(verbose, settings)
    from bot.data.datadir import DataFileError

    try:
        if portfolio:
            _portfolio(settings, data, out, start_ms, end_ms)
        elif compare:
            _compare(config, compare, data, out, start_ms, end_ms)
        else:
            _single(settings, data, out, start_ms, end_ms)
    except DataFileError as exc:
        fail(f"data: {exc}", EXIT_USAGE)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def _single(
    settings: Settings, data: Path, out: Path, start_ms: int | None, end_ms: int | None
) -> None:
    from bot.backtest.charts import ReportExtraMissing
    from bot.backtest.outputs import write_all
    from bot.backtest.result import run_backtest

    with _Bar(settings.strategy.preset) as hook:
        result = run_backtest(settings, data, start_ms=start_ms, end_ms=end_ms, progress=hook)
    # The run's engine, pipeline and signal tables (~50 MB) are garbage now, held in reference
    # cycles: free them before the report is drawn, so the two never add up in peak memory.
    gc.collect()
    written = "summary.json, trades.csv, equity.csv, report.html, equity.png"
    try:
        write_all(out, result, str(data))
    except ReportExtraMissing as exc:
        written = f"summary.json, trades.csv, equity.csv (no report: {exc})"
    s = result.summary
    typer.echo(
        f"{result.preset}: {s['start']} → {s['end']}  return {s['total_return']:.2%}  "
        f"max DD {s['max_drawdown']:.2%}  sharpe {s['sharpe']}  trades {s['trades']}  "
        f"fees {s['fees']:.2f}  funding {s['funding']:.2f}  liquidations {s['liquidations']}"
    )
    typer.echo(f"wrote {out}/{written}")


def _portfolio(
    settings: Settings, data: Path, out: Path, start_ms: int | None, end_ms: int | None
) -> None:
    """The portfolio mode's backtest (``bot.backtest.portfolio``)."""
    from bot.portfolio.config import portfolio_problems

    problems = portfolio_problems(settings)
    if problems:
        fail("impossible portfolio settings\n  " + "\n  ".join(problems), EXIT_CONFIG)
    from bot.backtest.charts import ReportExtraMissing
    from bot.backtest.portfolio.report import table_rows, write_outputs
    from bot.backtest.portfolio.run import run_portfolio

    with _Bar("portfolio") as hook:
        run = run_portfolio(settings, data, start_ms=start_ms, end_ms=end_ms, progress=hook)
    files = "summary.json, equity.csv, weights.csv, decisions.jsonl, report.html"
    try:
        s = write_outputs(out, run, str(data))
    except ReportExtraMissing as exc:
        from bot.backtest.portfolio.report import summary

        s = summary(run)
        files = f"summary.json, equity.csv, weights.csv, decisions.jsonl (no report: {exc})"
    header, rows = table_rows(s)
    _print_table(
        f"portfolio: {s['start']} → {s['end']}, {s['rebalances']} rebalances", header, rows
    )
    roles = ", ".join(f"{k} {v:+.2f}" for k, v in s["role_pnl"].items()) or "none traded"
    typer.echo(f"futures roles P&L: {roles}; kills {len(s['kills'])}")
    typer.echo(f"wrote {out}/{files}")


def _compare(
    config: Path | None,
    compare: str,
    data: Path,
    out: Path,
    start_ms: int | None,
    end_ms: int | None,
) -> None:
    from bot.backtest.compare import parse_presets, run_compare, table_rows
    from bot.backtest.outputs import write_comparison

    presets = parse_presets(compare)
    with _Bar("compare") as hook:
        results = run_compare(
            lambda p: batch_settings(config, p),
            presets,
            data,
            start_ms=start_ms,
            end_ms=end_ms,
            progress=hook,
        )
    from bot.backtest.charts import ReportExtraMissing

    note = f"wrote {out}/comparison.json, {out}/report.html and one folder per preset"
    try:
        write_comparison(out, results, str(data))
    except ReportExtraMissing as exc:
        note = f"wrote {out}/comparison.json and each preset's data files (no report: {exc})"
    header, rows = table_rows(results)
    _print_table(f"{results[0].summary['start']} → {results[0].summary['end']}", header, rows)
    typer.echo(note)


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A results table on the terminal: the first column left, the figures right."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for k, h in enumerate(header):
        table.add_column(h, justify="left" if k == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)
