"""Alerts benchmark (issue #17): the daemon's cycle time with notifications off, going to a
receiver that answers, and going to a receiver that hangs (accepts, never answers).

Runs the real daemon (``bot.runtime.daemon.Daemon``) in replay mode in-process on synthetic
data, with the real logging chain and apprise over real HTTP to a local receiver. Every cycle
logs one ``alert=True`` event before the pipeline runs (far more than a real day has), and the
time of the whole cycle, that log call included, is measured.

    .venv/bin/python bench/bench_alerts.py [--symbols 60] [--days 30] [--per-minute 20]
"""

from __future__ import annotations

import argparse
import asyncio
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

from bench.bench_daemon import _first_ts, _iso  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.data.synthetic import generate  # noqa: E402
from bot.observability.alerts import ALERTS  # noqa: E402
from bot.observability.logging import configure_logging, get_logger  # noqa: E402
from bot.runtime.daemon import Daemon  # noqa: E402
from tests.alertreceiver import alert_receiver  # noqa: E402

HOUR_MS = 3_600_000


async def replay(data: Path, work: Path, args: argparse.Namespace, url: str | None) -> list[float]:
    start = _first_ts(data) + args.warmup_days * 24 * HOUR_MS
    env = {"ROTOR__ALERTS__URLS": url} if url else {}
    settings = load_settings(
        overrides={
            "mode": "replay",
            "sim.data_dir": str(data),
            "sim.start": _iso(start),
            "strategy.preset": "rsi-reversion",
            "universe.sector_map": str(data / "sectors.csv"),
            "database.url": f"sqlite+aiosqlite:///{work / f'rotor-{time.monotonic_ns()}.db'}",
            "control.enabled": False,
            "alerts.timeout_s": 5.0,
            "alerts.max_per_minute": args.per_minute,
        },
        environ=env,
    )
    configure_logging("INFO", "json", settings.secrets(), io.StringIO(), alerts=settings.alerts)
    log = get_logger("rotor.bench")
    daemon = Daemon(settings)
    await daemon.start()
    cycles: list[float] = []
    orig = daemon.services.core.on_bar

    async def timed(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        log.error("bench_alert", cycle=len(cycles), alert=True)
        report = await orig(*a, **kw)
        cycles.append(time.perf_counter() - t0)
        return report

    daemon.services.core.on_bar = timed  # type: ignore[method-assign]
    await daemon.run()
    ALERTS.close()
    return cycles


def summary(name: str, lat: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    s = sorted(lat)
    return {
        "receiver": name,
        "cycles": len(s),
        "cycle_ms_p50": round(statistics.median(s) * 1000, 2),
        "cycle_ms_p99": round(s[int(0.99 * (len(s) - 1))] * 1000, 2),
        "cycle_ms_max": round(s[-1] * 1000, 2),
        **extra,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--symbols", type=int, default=60)
    p.add_argument("--days", type=int, default=30, help="replayed days (after warm-up)")
    p.add_argument("--warmup-days", type=int, default=40)
    p.add_argument(
        "--per-minute",
        type=int,
        default=20,
        help="alerts.max_per_minute (20 = the default; a large value sends every alert to the queue)",
    )
    args = p.parse_args()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        generate(data, n_symbols=args.symbols, days=args.days + args.warmup_days, seed=11)
        cycles = asyncio.run(replay(data, work, args, None))
        out.append(summary("none (alerts off)", cycles, {}))
        for hang in (False, True):
            ALERTS.reset()
            with alert_receiver(hang=hang) as receiver:
                cycles = asyncio.run(replay(data, work, args, receiver.url()))
                counts = {
                    "delivered": ALERTS.sent,
                    "dropped": dict(ALERTS.dropped),
                    "receiver_requests": receiver.requests,
                }
            out.append(summary("hanging" if hang else "answering", cycles, counts))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
