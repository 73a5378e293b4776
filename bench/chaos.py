"""Chaos run (issue #10): the real ``rotor run`` (testnet mode, unmodified ccxt) against
``rotor sim serve`` with every fault kind active, plus random SIGKILL/restart cycles, over N
simulated days; then the nothing-lost invariants and a report.

    .venv/bin/python bench/chaos.py [--days 90] [--symbols 8] [--seed 7] [--out chaos.json]
        [--venue bybit|binanceusdm]

Account events, drawn per simulated day (RELIABILITY.md #35, #43): a deposit or a withdrawal
(5-15 % of the starting equity; ``/sim/transfer``) on about one day in five, and an instrument
change on one day in six (a funding interval switching between 8 h and 1 h, or a finer tick;
``/sim/instrument``). The report counts the transfers made against the rows rotor stored in
``cash_flows`` (a missing or extra row is a discrepancy).

Faults, always on: latency (20% of requests, 5-25 ms), HTTP 502 (3%) and the venue's "system
error" (Bybit 10016, Binance -1001; 2%) on every endpoint, lost acknowledgements (10% of order
creates, 5% of cancels; Binance: plain and algo orders), requests held past
the client's timeout (0.3%). Episodes, drawn per simulated day: a maintenance window (every
endpoint 503 for ~1.5 s of wall time), frozen tickers (a few bars), clock skew beyond the
recvWindow (+20 s, a few bars) and a 429 storm (10 requests/s for a few bars). Restarts: a
SIGKILL every 2-5 simulated days (half of them while an order is in flight), sometimes a SIGTERM
instead. Manual actions, drawn per simulated day (RELIABILITY.md #29-#31, #38): an order placed
by hand without a client id (a resting limit far from the price), a protective stop cancelled by
hand, a small position opened by hand, each through the venue's own face. Memory and the asyncio
task count are sampled from /metrics once per simulated day.

The run ends with the faults cleared, one clean cycle, a graceful stop and the checks of
``tests/reliability/invariants.py``: every venue order tracked, one venue order per intent, every
fill recorded once, positions equal to the venue's. ``discrepancies`` must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.data.synthetic import generate  # noqa: E402
from tests.integration.daemon.harness import Rotor, rotor_process  # noqa: E402
from tests.reliability.conftest import hand_order  # noqa: E402
from tests.reliability.daemon_rig import hand_cancel, ticker_price  # noqa: E402
from tests.reliability.invariants import (  # noqa: E402
    duplicated_entries,
    nothing_lost,
    read_books,
    without_hand_fills,
)
from tests.simserver import SimHandle, sim_subprocess  # noqa: E402

HOUR_MS = 3_600_000
WARMUP_DAYS = 12
LEASE_TTL_S = 2.0
# Per venue: its system-error code, and its order create and cancel endpoints.
VENUE_FAULTS: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "bybit": (10016, ("POST /v5/order/create",), ("POST /v5/order/cancel",)),
    "binanceusdm": (
        -1001,
        ("POST /fapi/v1/order", "POST /fapi/v1/algoOrder"),
        ("DELETE /fapi/v1/order", "DELETE /fapi/v1/algoOrder"),
    ),
}


def always(venue: str) -> list[dict[str, Any]]:
    """The faults on for the whole run, in ``venue``'s words."""
    code, creates, cancels = VENUE_FAULTS[venue]
    return [
        {"kind": "latency", "probability": 0.2, "ms": 5, "jitter_ms": 20},
        {"kind": "error_rate", "probability": 0.03, "status": 502},
        {"kind": "error_rate", "probability": 0.02, "ret_code": code},
        *({"kind": "drop_response", "endpoint": e, "probability": 0.10} for e in creates),
        *({"kind": "drop_response", "endpoint": e, "probability": 0.05} for e in cancels),
        {"kind": "timeout", "probability": 0.003, "ms": 3000},
    ]


