"""``rotor allocate``: the portfolio mode's targets and the rebalance it would send now."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.commands.asof import AtOption, DataOption, panel_as_of, parse_at
from bot.commands.common import EXIT_CONFIG, ConfigOption, fail, load_config_or_exit, print_json

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain import Instrument
    from bot.portfolio.holdings import Holdings


def _holdings(path: Path | None, cash: str | None, settings: Settings) -> Holdings:
    """The holdings file, or a portfolio that starts as cash (exits 2 on bad input)."""
    from bot.portfolio.holdings import Holdings, HoldingsError, parse_holdings

    if path is not None and cash is not None:
        fail("--cash starts from cash: drop it or --holdings", EXIT_CONFIG)
    if path is not None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"--holdings: cannot read {path}: {exc}", EXIT_CONFIG)
        except ValueError as exc:
            fail(f"--holdings: {path} is not valid JSON: {exc}", EXIT_CONFIG)
        try:
            return parse_holdings(raw, str(path))
        except HoldingsError as exc:
            fail(str(exc), EXIT_CONFIG)
    text = cash if cash is not None else str(settings.backtest.starting_equity)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0:
        fail(f"--cash: expected a positive USDT amount (got {text!r})", EXIT_CONFIG)
    return Holdings.from_cash(amount)


def _venue_holdings(settings: Settings, prices: dict[str, Decimal]) -> Holdings:
    """The holdings the account shows now, the coins at ``prices`` (the spot prices per
    perpetual unit; coins, USDT, perps; exits 2 when the venue cannot be read): a Bybit unified account, or Binance's spot and USDⓈ-M wallets (the USDT of
    both). The perps have no role: the roles leave them alone."""
    import asyncio

    from bot.portfolio.holdings import PerpHolding
    from bot.runtime.portfolio_holdings import legs_of, venue_holdings
    from bot.venues.base import VenueError
    from bot.venues.ccxt_client import ClientConfigError
    from bot.venues.factory import portfolio_venue

    try:
        venue = portfolio_venue(settings)
    except (ValueError, ClientConfigError) as exc:
        fail(f"--exchange: {exc}", EXIT_CONFIG)
    if venue.public_only:
        fail(
            "--exchange reads the account's holdings: it needs API keys and --mode testnet|live "
            "(or --holdings FILE / --cash USDT)",
            EXIT_CONFIG,
        )

    async def read() -> Holdings:
        try:
            legs = legs_of(prices, await venue.spot_markets())
            coins = await venue.fetch_spot_holdings()
            balance = await venue.fetch_balance()
            positions = await venue.fetch_positions()
        finally:
            await venue.close()
        perps = [PerpHolding(p.symbol, p.side, p.qty, p.entry_price, p.leverage) for p in positions]
        upnl = balance.equity - balance.wallet_balance
        return venue_holdings(
            balance.wallet_balance, upnl, coins, legs, perps, settings.portfolio.spot_share, prices
        )

    try:
        return asyncio.run(read())
    except VenueError as exc:
        fail(f"{settings.exchange.name} ({venue.api_host}): {exc}", EXIT_CONFIG)


def _instruments(
    root: Path | None,
    symbols: set[str],
    prices: dict[str, Decimal],
    qv_h: dict[str, float],
    listed: dict[str, Instrument] | None = None,
) -> dict[str, Instrument]:
    """Perp instruments for the roles' symbols: the venue's (``listed``, with --exchange),
    else ``instruments.json`` where the data directory has one, else the simulator's
    defaults for the price and liquidity at the time."""
    from bot.commands.asof import default_data
    from bot.data.datadir import DataDir
    from bot.sim.instrument_file import default_instrument, parse_instrument

    if listed is not None:
        return {
            s: listed.get(s) or default_instrument(s, float(prices[s]), qv_h.get(s, 0.0))
            for s in sorted(symbols)
        }
    dd = DataDir(root if root is not None else default_data())
    raw = dd.instruments() or {}
    path = dd.root / "instruments.json"
    out: dict[str, Instrument] = {}
    for s in sorted(symbols):
        inst = default_instrument(s, float(prices[s]), qv_h.get(s, 0.0))
        out[s] = parse_instrument(path, s, raw[s], inst) if s in raw else inst
    return out


def allocate(
    data: DataOption = None,
    at: AtOption = None,
    holdings_file: Annotated[
        Path | None,
        typer.Option(
            "--holdings",
            help="JSON file of current holdings (docs/portfolio.md); default: start from cash.",
            show_default=False,
        ),
    ] = None,
    cash: Annotated[
        str | None,
        typer.Option(
            "--cash", help="Start from this much USDT (default: backtest.starting_equity)."
        ),
    ] = None,
    exchange: Annotated[
        str | None,
        typer.Option(
            "--exchange",
            help="bybit or binanceusdm: the venue's latest data, and (without "
            "--holdings/--cash) the account's holdings (API keys, --mode testnet|live).",
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="REST base URL with --exchange (e.g. `rotor sim serve`)."),
    ] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="testnet | live: which keys and endpoint.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Target weights per bucket and sector, the signals behind them, and the orders a
    rebalance would send (spot and perp)."""
    if exchange is not None and (data is not None or at is not None):
        fail("--exchange allocates on the venue's latest data: drop --data/--at", EXIT_CONFIG)
    if (api_url is not None or mode is not None) and exchange is None:
        fail("--api-url and --mode need --exchange", EXIT_CONFIG)
    overrides = {"exchange.name": exchange, "exchange.api_url": api_url, "mode": mode}
    settings = load_config_or_exit(config, overrides if exchange is not None else None)
    from bot.portfolio.config import portfolio_problems

    problems = portfolio_problems(settings)
    if problems:
        fail("impossible portfolio settings\n  " + "\n  ".join(problems), EXIT_CONFIG)
    from_venue = exchange is not None and holdings_file is None and cash is None
    holdings = None if from_venue else _holdings(holdings_file, cash, settings)
    at_ms = parse_at(at) if at else None
    from bot.portfolio.account import account_view, check_perps
    from bot.portfolio.allocate import allocate as run_allocation
    from bot.portfolio.allocate import funding_of
    from bot.portfolio.report import allocation_report
    from bot.portfolio.selection import market_stats
    from bot.risk.manager import RiskManager
    from bot.signals.engine import SignalEngine
    from bot.signals.params import PresetError
    from bot.signals.scan import scan_panel

    pf = settings.portfolio
    try:
        engine = SignalEngine.from_settings(settings)
    except PresetError as exc:
        fail(str(exc), EXIT_CONFIG)
    listed: dict[str, Instrument] | None = None
    if exchange is not None:
        from bot.commands.scan_exchange import panel_from_exchange

        panel, listed = panel_from_exchange(settings, engine.min_history_hours, exchange, api_url)
        j = panel.n_bars - 1
    else:
        panel, j = panel_as_of(data, at_ms, engine.window_hours)
    ev = scan_panel(engine, panel, j)
    from bot.commands.allocate_spot import spot_markets_from_data, spot_markets_from_exchange
    from bot.portfolio.allocate import prices_of
    from bot.portfolio.rebalance import spot_prices_of

    perps = sorted(prices_of(ev))
    if exchange is not None:
        markets = spot_markets_from_exchange(settings, exchange, api_url, perps)
    else:
        markets = spot_markets_from_data(data, perps, int(panel.ts[j]))
    if holdings is None:
        holdings = _venue_holdings(settings, spot_prices_of(prices_of(ev), markets))
    hours = pf.rotation.liquidity_lookback_h
    stats = market_stats(panel, j, hours, pf.rotation.momentum_lookback_h)
    try:
        alloc = run_allocation(pf, ev, stats, holdings, markets)
    except ValueError as exc:
        fail(str(exc))
    symbols = {a.intent.symbol for a in alloc.roles.actions} | {p.symbol for p in holdings.perps}
    insts = _instruments(
        data, symbols, alloc.prices, {s: v / hours for s, v in stats.quote_volume.items()}, listed
    )
    sectors = {r.symbol: r.sector for r in ev.symbols}
    insts = {s: replace(i, sector=sectors.get(s)) for s, i in insts.items()}
    view = account_view(
        holdings, alloc.valuation, alloc.prices, insts, funding_of(ev), panel.close_time(j)
    )
    checks = check_perps(alloc.roles.actions, RiskManager.from_settings(settings), view)
    report = allocation_report(alloc, checks)
    if json_out:
        print_json(report)
        return
    from bot.commands.allocate_view import render

    render(report, sys.stdout.isatty())
