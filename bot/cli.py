"""Thin command-line layer: parse arguments, load config, call into the package."""

from __future__ import annotations

import typer

from bot import __version__
from bot.commands import (
    backtest_cmd,
    config_cmd,
    control_cmd,
    data_cmd,
    db_cmd,
    risk_cmd,
    run_cmd,
    scan_cmd,
    sim_cmd,
)

app = typer.Typer(
    name="rotor",
    help="rotor: sector-rotation / laggard trading daemon for USDT perpetual futures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.add_typer(data_cmd.app, name="data")
app.add_typer(risk_cmd.app, name="risk")
app.add_typer(sim_cmd.app, name="sim")
app.add_typer(scan_cmd.app, name="scan")
app.command("run")(run_cmd.run)
app.command("backtest")(backtest_cmd.backtest)
app.command("optimize")(backtest_cmd.optimize)
app.command("status")(control_cmd.status)
app.command("pause")(control_cmd.pause)
app.command("resume")(control_cmd.resume)
app.command("kill")(control_cmd.kill)


@app.command("version")
def version() -> None:
    """Print the rotor version."""
    typer.echo(f"rotor {__version__}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