EPISODES = {
    "maintenance": [{"kind": "maintenance", "duration_ms": 1500}],
    "stale_tickers": [{"kind": "stale_tickers"}],
    "clock_skew": [{"kind": "clock_skew", "offset_ms": 20_000}],
    "rate_limit": [{"kind": "rate_limit", "requests": 10, "window_ms": 1000}],
    # The account's lists show changes 1.5 s (wall) late (RELIABILITY.md #35, #37): in
    # ``venue``'s words (``ACCOUNT_LISTS``).
    "account_lag": [],
}
# The account lists a consistency lag delays, per venue (Binance: fills and the income history,
# where funding and transfers are; its position read cannot lag on the face).
ACCOUNT_LISTS = {
    "bybit": ("/v5/execution/list", "/v5/position/list", "/v5/account/transaction-log"),
    "binanceusdm": ("/fapi/v1/userTrades", "/fapi/v1/income"),
}


def episode(name: str, venue: str) -> list[dict[str, Any]]:
    """The faults of episode ``name`` on ``venue``."""
    if name == "account_lag":
        return [
            {"kind": "consistency_lag", "endpoint": e, "ms": 1500} for e in ACCOUNT_LISTS[venue]
        ]
    return EPISODES[name]


EPISODE_BARS = {
    "maintenance": 1,
    "stale_tickers": 3,
    "clock_skew": 4,
    "rate_limit": 3,
    "account_lag": 2,
}
# What a person does in the venue's web UI (no client id on anything they place).
MANUAL = ("hand_order", "hand_stop_cancel", "hand_position")
METRIC = re.compile(r"^(rotor_asyncio_tasks|rotor_resident_memory_bytes) ([0-9.e+]+)$", re.M)


def daemon_env(data: Path, symbols: list[str]) -> dict[str, str]:
    return {
        "ROTOR__UNIVERSE__SYMBOLS": json.dumps(symbols),
        "ROTOR__UNIVERSE__SECTOR_MAP": str(data / "sectors.csv"),
        "ROTOR__DATABASE__LEASE_TTL_S": str(LEASE_TTL_S),
        "ROTOR__EXCHANGE__TIMEOUT_MS": "2000",
        "ROTOR__EXCHANGE__MAX_READ_RETRIES": "3",
        "ROTOR__EXECUTION__KILL_RETRY_MAX_BACKOFF_S": "2",
        "ROTOR__LOGGING__LEVEL": "INFO",
        # Breakers wide open: a drawdown kill would leave the rest of the run with no orders.
        "ROTOR__RISK__MAX_DRAWDOWN": "0.6",
        "ROTOR__RISK__DAILY_LOSS_LIMIT": "0.3",
        # An eager rsi-reversion, so plenty of orders meet the faults.
        "ROTOR__STRATEGY__PARAMS__RSI_OVERSOLD": "40",
        "ROTOR__STRATEGY__PARAMS__ADX_MAX": "50",
        "ROTOR__STRATEGY__PARAMS__EXIT_RSI": "50",
    }


