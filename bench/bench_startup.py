"""Start-up time of the real daemon against ``rotor sim serve`` (RELIABILITY.md #48).

For each universe size: a seeded synthetic data directory (``tests.simserver.make_data_dir``),
``rotor sim serve`` on a manual clock, and ``rotor run --mode testnet`` through unmodified ccxt
over HTTP with SQLite. Measured:

- **cold**: an empty database; spawn -> ``phase: running`` (migrate, lease, reconcile, backfill)
  and spawn -> the first completed cycle (the bench closes one bar as soon as it is running);
- **warm**: SIGTERM, then the same again on the same database (the stored bars are reused,
  only the gap is downloaded).

The daemon's own ``backfill_done`` line gives the backfill's seconds and request counts; the
child's CPU seconds come from ``getrusage(RUSAGE_CHILDREN)``.

    .venv/bin/python bench/bench_startup.py [--symbols 41 300] [--preset rsi-reversion]

Goals: <= 10 s at 41 symbols and <= 60 s at 300 symbols (start -> first cycle).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.daemon.harness import rotor_process, step  # noqa: E402
from tests.simserver import make_data_dir, sim_subprocess  # noqa: E402

START = "2024-03-01T00:00:00Z"  # 60 days after the data's first bar (tests.simserver.T0)
BARS = 24 * 70


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _events(log: Path, name: str) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("event") == name:
                out.append(e)
    return out


async def one_start(sim: Any, db: str, log: Path, extra: dict[str, str]) -> dict[str, Any]:
    cpu0 = _cpu_children()
    t0 = time.perf_counter()
    async with rotor_process(sim, db, log, extra_env=extra, ready_timeout=900) as rotor:
        ready_s = time.perf_counter() - t0
        await step(sim, rotor, 1)
        first_cycle_s = time.perf_counter() - t0
        rotor.signal(signal.SIGTERM)
        await rotor.wait_exit(60)
    done = _events(log, "backfill_done")[-1]
    return {
        "ready_s": round(ready_s, 2),
        "first_cycle_s": round(first_cycle_s, 2),
        "backfill_s": done.get("seconds"),
        "backfill_requests": done.get("requests"),
        "child_cpu_s": round(_cpu_children() - cpu0, 2),
    }


async def run(n: int, preset: str) -> dict[str, Any]:
    symbols = [f"S{i:03d}USDT" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data_dir(Path(tmp) / "data", symbols, n_bars=BARS)
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'rotor.db'}"
        log = Path(tmp) / "rotor.log"
        extra = {
            "ROTOR__STRATEGY__PRESET": preset,
            "ROTOR__UNIVERSE__SYMBOLS": json.dumps(symbols),
            "ROTOR__UNIVERSE__SECTOR_MAP": str(data / "sectors.csv"),
            "ROTOR__LOGGING__LEVEL": "INFO",
        }
        sim_args = ["--data", str(data), "--speed", "0", "--start", START]
        async with sim_subprocess(sim_args, ready_timeout=300) as sim:
            cold = await one_start(sim, db, log, extra)
            warm = await one_start(sim, db, log, extra)
    return {"symbols": n, "preset": preset, "cold": cold, "warm": warm}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--symbols", type=int, nargs="+", default=[41, 300])
    ap.add_argument("--preset", default="rsi-reversion")
    args = ap.parse_args()
    print(json.dumps({"load_avg": [round(x, 2) for x in os.getloadavg()]}))
    for n in args.symbols:
        print(json.dumps(asyncio.run(run(n, args.preset))), flush=True)


if __name__ == "__main__":
    main()
