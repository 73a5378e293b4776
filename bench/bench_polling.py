"""Requests per simulated hour for a 300-symbol universe, counted by the simulator.

Runs ``rotor sim serve``'s HTTP face in-process on synthetic data (``bot.data.synthetic``),
points a ``CcxtVenue`` (real ccxt) at it and drives ``MarketFeed`` the way the daemon does:
one poll every ``--poll-s`` seconds of simulated time, the sim clock advanced one bar per
simulated hour (manual mode, speed 0). The figures come from ``GET /sim/requests``.

    .venv/bin/python bench/bench_polling.py [--symbols 300] [--hours 6] [--poll-s 15]
        [--venue bybit|binanceusdm]

``--venue binanceusdm`` serves the Binance USDⓈ-M face and drives ``ccxt.binanceusdm``: a poll
there is four bulk requests (server time, last prices, premium index, book tops) instead of
Bybit's one.

A last step times one closed-bar poll with ccxt's own rate limiter (Bybit market endpoints
cost 5 × 20 ms in ccxt), which bounds how fast the klines of a new bar can arrive.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from bot.data.store import PanelStore
from bot.data.synthetic import DEFAULT_START_MS, generate
from bot.sim.http.server import SimServer, SimServerConfig, build_context
from bot.venues.ccxt_client import ClientSpec, Endpoint, ExchangeName
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.feed import MarketFeed, PanelStoreSink

HOUR = 3_600_000
KEY, SECRET = "bench-key-0000", "bench-secret-0000"


async def admin(session: aiohttp.ClientSession, url: str, method: str, path: str) -> dict:
    async with session.request(method, url + path, json={"bars": 1}) as r:
        return dict(await r.json())


def used_weight(srv: SimServer) -> tuple[int, int] | None:
    """The Binance face's IP-weight window (start, used), None on the Bybit face."""
    counters = getattr(srv.ctx.face, "counters", None)
    return counters.windows.get("weight", (0, 0)) if counters is not None else None


def venue(url: str, rate_limit_ms: int | None, exchange: ExchangeName = "bybit") -> CcxtVenue:
    spec = ClientSpec(
        exchange=exchange,
        endpoint=Endpoint.CUSTOM,
        api_url=url,
        api_key=KEY,
        api_secret=SECRET,
        timeout_ms=30_000,
        rate_limit_ms=rate_limit_ms,
    )
    return CcxtVenue(spec)


async def run(
    n_symbols: int, hours: int, poll_s: float, backfill_h: int, exchange: ExchangeName
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        uni = generate(
            Path(tmp) / "data", n_symbols, days=backfill_h // 24 + hours // 24 + 3, seed=1
        )
        symbols = list(uni.symbols)
        print(f"synthetic data: {len(symbols)} symbols in {time.perf_counter() - t0:.1f} s")
        start = DEFAULT_START_MS + (backfill_h // 24 + 1) * 24 * HOUR
        ctx = build_context(
            SimServerConfig(
                Path(tmp) / "data", KEY, SECRET, start_ms=start, speed=0.0, venue=exchange
            )
        )
        async with SimServer(ctx) as srv, aiohttp.ClientSession() as http:
            v = venue(srv.url, rate_limit_ms=1, exchange=exchange)
            feed = MarketFeed(
                v,
                symbols,
                PanelStoreSink(PanelStore(symbols, capacity=backfill_h + hours + 8)),
                backfill_hours=backfill_h,
                concurrency=16,
            )
            try:
                await v.load_instruments()
                await admin(http, srv.url, "POST", "/sim/requests/reset")
                t0 = time.perf_counter()
                await feed.backfill()
                bf = await admin(http, srv.url, "GET", "/sim/requests")
                print(
                    f"backfill ({backfill_h} h of bars, funding, OI): {bf['total']} requests "
                    f"{bf['endpoints']} in {time.perf_counter() - t0:.1f} s"
                )
                await admin(http, srv.url, "POST", "/sim/requests/reset")
                polls_per_hour = max(1, round(3600 / poll_s))
                t0 = time.perf_counter()
                per_poll: list[int] = []  # requests of each poll, the closed-bar one first
                weights: list[tuple[bool, int]] = []  # (closed-bar poll, Binance IP weight)
                for _ in range(hours):
                    await admin(http, srv.url, "POST", "/sim/advance")
                    for k in range(polls_per_hour):
                        before = (await admin(http, srv.url, "GET", "/sim/requests"))["total"]
                        w0 = used_weight(srv)
                        await feed.poll()
                        w1 = used_weight(srv)
                        after = (await admin(http, srv.url, "GET", "/sim/requests"))["total"]
                        per_poll.append(after - before)
                        if w0 is not None and w1 is not None and w0[0] == w1[0]:
                            weights.append((k == 0, w1[1] - w0[1]))
                wall = time.perf_counter() - t0
                counts = await admin(http, srv.url, "GET", "/sim/requests")
            finally:
                await v.close()
            per_hour = counts["total"] / hours
            print(
                f"steady state: {hours} simulated hours, {polls_per_hour} polls/hour "
                f"(poll every {poll_s:g} s): {counts['total']} requests {counts['endpoints']}"
            )
            print(
                f"REQUESTS PER SIMULATED HOUR ({len(symbols)} symbols, {exchange}): "
                f"{per_hour:.0f} = {polls_per_hour} tickers polls + {len(symbols)} klines; "
                f"per-symbol polling would need {len(symbols) * (polls_per_hour + 1)}"
            )
            bar_polls = per_poll[::polls_per_hour]
            quiet = [n for i, n in enumerate(per_poll) if i % polls_per_hour]
            print(
                f"REQUESTS PER POLL ({exchange}): {min(quiet) if quiet else '-'}-"
                f"{max(quiet) if quiet else '-'} without a closed bar; "
                f"{min(bar_polls)}-{max(bar_polls)} on the poll after a bar closes "
                f"(tickers + one kline request per symbol)"
            )
            if weights:
                quiet_w = sorted({w for bar, w in weights if not bar})
                bar_w = sorted({w for bar, w in weights if bar})
                print(
                    f"BINANCE IP WEIGHT PER POLL (the face's X-MBX-USED-WEIGHT-1M counter): "
                    f"{quiet_w} without a closed bar; {bar_w} on a closed-bar poll "
                    "(limit 2400 per minute)"
                )
            print(f"wall time: {wall / hours / polls_per_hour * 1000:.1f} ms per poll (incl. sim)")

            # One closed bar with ccxt's default limiter: how long until all klines are in.
            v2 = venue(srv.url, rate_limit_ms=None, exchange=exchange)
            feed2 = MarketFeed(
                v2, symbols, PanelStoreSink(PanelStore(symbols, capacity=16)), concurrency=16
            )
            try:
                await v2.load_instruments()
                await feed2.poll()
                await admin(http, srv.url, "POST", "/sim/advance")
                t0 = time.perf_counter()
                res = await feed2.poll()
                print(
                    f"closed-bar poll with ccxt's default limiter: {res.kline_requests} kline "
                    f"requests + 1 tickers in {time.perf_counter() - t0:.1f} s"
                )
            finally:
                await v2.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--hours", type=int, default=6)
    ap.add_argument("--poll-s", type=float, default=15.0)
    ap.add_argument("--backfill-h", type=int, default=200)
    ap.add_argument("--venue", choices=("bybit", "binanceusdm"), default="bybit")
    a = ap.parse_args()
    asyncio.run(run(a.symbols, a.hours, a.poll_s, a.backfill_h, a.venue))


if __name__ == "__main__":
    main()