class Chaos:
    """Drives one chaos run and collects its figures."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.rng = random.Random(args.seed)
        self.db_url = args.db or f"sqlite+aiosqlite:///{work / 'rotor.db'}"
        self.log = work / "rotor.log"
        self.restarts: Counter[str] = Counter()
        self.episodes: Counter[str] = Counter()
        self.stalls = 0
        self.samples: list[dict[str, Any]] = []
        self.active: dict[str, int] = {}  # episode -> bars left
        self.install = 0
        self.manual: Counter[str] = Counter()
        self.transfers: list[str] = []
        self.instrument_changes: Counter[str] = Counter()
        self.symbols: list[str] = []

    async def faults(self, sim: SimHandle) -> None:
        self.install += 1
        extra = [f for name in self.active for f in episode(name, self.args.venue)]
        await sim.set_faults(
            always(self.args.venue) + extra, seed=self.args.seed * 1000 + self.install
        )

    async def step(self, sim: SimHandle, rotor: Rotor) -> None:
        now = int((await sim.advance(1))["time"])
        now -= now % HOUR_MS  # a clock-skew episode shifts the reported time off the hour
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if rotor.proc.returncode is not None:
                raise RuntimeError(f"rotor exited with {rotor.proc.returncode}:\n{rotor.tail()}")
            with contextlib.suppress(Exception):
                if ((await rotor.status()).get("last_cycle") or 0) >= now:
                    return
            await asyncio.sleep(0.02)
        self.stalls += 1  # it will catch up on a later bar; counted, not fatal

    async def sample(self, rotor: Rotor, day: int) -> None:
        with contextlib.suppress(Exception):
            code, text = await rotor.get("/metrics", auth=False)
            found = dict(METRIC.findall(text)) if code == 200 else {}
            self.samples.append(
                {
                    "day": day,
                    "pid": rotor.proc.pid,
                    "tasks": int(float(found.get("rotor_asyncio_tasks", "nan"))),
                    "rss_mb": round(float(found.get("rotor_resident_memory_bytes", 0)) / 2**20, 1),
                }
            )

    async def kill_mid_order(self, sim: SimHandle, rotor: Rotor) -> int:
        """Advance until the daemon sends an order, then SIGKILL it (bounded); returns bars."""
        seen = sum(1 for e in rotor.logs() if e.get("event") == "order_submit")
        bars = 0
        for _ in range(12):
            await self.step(sim, rotor)
            bars += 1
            if sum(1 for e in rotor.logs() if e.get("event") == "order_submit") > seen:
                break
        rotor.proc.kill()
        await rotor.proc.wait()
        return bars

    async def run(self) -> dict[str, Any]:
        a = self.args
        data = self.work / "data"
        uni = generate(data, n_symbols=a.symbols, days=WARMUP_DAYS + a.days + 8, seed=a.seed)
        symbols = list(uni.symbols)
        self.symbols = symbols
        start = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ",
            time.gmtime((_first_ts(data) + WARMUP_DAYS * 24 * HOUR_MS) / 1000),
        )
        env = daemon_env(data, symbols)
        args = ["--data", str(data), "--speed", "0", "--start", start, "--venue", a.venue]
        started = time.monotonic()
        async with sim_subprocess(args) as sim:
            await self.faults(sim)
            next_restart = self.rng.randint(2 * 24, 5 * 24)
            bar = 0
            total = a.days * 24
            while bar < total:
                async with rotor_process(sim, self.db_url, self.log, env) as rotor:
                    await rotor.wait_for(lambda s: s.get("phase") == "running", 120, "running")
                    while bar < total:
                        if bar % 24 == 0:
                            await self.day_start(sim, bar // 24)
                            await self.sample(rotor, bar // 24)
                        await self.step(sim, rotor)
                        bar += 1
                        await self.tick_episodes(sim)
                        await self.resume_if_halted(rotor)
                        if bar >= next_restart and bar < total:
                            next_restart = bar + self.rng.randint(2 * 24, 5 * 24)
                            how = self.rng.random()
                            if how < 0.4:
                                bar += await self.kill_mid_order(sim, rotor)
                                self.restarts["sigkill_mid_order"] += 1
                            elif how < 0.8:
                                rotor.proc.kill()
                                await rotor.proc.wait()
                                self.restarts["sigkill"] += 1
                            else:
                                rotor.signal(signal.SIGTERM)
                                await rotor.wait_exit(60)
                                self.restarts["sigterm"] += 1
                            break
                if rotor.proc.returncode is not None and bar < total:
                    await asyncio.sleep(LEASE_TTL_S + 0.3)  # a killed instance's lease lapses
            # The end: faults off, one clean cycle, graceful stop, then the invariants.
            self.active.clear()
            await sim.set_faults([])
            async with rotor_process(sim, self.db_url, self.log, env) as rotor:
                await rotor.wait_for(lambda s: s.get("phase") == "running", 120, "running")
                await self.step(sim, rotor)
                await self.sample(rotor, a.days)
                rotor.signal(signal.SIGTERM)
                exit_code = await rotor.wait_exit(60)
            books = await read_books(sim, self.db_url)
            requests = await sim.requests()
        wall = time.monotonic() - started
        problems = nothing_lost(without_hand_fills(books))
        stored_flows = await stored_cash_flows(self.db_url)
        if sorted(stored_flows) != sorted(self.transfers):
            problems.append(
                f"cash flows: {len(self.transfers)} transfers made, {len(stored_flows)} stored"
            )
        logs = [e.get("event") for e in Rotor.logs(rotor)]
        return {
            "venue": a.venue,
            "days": a.days,
            "symbols": a.symbols,
            "wall_s": round(wall, 1),
            "venue_orders": len(books.venue_orders),
            "db_orders": len(books.db_orders),
            "fills": len(books.venue_fills),
            "funding_payments": len(books.db_funding),
            "closed_positions": len(books.db_closed),
            "liquidations": sum(1 for c in books.db_closed if c.how == "liquidation"),
            "open_positions_end": len(books.venue_positions),
            "requests": requests["total"],
            "faults_injected": dict(sorted(requests["faults"].items())),
            "episodes": dict(sorted(self.episodes.items())),
            "restarts": dict(sorted(self.restarts.items())),
            "manual_actions": dict(sorted(self.manual.items())),
            "transfers_made": len(self.transfers),
            "cash_flows_stored": len(stored_flows),
            "instrument_changes": dict(sorted(self.instrument_changes.items())),
            "stalled_bars": self.stalls,
            "final_exit_code": exit_code,
            "discrepancies": len(problems),
            "discrepancy_detail": problems,
            "duplicated_entries": duplicated_entries(books),
            "reconcile_corrections": {
                ev: logs.count(ev)
                for ev in (
                    "reconcile_order_adopted",
                    "reconcile_position_adopted",
                    "reconcile_position_corrected",
                    "reconcile_position_vanished",
                )
            },
            "samples": self.samples,
        }

    async def resume_if_halted(self, rotor: Rotor) -> None:
        """An operator resume after a kill (a breaker can still fire): the run goes on."""
        with contextlib.suppress(Exception):
            if (await rotor.status()).get("state") == "HALTED":
                await rotor.post("/resume")
                self.restarts["operator_resume_after_kill"] += 1

    async def day_start(self, sim: SimHandle, day: int) -> None:
        """Draw the day's episodes (each kind on about one day in four) and account events."""
        if self.rng.random() < 0.2:
            amount = self.rng.choice((-1, 1)) * self.rng.randint(500, 1500)
            with contextlib.suppress(Exception):
                reply = await sim.admin(
                    "POST", "/sim/transfer", {"coin": "USDT", "amount": str(amount)}
                )
                if "walletBalance" in reply:
                    self.transfers.append(str(amount))
        if self.rng.random() < 1 / 6:
            symbol = self.rng.choice(self.symbols)
            if self.rng.random() < 0.5:
                change: dict[str, Any] = {"fundingInterval": self.rng.choice((60, 480))}
                self.instrument_changes["funding_interval"] += 1
            else:
                change = {"tickSize": "0.000001"}
                self.instrument_changes["tick_size"] += 1
            with contextlib.suppress(Exception):
                await sim.admin("POST", "/sim/instrument", {"symbol": symbol, **change})
        started = [n for n in EPISODES if n not in self.active and self.rng.random() < 0.25]
        for name in started:
            self.active[name] = EPISODE_BARS[name] + self.rng.randint(0, 2)
            self.episodes[name] += 1
        if started:
            await self.faults(sim)
        for name in MANUAL:
            if self.rng.random() < 0.25:
                done = await self.manual_action(sim, name)
                self.manual[name if done else f"{name}_failed"] += 1

    async def manual_action(self, sim: SimHandle, name: str) -> bool:
        """One action by hand through the venue's own face (signed calls, through the faults
        like any client: a refused one is counted as failed, never retried blindly)."""
        symbol = self.rng.choice(self.symbols)
        try:
            if name == "hand_stop_cancel":
                stops = [
                    o
                    for o in (await sim.state())["orders"]
                    if o["orderStatus"] == "Untriggered" and o["orderLinkId"]
                ]
                if not stops:
                    return False
                stop = self.rng.choice(stops)
                await hand_cancel(sim, stop["symbol"], stop)
                return True
            step, tick_size, min_qty = await _steps(sim, symbol)
            last = float(await ticker_price(sim, symbol, "lastPrice"))
            qty = _fmt(max(min_qty, round(60 / last / step) * step), step)
            if name == "hand_order":
                price = _fmt(round(last * 0.7 / tick_size) * tick_size, tick_size)
                await hand_order(sim, symbol, "Buy", qty, price=price)
            else:
                await hand_order(sim, symbol, self.rng.choice(["Buy", "Sell"]), qty)
            return True
        except Exception:  # a fault or a refusal: the person gives up
            return False

    async def tick_episodes(self, sim: SimHandle) -> None:
        ended = []
        for name in list(self.active):
            self.active[name] -= 1
            if self.active[name] <= 0:
                ended.append(name)
                del self.active[name]
        if ended:
            await self.faults(sim)


