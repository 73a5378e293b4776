"""``rotor scan``: where money is rotating right now, and which laggards qualify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.commands.asof import AtOption, DataOption, panel_as_of, parse_at
from bot.commands.common import ConfigOption, fail, load_config_or_exit, print_json

if TYPE_CHECKING:
    from bot.data.panel import Panel
    from bot.signals.engine import SignalEngine

app = typer.Typer(help="Show the regime, the sector table and the laggard candidates.")


@app.callback(invoke_without_command=True)
def scan(
    data: DataOption = None,
    at: AtOption = None,
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
    from bot.signals.engine import SignalEngine
    from bot.signals.params import PresetError

    if exchange is not None and (data is not None or at is not None):
        fail("--exchange scans the venue's latest data: drop --data/--at", 2)
    if api_url is not None and exchange is None:
        fail("--api-url needs --exchange", 2)
    at_ms = parse_at(at) if at else None
    try:
        engine = SignalEngine.from_settings(settings)
    except PresetError as exc:
        fail(str(exc), 2)
    if exchange is not None:
        from bot.commands.scan_exchange import panel_from_exchange

        panel, _ = panel_from_exchange(settings, engine.min_history_hours, exchange, api_url)
        _finish(engine, panel, panel.n_bars - 1, json_out)
        return
    # The engine never reads more than window_hours bars behind the decision.
    panel, j = panel_as_of(data, at_ms, engine.window_hours)
    _finish(engine, panel, j, json_out)


def _finish(engine: SignalEngine, panel: Panel, j: int, json_out: bool) -> None:
    from bot.signals.scan import scan_panel, scan_report

    report = scan_report(scan_panel(engine, panel, j))
    if json_out:
        print_json(report)
        return
    from bot.commands.scan_view import render

    render(report, engine.spec.preset, sys.stdout.isatty())
