"""Daemon-wide requests and venue weight per poll and per closed bar, counted by the venue.

Runs the real ``rotor run --mode testnet`` (unmodified ccxt) against ``rotor sim serve`` (manual
clock) on synthetic data for ``--symbols`` symbols and reads ``GET /sim/requests``: request
counts and, on the Binance face, the IP weight Binance documents for each request (the face's
``weight``). Everything the daemon sends is counted: the market polls, the klines of a closed
bar, and the account reads of its cycle (open orders, positions, ``symbolConfig``, balance,
income, ``userTrades``, the per-bar instrument refresh ``exchangeInfo`` + ``fundingInfo``),
plus any orders the strategy places.

    .venv/bin/python bench/bench_weight.py [--venue binanceusdm|bybit] [--symbols 300]
        [--bars 6] [--quiet-s 6] [--poll-s 0.5]

1. start-up (backfill, instruments, reconciliation): requests and weight until "running";
2. quiet polls: ``--quiet-s`` seconds of wall time with no bar closing; per poll;
3. closed bars: ``--bars`` times, advance the simulator one bar and wait until the daemon has
   cycled on it and polled once more; what that window cost beyond its polls is the bar's.
The daemon polls every ``--poll-s`` seconds of wall time here (15 s by default in production):
per hour that is ``3600 / poll_interval_s`` polls plus one closed bar.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from tests.simserver import SimHandle, sim_subprocess  # noqa: E402

HOUR_MS = 3_600_000
WARMUP_DAYS = 12
# One request of every poll (counts the polls).
POLL_MARK = {"binanceusdm": "GET /fapi/v1/premiumIndex", "bybit": "GET /v5/market/tickers"}


def daemon_env(data: Path, symbols: list[str], poll_s: float) -> dict[str, str]:
    return {
        "ROTOR__UNIVERSE__SYMBOLS": json.dumps(symbols),
        "ROTOR__UNIVERSE__SECTOR_MAP": str(data / "sectors.csv"),
        "ROTOR__EXCHANGE__POLL_INTERVAL_S": str(poll_s),
        "ROTOR__EXCHANGE__TIMEOUT_MS": "30000",
        "ROTOR__LOGGING__LEVEL": "INFO",
    }


async def snapshot(sim: SimHandle, reset: bool = True) -> tuple[Counter[str], Counter[str]]:
    """(requests, weight) by "METHOD /path" since the last reset; resets again."""
    got = await sim.requests()
    if reset:
        await sim.admin("POST", "/sim/requests/reset")
    return Counter(got["calls"]), Counter(got.get("weight", {}))


async def wait_polls(sim: SimHandle, mark: str, n: int, limit_s: float = 120.0) -> None:
    """Until the venue has seen ``n`` more polls (counted since the last reset)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if int((await sim.requests())["calls"].get(mark, 0)) >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {n} polls within {limit_s}s")


def table(title: str, calls: Counter[str], weight: Counter[str], per: float) -> str:
    lines = [f"{title} (per {per:g}):", f"  {'endpoint':44s} {'requests':>9s} {'weight':>8s}"]
    for k in sorted(set(calls) | set(weight), key=lambda k: (-weight[k], -calls[k], k)):
        lines.append(f"  {k:44s} {calls[k] / per:9.2f} {weight[k] / per:8.2f}")
    lines.append(
        f"  {'TOTAL':44s} {sum(calls.values()) / per:9.2f} {sum(weight.values()) / per:8.2f}"
    )
    return "\n".join(lines)


