"""``rotor scan``: where money is rotating right now, and which laggards qualify."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.commands.common import ConfigOption, fail, load_config_or_exit, print_json

if TYPE_CHECKING:
    from bot.data.panel import Panel
    from bot.signals.engine import SignalEngine

app = typer.Typer(help="Show the regime, the sector table and the laggard candidates.")


def _parse_at(text: str) -> int:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--at: not an ISO-8601 time: {text!r} (e.g. 2025-06-01T12:00:00Z)", 2)
    if dt.tzinfo is None:
        fail(f"--at: {text!r} has no timezone; add Z or an offset such as +00:00", 2)
    return int(dt.timestamp() * 1000)


def _default_data() -> Path:
    try:
        from bot.data.sample import sample_dir

        return sample_dir()
    except Exception as exc:  # the sample may be missing from a stripped install
        fail(f"no --data given and the bundled sample is unavailable ({exc})")


@app.callback(invoke_without_command=True)
def scan(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Data directory (default: the bundled sample).", show_default=False
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="ISO-8601 time; only data available then is used (default: latest)."
        ),
    ] = None,
    exchange: Annotated[
        str | None,
        typer.Option(
            "--exchange", help="Scan live data from bybit or binanceusdm instead of --data."
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="REST base URL with --exchange (e.g. `rotor sim serve`)."),
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Override strategy.preset.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Evaluate the strategy at one time and show regime, sectors and candidates."""
    overrides: dict[str, Any] = {"strategy.preset": preset} if preset else {}
    # Logs go to stderr, so --json keeps stdout to the one JSON object.
    settings = load_config_or_exit(config, overrides)
    from bot.data.build import load_panel
    from bot.data.datadir import DataDir, DataFileError
    from bot.signals.engine import SignalEngine
    from bot.signals.params import PresetError
    from bot.signals.scan import as_of_index, iso

    if exchange is not None and (data is not None or at is not None):
        fail("--exchange scans the venue's latest data: drop --data/--at", 2)
    if api_url is not None and exchange is None:
        fail("--api-url needs --exchange", 2)
    at_ms = _parse_at(at) if at else None
    try:
        engine = SignalEngine.from_settings(settings)
    except PresetError as exc:
        fail(str(exc), 2)
    if exchange is not None:
        from bot.commands.scan_exchange import panel_from_exchange

        panel = panel_from_exchange(settings, engine.min_history_hours, exchange, api_url)
        _finish(engine, panel, panel.n_bars - 1, json_out)
        return
    root = data if data is not None else _default_data()
    hour = 3_600_000
    try:
        dd = DataDir(root)  # every file's schema and the span, from the footers
        # Bars must have closed by --at: anything opening after at - 1h is never read.
        # The engine never reads more than window_hours bars behind the decision, so only
        # that window is placed on the grid (the whole history of a wide directory is GBs).
        last_close = at_ms if at_ms is not None else (dd.meta.grid_end_ms or 0) + hour
        start_ms = last_close - (engine.window_hours + 48) * hour
        panel = load_panel(
            dd, start_ms=start_ms, end_ms=None if at_ms is None else at_ms - hour + 1
        )
        j = as_of_index(panel, at_ms)
    except (DataFileError, ValueError) as exc:
        fail(str(exc))
    last_close = panel.close_time(j)
    if at_ms is not None and at_ms - last_close >= 3_600_000:
        typer.echo(
            f"note: the data ends before --at; scanning at the last close {iso(last_close)}",
            err=True,
        )
    _finish(engine, panel, j, json_out)


def _finish(engine: SignalEngine, panel: Panel, j: int, json_out: bool) -> None:
    from bot.signals.scan import scan_panel, scan_report

    report = scan_report(scan_panel(engine, panel, j))
    if json_out:
        print_json(report)
        return
    from bot.commands.scan_view import render

    render(report, engine.spec.preset, sys.stdout.isatty())