async def _steps(sim: SimHandle, symbol: str) -> tuple[float, float, float]:
    """(quantity step, tick size, minimum quantity) of ``symbol`` from ``sim``'s own face."""
    if sim.venue == "binanceusdm":
        _s, body, _h = await sim.binance("GET", "/fapi/v1/exchangeInfo", sign=False)
        [row] = [r for r in body["symbols"] if r["symbol"] == symbol]
        f = {x["filterType"]: x for x in row["filters"]}
        lot = f["LOT_SIZE"]
        return float(lot["stepSize"]), float(f["PRICE_FILTER"]["tickSize"]), float(lot["minQty"])
    _s, info = await sim.bybit(
        "GET", "/v5/market/instruments-info", {"category": "linear", "symbol": symbol}
    )
    inst = info["result"]["list"][0]
    lot = inst["lotSizeFilter"]
    return float(lot["qtyStep"]), float(inst["priceFilter"]["tickSize"]), float(lot["minOrderQty"])


def _fmt(x: float, step: float) -> str:
    """``x`` on the ``step`` grid as the venue expects it (no float noise)."""
    decimals = max(0, -int(f"{step:e}".split("e")[1]))
    return f"{x:.{decimals}f}"


async def stored_cash_flows(db_url: str) -> list[str]:
    """The amounts rotor stored in ``cash_flows``, as decimal strings."""
    from bot.storage import Repository, create_engine

    engine = create_engine(db_url)
    try:
        return [
            format(f.amount.normalize(), "f") for f in await Repository(engine).list_cash_flows()
        ]
    finally:
        await engine.dispose()


