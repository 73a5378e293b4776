"""``rotor run``: the daemon, in replay (default), paper, testnet or live mode."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.commands.common import EXIT_CONFIG, ConfigOption, fail, load_config_or_exit
from bot.config import DatabaseConfig
from bot.observability.logging import get_logger, scrub_text

DEFAULT_DB_URL = DatabaseConfig().url
REPLAY_DB = Path("var/replay.db")


def fresh_replay_db() -> str:
    """Delete the previous replay's database (and its WAL files); return the URL to use."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{REPLAY_DB}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{REPLAY_DB}"


def run(
    config: Path | None = ConfigOption,
    mode: Annotated[str | None, typer.Option(help="replay | paper | testnet | live")] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="rotation-reversion | rsi-reversion | laggard-only | sector-momentum"),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Replay data directory (default: bundled sample).")
    ] = None,
    api_url: Annotated[
        str | None, typer.Option(help="Exchange REST base URL (e.g. a `rotor sim serve`).")
    ] = None,
    live: Annotated[
        bool, typer.Option(help="Required for live mode, with ROTOR_LIVE_CONFIRM=yes.")
    ] = False,
    speed: Annotated[
        float | None, typer.Option(help="Replay speed in sim seconds per wall second; 0 = max.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Replay start (ISO8601).")] = None,
    db: Annotated[str | None, typer.Option(help="database.url override.")] = None,
    control_port: Annotated[int | None, typer.Option(help="control.port override.")] = None,
) -> None:
    """Run the trading daemon until stopped (replay ends with the data)."""
    overrides: dict[str, Any] = {
        "mode": mode,
        "strategy.preset": preset,
        "sim.data_dir": str(data) if data else None,
        "exchange.api_url": api_url,
        "sim.speed": speed,
        "sim.start": start,
        "database.url": db,
        "control.port": control_port,
    }
    settings = load_config_or_exit(config, overrides, log=False)
    refused = portfolio_refusal(settings)
    if refused:
        fail(refused, EXIT_CONFIG)
    if settings.mode == "replay" and db is None and settings.database.url == DEFAULT_DB_URL:
        # Each replay starts a fresh simulated account, so it gets a fresh database too; the
        # live/testnet database (var/rotor.db) is never touched by a replay.
        settings.database.url = fresh_replay_db()
    from bot.config import config_path
    from bot.observability.logging import configure_logging

    configure_logging(
        settings.logging.level,
        settings.logging.format,
        settings.secrets(),
        stream=sys.stdout,
        alerts=settings.alerts,
    )
    code = asyncio.run(_main(settings, config_path(config), live))
    raise typer.Exit(code)


async def _main(settings: Any, config_file: Path | None, live: bool) -> int:
    from bot.domain import TradingState
    from bot.risk import Source, StateRequest
    from bot.runtime import ossignals
    from bot.runtime.daemon import Daemon
    from bot.runtime.lifecycle import StartupError

    log = get_logger("rotor.run")
    daemon = Daemon(settings, config_path=config_file, live_flag=live)
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[Any]] = set()

    def pause() -> None:
        task = loop.create_task(
            daemon.change_state(
                StateRequest(TradingState.REDUCING, "PAUSE: SIGUSR1", Source.SIGNAL)
            )
        )
        pending.add(task)
        task.add_done_callback(pending.discard)

    installed = ossignals.install(
        loop,
        stop=daemon.stop_event.set,
        pause=pause,
        kill=lambda: daemon.request_kill(Source.SIGNAL),
        reload=daemon.reload,
    )
    try:
        # A stop during start-up (e.g. SIGTERM in a long backfill) must not wait for it to end.
        starting = asyncio.create_task(daemon.start())
        stopping = asyncio.create_task(daemon.stop_event.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, StartupError):
                await starting
            log.warning("stopped_during_startup")
            await daemon.shutdown_partial()
            return 0
        try:
            starting.result()
        except StartupError as exc:
            log.error("startup_refused", reason=str(exc), exit_code=exc.code)
            # Venue errors can echo the API key (Bybit's "origin_string"): redact here too.
            typer.echo(f"rotor: {scrub_text(str(exc))}", err=True)
            await daemon.shutdown_partial()
            return exc.code
        except Exception as exc:
            # Through the logging pipeline (redacted), not as a raw traceback on stderr.
            log.critical("startup_crashed", error=f"{type(exc).__name__}: {exc}", exc_info=exc)
            await daemon.shutdown_partial()
            return 1
        try:
            return await daemon.run()
        except Exception as exc:
            log.critical("daemon_crashed", error=f"{type(exc).__name__}: {exc}", exc_info=exc)
            return 1
    finally:
        ossignals.uninstall(loop, installed)


def portfolio_refusal(settings: Any) -> str | None:
    """Why ``rotor run`` cannot run this portfolio configuration, or None. Runs: Bybit's
    unified account and Binance spot + USDⓈ-M (two wallets, transfers between them), in every
    mode. Refused: Bybit classic accounts (spot in another wallet, not modelled)."""
    if settings.strategy.mode != "portfolio":
        return None
    ex = settings.exchange.name
    if ex == "bybit" and settings.risk.account_type == "unified":
        return None
    if ex == "binanceusdm":
        return None
    return (
        f'strategy.mode "portfolio": exchange {ex} ({settings.risk.account_type} account) is '
        "not supported by `rotor run` (Bybit's unified account, risk.account_type = "
        '"unified", or Binance spot + USDⓈ-M)'
    )
