"""A daemon cycle over the wide universe against ``rotor sim serve`` (issue #18).

``rotor sim serve`` replays a slice of the shared wide data (``bench_wide.py`` builds it under
``var/bench-wide/``) on a manual clock; ``rotor run --mode testnet`` trades it through
unmodified ccxt over HTTP with the default preset and SQLite. The bench advances the clock one
bar at a time, waits for the daemon's cycle on that bar, and reads each cycle's
``latency_ms`` (bar close seen -> decisions, orders and persistence done) from its JSON log.

    .venv/bin/python bench/bench_wide_daemon.py [--per-sector 1000] [--bars 48]

Reads ``../shared/data/market/binance-usdm-1h-wide``. Goal: cycle p99 <= 250 ms at ~450
symbols.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_wide import universe  # noqa: E402
from tests.integration.daemon.harness import rotor_process, step  # noqa: E402
from tests.simserver import sim_subprocess  # noqa: E402

START = "2026-02-01T00:00:00Z"  # 140 days of history behind the first cycle


async def run(args: argparse.Namespace) -> None:
    data = universe(args.per_sector)
    n = len(json.loads((data / "sample_manifest.json").read_text())["symbols"])
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'rotor.db'}"
        log = Path(tmp) / "rotor.log"
        extra = {
            "ROTOR__STRATEGY__PRESET": args.preset,
            "ROTOR__UNIVERSE__SYMBOLS": "[]",
            "ROTOR__UNIVERSE__SECTOR_MAP": str(data / "sectors.csv"),
        }
        sim_args = ["--data", str(data), "--speed", "0", "--start", START]
        async with sim_subprocess(sim_args, ready_timeout=300) as sim:
            t0 = time.perf_counter()
            async with rotor_process(sim, db, log, extra_env=extra, ready_timeout=900) as rotor:
                ready_s = time.perf_counter() - t0
                steps = []
                for _ in range(args.bars):
                    s0 = time.perf_counter()
                    await step(sim, rotor, 1)
                    steps.append(time.perf_counter() - s0)
        lat = [
            float(e["latency_ms"])
            for e in (json.loads(x) for x in log.read_text().splitlines() if x.startswith("{"))
            if e.get("event") == "cycle_done" and "latency_ms" in e
        ]
    lat.sort()
    p = {q: lat[min(len(lat) - 1, int(q / 100 * len(lat)))] for q in (50, 90, 99)} if lat else {}
    print(
        json.dumps(
            {
                "symbols": n,
                "preset": args.preset,
                "startup_s": round(ready_s, 1),
                "cycles": len(lat),
                "latency_ms": {f"p{q}": round(v, 1) for q, v in p.items()},
                "bar_step_s_median": round(statistics.median(steps), 3) if steps else None,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-sector", type=int, default=1000)
    ap.add_argument("--bars", type=int, default=48)
    ap.add_argument("--preset", default="rotation-reversion")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