async def run(a: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"venue": a.venue, "symbols": a.symbols, "poll_s": a.poll_s}
    mark = POLL_MARK[a.venue]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        uni = generate(data, n_symbols=a.symbols, days=WARMUP_DAYS + a.bars // 24 + 8, seed=1)
        symbols = list(uni.symbols)
        start_ms = _first_ts(data) + WARMUP_DAYS * 24 * HOUR_MS
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000))
        args = ["--data", str(data), "--speed", "0", "--start", start, "--venue", a.venue]
        db_url = f"sqlite+aiosqlite:///{work / 'rotor.db'}"
        env = daemon_env(data, symbols, a.poll_s)
        async with sim_subprocess(args) as sim:
            t0 = time.monotonic()
            async with rotor_process(sim, db_url, work / "rotor.log", env, 900) as rotor:
                startup_s = time.monotonic() - t0
                calls, weight = await snapshot(sim)
                print(f"start-up: {startup_s:.1f} s")
                print(table("START-UP", calls, weight, 1))
                out["startup"] = {"s": startup_s, "requests": sum(calls.values()),
                                  "weight": sum(weight.values())}  # fmt: skip
                # Quiet polls: no bar closes.
                await asyncio.sleep(a.quiet_s)
                q_calls, q_weight = await snapshot(sim)
                polls = q_calls[mark]
                print(table(f"QUIET POLL ({polls} polls)", q_calls, q_weight, polls))
                out["poll"] = {"requests": sum(q_calls.values()) / polls,
                               "weight": sum(q_weight.values()) / polls,
                               "by_endpoint": {k: v / polls for k, v in q_calls.items()}}  # fmt: skip
                b_calls: Counter[str] = Counter()
                b_weight: Counter[str] = Counter()
                b_polls = 0
                for _ in range(a.bars):
                    await snapshot(sim)
                    now = int((await sim.advance(1))["time"])
                    await rotor.wait_for(lambda s, t=now: (s.get("last_cycle") or 0) >= t, 300)
                    seen = int((await sim.requests())["calls"].get(mark, 0))
                    await wait_polls(sim, mark, seen + 1)  # one more poll after the cycle
                    c, w = await snapshot(sim)
                    b_calls += c
                    b_weight += w
                    b_polls += c[mark]
                # What the bars cost beyond their polls (at the quiet polls' per-poll cost).
                extra_c = Counter({k: v - q_calls[k] / polls * b_polls for k, v in b_calls.items()})
                extra_w = Counter(
                    {k: v - q_weight[k] / polls * b_polls for k, v in b_weight.items()}
                )
                extra_c = Counter({k: v for k, v in extra_c.items() if v > 0.005 * a.bars})
                extra_w = Counter({k: v for k, v in extra_w.items() if k in extra_c})
                print(table(f"CLOSED BAR beyond its polls ({a.bars} bars)", extra_c, extra_w,
                            a.bars))  # fmt: skip
                out["bar"] = {"requests": sum(extra_c.values()) / a.bars,
                              "weight": sum(extra_w.values()) / a.bars,
                              "by_endpoint": {k: v / a.bars for k, v in extra_c.items()},
                              "weight_by_endpoint": {k: v / a.bars for k, v in extra_w.items()}}  # fmt: skip
                polls_h = 3600 / a.production_poll_s
                per_h_req = polls_h * out["poll"]["requests"] + out["bar"]["requests"]
                per_h_w = polls_h * out["poll"]["weight"] + out["bar"]["weight"]
                print(
                    f"PER HOUR at poll_interval_s={a.production_poll_s:g} ({polls_h:.0f} polls + "
                    f"1 closed bar, {len(symbols)} symbols, {a.venue}): {per_h_req:.0f} "
                    f"requests, weight {per_h_w:.0f}; busiest minute (the closed bar's): "
                    f"weight {out['bar']['weight'] + 60 / a.production_poll_s * out['poll']['weight']:.0f}"
                    + (" of Binance's 2400" if a.venue == "binanceusdm" else "")
                )
                out["per_hour"] = {"requests": per_h_req, "weight": per_h_w}
                await _stop(rotor)
    return out


async def _stop(rotor: Rotor) -> None:
    import signal

    rotor.signal(signal.SIGTERM)
    await rotor.wait_exit(60)


def _first_ts(data: Path) -> int:
    from bot.data.datadir import read_ohlcv

    first = sorted((data / "ohlcv").glob("*.parquet"))[0]
    return int(read_ohlcv(first).ts[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venue", choices=tuple(POLL_MARK), default="binanceusdm")
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--bars", type=int, default=6)
    ap.add_argument("--quiet-s", type=float, default=6.0)
    ap.add_argument("--poll-s", type=float, default=0.5)
    ap.add_argument("--production-poll-s", type=float, default=15.0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    result = asyncio.run(run(a))
    if a.out:
        a.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
