"""``rotor sim serve`` (the simulator over HTTP: Bybit v5 or Binance USDⓈ-M) and
``rotor sim generate``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer

from bot.commands.common import fail
from bot.data.datadir import DataFileError

app = typer.Typer(
    help="The simulated exchange (a local Bybit v5 or Binance USDⓈ-M).", no_args_is_help=True
)

DEFAULT_PORT = 18080
EXIT_USAGE = 2
DataOption = typer.Option(
    None, "--data", help="Data directory (default: the bundled sample).", show_default=False
)
OutOption = typer.Option(..., "--out", help="Directory to write.")
FaultsOption = typer.Option(
    None, "--faults", help='Fault set JSON: {"seed": 1, "faults": [...]}.', show_default=False
)


def parse_start(text: str) -> int:
    """ISO 8601 (date or date-time; no zone means UTC) → UTC milliseconds."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--start {text!r} is not ISO 8601 (e.g. 2025-03-01T00:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _default_data() -> Path:
    try:
        from bot.data.sample import sample_dir
    except ImportError:
        fail("no bundled sample data in this install: pass --data DIR", EXIT_USAGE)
    try:
        return sample_dir()
    except DataFileError as exc:
        fail(f"{exc}; pass --data DIR", EXIT_USAGE)


def _load_faults(path: Path, venue: str) -> dict[str, Any]:
    from bot.sim.faults import FaultConfigError, parse_fault_set
    from bot.sim.http.server import face_for

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--faults {path}: cannot read ({exc})", EXIT_USAGE)
    except ValueError as exc:
        fail(f"--faults {path}: not valid JSON ({exc})", EXIT_USAGE)
    try:
        parse_fault_set(data, face_for(venue).faults)
    except FaultConfigError as exc:
        fail(f"--faults {path}: {exc}", EXIT_USAGE)
    if not isinstance(data, dict):  # parse_fault_set already refused it; keeps mypy exact
        fail(f"--faults {path}: expected a JSON object", EXIT_USAGE)
    return data


async def _serve(cfg: Any) -> None:
    from bot.sim.http.server import SimServer, build_context

    ctx = build_context(cfg)
    server = SimServer(ctx, cfg.host, cfg.port)
    url = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready = {
        "event": "sim_ready",
        "url": url,
        "time": ctx.engine.now_ms,
        "symbols": len(ctx.market.symbols),
        "speed": cfg.speed,
        "venue": cfg.venue,
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await server.stop()
        typer.echo("sim stopped", err=True)


@app.command("serve")
def serve(
    data: Path | None = DataOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port (0 picks a free one)."),
    api_key: str = typer.Option(
        "", "--api-key", envvar="ROTOR_SIM_API_KEY", help="API key clients must sign with."
    ),
    api_secret: str = typer.Option(
        "",
        "--api-secret",
        envvar="ROTOR_SIM_API_SECRET",
        help="API secret (prefer the env variable).",
        show_default=False,
    ),
    speed: float = typer.Option(
        1.0, "--speed", help="Simulated seconds per wall second; 0 = manual (POST /sim/advance)."
    ),
    start: str | None = typer.Option(
        None, "--start", help="Replay start, ISO 8601 UTC (earlier data is served as history)."
    ),
    equity: str = typer.Option("10000", "--equity", help="Starting USDT wallet balance."),
    faults: Path | None = FaultsOption,
    symbols: str | None = typer.Option(
        None, "--symbols", help="Comma-separated subset of the data's symbols."
    ),
    venue: str = typer.Option(
        "bybit", "--venue", help="The API to serve: bybit (Bybit v5) or binanceusdm (USDⓈ-M)."
    ),
) -> None:
    """Serve a venue's API on HOST:PORT; prints one sim_ready JSON line when ready."""
    from bot.sim.http.server import VENUES, SimServerConfig

    if venue not in VENUES:
        fail(f"--venue must be one of {', '.join(VENUES)}, got {venue!r}", EXIT_USAGE)

    if not api_key or not api_secret:
        fail(
            "--api-key and --api-secret (or ROTOR_SIM_API_KEY / ROTOR_SIM_API_SECRET) are required",
            EXIT_USAGE,
        )
    if speed < 0:
        fail(f"--speed must be >= 0, got {speed}", EXIT_USAGE)
    if not 0 <= port <= 65535:
        fail(f"--port must be in [0, 65535], got {port}", EXIT_USAGE)
    try:
        eq = Decimal(equity)
    except InvalidOperation:
        fail(f"--equity {equity!r} is not a number", EXIT_USAGE)
    if not eq.is_finite() or eq <= 0:
        fail(f"--equity must be > 0, got {equity}", EXIT_USAGE)
    try:
        start_ms = parse_start(start) if start else None
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    cfg = SimServerConfig(
        data_dir=data if data is not None else _default_data(),
        api_key=api_key,
        api_secret=api_secret,
        host=host,
        port=port,
        speed=speed,
        start_ms=start_ms,
        equity=eq,
        faults=_load_faults(faults, venue) if faults is not None else None,
        symbols=[s.strip().upper() for s in symbols.split(",") if s.strip()] if symbols else None,
        venue=venue,
    )
    try:
        asyncio.run(_serve(cfg))
    except DataFileError as exc:
        fail(f"data: {exc}", EXIT_USAGE)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc}")


@app.command("generate")
def generate(
    n_symbols: int = typer.Option(..., "--symbols", help="Number of symbols (BTCUSDT + alts)."),
    days: int = typer.Option(..., "--days", help="Days of hourly bars."),
    seed: int = typer.Option(..., "--seed", help="RNG seed (same seed, identical files)."),
    out: Path = OutOption,
    sectors: int = typer.Option(6, "--sectors", help="Number of sectors the alts spread over."),
    start: str = typer.Option("2024-01-01T00:00:00Z", "--start", help="First bar, ISO 8601 UTC."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing data directory."),
    spot_basis: float | None = typer.Option(
        None,
        "--spot-basis",
        help="Also write spot/ price files: each perpetual's prices per coin x (1 + BPS/1e4), "
        "plus --spot-noise (the simulator then prices spot from them).",
    ),
    spot_noise: float = typer.Option(
        0.0, "--spot-noise", help="With --spot-basis: an AR(1) basis noise of this many bps."
    ),
) -> None:
    """Write a synthetic data directory (multi-factor random walk, funding, open interest;
    spot price files with ``--spot-basis``)."""
    import shutil
    import time

    from bot.data.synthetic import generate as synth

    if (out / "ohlcv").exists() and not force:
        fail(f"{out} already holds a data directory; pass --force to overwrite", EXIT_USAGE)
    try:
        start_ms = parse_start(start)
        t0 = time.perf_counter()
        if force and (out / "spot").is_dir():  # stale spot files would price the new perps
            shutil.rmtree(out / "spot")
        uni = synth(out, n_symbols, days, seed, n_sectors=sectors, start_ms=start_ms)
        spots: list[str] = []
        if spot_basis is not None:
            from bot.data.spotfiles import derive_spot

            spots = derive_spot(out, spot_basis, noise_bps=spot_noise, seed=seed)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot write {out}: {exc}")
    summary = {
        "event": "generated",
        "out": str(out),
        "symbols": len(uni.symbols),
        "bars": days * 24,
        "spot_files": len(spots),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    typer.echo(json.dumps(summary))