def _first_ts(data: Path) -> int:
    from bot.data.datadir import read_ohlcv

    first = sorted((data / "ohlcv").glob("*.parquet"))[0]
    return int(read_ohlcv(first).ts[0])


def summarize(r: dict[str, Any]) -> str:
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for s in r["samples"]:
        by_pid.setdefault(s["pid"], []).append(s)
    tasks = [s["tasks"] for s in r["samples"]]
    rss = [s["rss_mb"] for s in r["samples"]]
    lines = [
        f"chaos: {r['days']} simulated days, {r['symbols']} symbols, {r['wall_s']} s wall",
        f"  orders on the venue {r['venue_orders']} (database {r['db_orders']}), fills "
        f"{r['fills']}, funding payments {r['funding_payments']}, closed positions "
        f"{r['closed_positions']} ({r['liquidations']} liquidations)",
        f"  requests {r['requests']}, faults injected {r['faults_injected']}",
        f"  episodes {r['episodes']}",
        f"  transfers made {r['transfers_made']}, cash flows stored {r['cash_flows_stored']}, "
        f"instrument changes {r['instrument_changes']}",
        f"  restarts {r['restarts']}, stalled bars {r['stalled_bars']}",
        f"  manual actions {r.get('manual_actions', {})}",
        f"  DISCREPANCIES {r['discrepancies']} {r['discrepancy_detail'][:5]}",
        f"  reconcile corrections seen in the logs {r['reconcile_corrections']}",
        f"  asyncio tasks min/max {min(tasks, default=0)}/{max(tasks, default=0)}; "
        f"RSS MB min/max {min(rss, default=0)}/{max(rss, default=0)}",
    ]
    for pid, ss in by_pid.items():
        lines.append(
            f"    pid {pid}: days {ss[0]['day']}-{ss[-1]['day']}, tasks "
            f"{[s['tasks'] for s in ss]}, rss_mb {[s['rss_mb'] for s in ss]}"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--venue", choices=tuple(VENUE_FAULTS), default="bybit")
    p.add_argument("--symbols", type=int, default=8)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    args = p.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(Chaos(args, args.keep).run())
    else:
        with tempfile.TemporaryDirectory(prefix="rotor-chaos-") as tmp:
            report = asyncio.run(Chaos(args, Path(tmp)).run())
    print(summarize(report))
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))
    return 0 if report["discrepancies"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
