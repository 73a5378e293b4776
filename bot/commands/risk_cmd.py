"""``rotor risk explain`` (the trader's offline calculator) and ``rotor risk check``."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.commands.common import EXIT_CONFIG, ConfigOption, fail, load_config_or_exit, print_json
from bot.domain import Instrument, OrderIntent, PositionSide, TradingState
from bot.risk.account import AccountView, MarketSnapshot
from bot.risk.decision import Approved, Rejected
from bot.risk.manager import RiskManager, venue_of
from bot.risk.params import RiskParams, dec
from bot.risk.validate import flat_tiers, validate_risk

app = typer.Typer(
    help="Position sizing, liquidation buffers and risk checks.", no_args_is_help=True
)

EXIT_REJECTED = 1
SYMBOL = "EXPLAINUSDT"


class VenueOpt(StrEnum):
    binance = "binance"
    bybit = "bybit"


class SideOpt(StrEnum):
    long = "long"
    short = "short"


class PolicyOpt(StrEnum):
    reduce_leverage = "reduce_leverage"
    tighten_stop = "tighten_stop"
    reject = "reject"


class AccountOpt(StrEnum):
    unified = "unified"
    classic = "classic"


def _positive(name: str, value: float | None) -> Decimal | None:
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        fail(f"{name}: must be a positive number (got {value})", EXIT_CONFIG)
    try:
        return dec(value)
    except InvalidOperation:
        fail(f"{name}: not a number ({value})", EXIT_CONFIG)


def _default_tick(entry: Decimal) -> Decimal:
    """Six significant digits of the entry price, so rounding the stop is visible but tiny."""
    exp = entry.adjusted() - 5
    return Decimal(1).scaleb(exp)


@app.command("explain")
def explain(
    side: Annotated[SideOpt, typer.Option("--side", help="Position side.")],
    entry: float = typer.Option(..., "--entry", help="Entry price P."),
    venue: Annotated[
        VenueOpt | None,
        typer.Option("--venue", help="Liquidation formula (config: exchange.name)."),
    ] = None,
    equity: float | None = typer.Option(
        None, "--equity", help="Equity E (config: backtest.starting_equity)."
    ),
    stop_pct: float | None = typer.Option(
        None,
        "--stop-pct",
        help="Stop distance as a fraction of price, 0.08 = 8% (config: strategy.stop_pct).",
    ),
    leverage: float | None = typer.Option(
        None, "--leverage", help="Requested leverage (config: risk.leverage)."
    ),
    mmr: float | None = typer.Option(
        None, "--mmr", help="Maintenance margin rate (config: risk.default_mmr)."
    ),
    risk_pct: float | None = typer.Option(
        None,
        "--risk-pct",
        help="Risk per trade as a fraction of equity (config: risk.risk_per_trade).",
    ),
    cost: float | None = typer.Option(
        None, "--cost", help="Round-trip cost per notional (config: risk.cost_allowance)."
    ),
    qty_step: float = typer.Option(
        0.001, "--qty-step", help="Venue quantity step (also the minimum quantity)."
    ),
    tick_size: float | None = typer.Option(
        None, "--tick-size", help="Price tick (default: 6 significant digits of the entry)."
    ),
    min_notional: float = typer.Option(0.0, "--min-notional", help="Venue minimum notional."),
    min_liq_distance: float | None = typer.Option(
        None,
        "--min-liq-distance",
        help="Minimum |EP − LP|/EP (config: risk.min_liquidation_distance).",
    ),
    stop_liq_gap: float | None = typer.Option(
        None,
        "--stop-liq-gap",
        help="Minimum stop-to-liquidation gap as a fraction of price (config: risk.stop_liquidation_gap).",
    ),
    stop_max: float | None = typer.Option(
        None, "--stop-max", help="Widest stop allowed (config: risk.stop_max_pct)."
    ),
    on_unsafe: Annotated[
        PolicyOpt | None,
        typer.Option(
            "--on-unsafe",
            help="Policy when the leverage is unsafe (config: risk.on_unsafe_leverage).",
        ),
    ] = None,
    account: Annotated[
        AccountOpt | None,
        typer.Option("--account", help="Bybit account model (config: risk.account_type)."),
    ] = None,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    config: Path | None = ConfigOption,
) -> None:
    """Size one trade and explain its leverage, liquidation and stop (offline).

    Exit status: 0 approved, 1 rejected, 2 bad input or config.
    """
    overrides: dict[str, Any] = {
        "exchange.name": None
        if venue is None
        else ("binanceusdm" if venue is VenueOpt.binance else "bybit"),
        "risk.leverage": leverage,
        "risk.default_mmr": mmr,
        "risk.risk_per_trade": risk_pct,
        "risk.cost_allowance": cost,
        "risk.min_liquidation_distance": min_liq_distance,
        "risk.stop_liquidation_gap": stop_liq_gap,
        "risk.stop_max_pct": stop_max,
        "risk.on_unsafe_leverage": None if on_unsafe is None else on_unsafe.value,
        "risk.account_type": None if account is None else account.value,
    }
    settings = load_config_or_exit(config, overrides, log=False)
    ep = _positive("--entry", entry)
    step = _positive("--qty-step", qty_step)
    assert ep is not None and step is not None
    e = _positive("--equity", equity) or dec(settings.backtest.starting_equity)
    d = _positive("--stop-pct", stop_pct) or dec(settings.strategy.stop_pct)
    if d >= 1:
        fail(f"--stop-pct: must be a fraction below 1, e.g. 0.08 for 8% (got {d})", EXIT_CONFIG)
    tick = _positive("--tick-size", tick_size) or _default_tick(ep)
    if min_notional < 0 or not math.isfinite(min_notional):
        fail(f"--min-notional: must be ≥ 0 (got {min_notional})", EXIT_CONFIG)
    params = RiskParams.from_config(settings.risk)
    mmr_d = dec(settings.risk.default_mmr)
    mgr = RiskManager(params, venue_of(settings.exchange.name))
    inst = Instrument(
        SYMBOL, "EXPLAIN", "USDT", tick, step, step, dec(min_notional), flat_tiers(mmr_d)
    )
    now = 1_700_000_000_000
    view = AccountView(
        now_ms=now,
        equity=e,
        wallet_balance=e,
        free_margin=e,
        day_start_equity=e,
        peak_equity=e,
        trading_state=TradingState.ACTIVE,
        instruments={SYMBOL: inst},
        market={SYMBOL: MarketSnapshot(ep, ep, now, Decimal(0))},
    )
    pside = PositionSide(side.value)
    result = mgr.check(OrderIntent(SYMBOL, pside, "entry", ep, stop_distance=d, source="cli"), view)
    if json_out:
        out = result.to_dict()
        out.pop("symbol", None)
        out.update(
            venue=mgr.venue, account=mgr.model.account, position_side=pside.value, mmr=float(mmr_d)
        )
        print_json(out)
    else:
        _render(result, mgr, pside, e, ep, d, mmr_d)
    raise typer.Exit(0 if result.approved else EXIT_REJECTED)


def _fmt(x: Decimal | None, spec: str = "") -> str:
    """Exact plain digits by default (quantities, leverage, tick-rounded stops)."""
    if x is None:
        return "-"
    return format(x, spec) if spec else f"{x.normalize():f}"


def _render(
    result: Approved | Rejected,
    mgr: RiskManager,
    side: PositionSide,
    e: Decimal,
    ep: Decimal,
    d: Decimal,
    mmr: Decimal,
) -> None:
    con = Console(highlight=False, soft_wrap=True)
    p = mgr.params
    con.print(
        f"[bold]{mgr.venue}[/bold] ({mgr.model.account}) {side} · equity {e.normalize():f} · entry {ep.normalize():f} · stop {d:.2%} · "
        f"leverage {p.leverage.normalize():f}x · MMR {mmr:.2%} · costs {p.cost_allowance:.4%} · "
        f"on_unsafe_leverage={p.on_unsafe_leverage}"
    )
    con.print("\n[bold]Reasoning[/bold]")
    for line in result.notes:
        con.print(f"  • {escape(line)}")
    fig = result if isinstance(result, Approved) else result.figures
    table = Table(show_header=False, box=None, pad_edge=False)
    rows = [
        ("quantity", _fmt(fig.qty)),
        ("notional", _fmt(fig.notional, ".2f")),
        ("margin", _fmt(fig.margin, ".2f")),
        ("risk amount", _fmt(fig.risk_amount, ".2f")),
        ("leverage requested", _fmt(fig.leverage_requested)),
        ("leverage used", _fmt(fig.leverage_used)),
        ("stop price", _fmt(fig.stop_price)),
        ("liquidation price", _fmt(fig.liquidation_price, ".3f")),
        (
            "liquidation distance",
            "-" if fig.liquidation_distance is None else f"{fig.liquidation_distance:.2%}",
        ),
    ]
    for k, v in rows:
        table.add_row(f"  {k}", v)
    con.print()
    if isinstance(result, Approved):
        con.print("[bold green]APPROVED[/bold green]")
    else:
        con.print("[bold red]REJECTED[/bold red]")
        for r in result.reasons:
            con.print(f"  [red]{r.code}[/red]: {escape(r.message)}")
    con.print(table)


@app.command("check")
def check(config: Path | None = ConfigOption) -> None:
    """Validate the risk settings for impossible combinations (exit 2 if any)."""
    settings = load_config_or_exit(config, log=False)
    errors = validate_risk(settings)
    if errors:
        for line in errors:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG)
    typer.echo("risk settings OK")
