"""Daemon benchmark (issue #7): bar-close cycle latency for 300 symbols, and resident memory
after a 90-day replay compared with after 10 days (it must not grow).

Runs the real daemon (``bot.runtime.daemon.Daemon``) in replay mode in-process on synthetic
data from ``rotor sim generate``; every cycle is the full pipeline (reconcile, signals, risk,
orders, stops, persistence to SQLite).

    .venv/bin/python bench/bench_daemon.py [--symbols 300] [--days 100] [--preset rsi-reversion]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.data.synthetic import generate  # noqa: E402
from bot.observability.logging import configure_logging  # noqa: E402
from bot.runtime.daemon import Daemon  # noqa: E402

HOUR_MS = 3_600_000


def rss_mb() -> float:
    """Current resident set size (not the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data = work / "data"
    t0 = time.perf_counter()
    generate(data, n_symbols=args.symbols, days=args.days + args.warmup_days, seed=args.seed)
    gen_s = time.perf_counter() - t0
    start = _first_ts(data) + args.warmup_days * 24 * HOUR_MS
    settings = load_settings(
        overrides={
            "mode": "replay",
            "sim.data_dir": str(data),
            "sim.start": _iso(start),
            "strategy.preset": args.preset,
            "universe.sector_map": str(data / "sectors.csv"),
            "database.url": f"sqlite+aiosqlite:///{work / 'rotor.db'}",
            "control.enabled": False,
            "logging.level": "WARNING",
            **dict(kv.split("=", 1) for kv in args.set),
        },
        environ={},
    )
    configure_logging("WARNING", "json", stream=io.StringIO())
    daemon = Daemon(settings)
    await daemon.start()
    latencies: list[float] = []
    samples: list[tuple[int, float, int]] = []  # (day, rss MB, asyncio tasks)
    orig = daemon.services.core.on_bar

    async def timed(*a: Any, **kw: Any) -> Any:
        report = await orig(*a, **kw)
        latencies.append(report.latency_s)
        n = len(latencies)
        if n % 24 == 0:
            gc.collect()
            samples.append((n // 24, rss_mb(), len(asyncio.all_tasks())))
        return report

    daemon.services.core.on_bar = timed  # type: ignore[method-assign]
    t1 = time.perf_counter()
    await daemon.run()
    wall = time.perf_counter() - t1
    lat = sorted(latencies)
    by_day = {d: (r, t) for d, r, t in samples}
    day10 = by_day.get(10, (float("nan"), 0))
    day90 = by_day.get(90, samples[-1][1:] if samples else (float("nan"), 0))
    return {
        "symbols": args.symbols,
        "preset": args.preset,
        "overrides": args.set,
        "window_hours": daemon.services.core.signals.window_hours,
        "cycles": len(lat),
        "generate_s": round(gen_s, 2),
        "replay_wall_s": round(wall, 1),
        "cycle_ms_p50": round(statistics.median(lat) * 1000, 1) if lat else None,
        "cycle_ms_p99": round(lat[int(0.99 * (len(lat) - 1))] * 1000, 1) if lat else None,
        "cycle_ms_max": round(lat[-1] * 1000, 1) if lat else None,
        "rss_mb_day10": round(day10[0], 1),
        "rss_mb_day90": round(day90[0], 1),
        "tasks_day10": day10[1],
        "tasks_day90": day90[1],
        "rss_series": [(d, round(r, 1)) for d, r, _ in samples[:: max(1, len(samples) // 12)]],
    }


def _first_ts(data: Path) -> int:
    from bot.data.datadir import DataDir

    d = DataDir(data)
    return int(d.ohlcv(d.symbols()[0]).ts[0])


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--symbols", type=int, default=300)
    p.add_argument("--days", type=int, default=100, help="replayed days (after warm-up)")
    p.add_argument("--warmup-days", type=int, default=40)
    p.add_argument("--preset", default="rsi-reversion")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. strategy.params.heat_history_days=30",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
