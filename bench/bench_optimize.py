"""Trials per minute of ``rotor optimize`` on bench_backtest's workload (issue #19, part 3).

Data and config: those of ``bench/bench_backtest.py`` (50 synthetic perpetuals × 8,760 1h
bars, rsi-reversion with a fixed 8 % stop, 10x, 5 positions, 2 % risk), searched over the
preset's declared space (``bot.backtest.space``); one fold, 70 % in sample. Each trial is
one backtest of its train window; after the search, the test piece runs for the ten trials the
report lists (the chosen one among them) and for the untuned config.

Two set-ups, each a real ``rotor optimize`` child process:

* one worker: ``--trials N`` in memory;
* two workers on one shared Optuna study (``--storage``, default a SQLite file; pass a
  PostgreSQL URL to use that), started together, ``--trials N`` each.

Every worker is warm: it loads the data directory and builds the panel once, then runs all
its trials on it. Reported: trials/min over the whole command (start-up, data load, the
trials, the final test runs) and in steady state (between the first and last finished trial,
from the time each "trial N" line arrives on stderr), plus the workers' CPU time
(``RUSAGE_CHILDREN``: user + sys) and the load average.

Usage: ``.venv/bin/python bench/bench_optimize.py [--trials 20] [--storage URL]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backtest import ROOT, ROTOR, workload


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_workers(data: Path, config: Path, trials: int, workers: int, storage: str | None) -> dict:
    """Start ``workers`` optimize processes together; time each finished trial."""
    cmd = [*ROTOR, "optimize", "--data", str(data), "--config", str(config),
           "--preset", "rsi-reversion", "--trials", str(trials)]  # fmt: skip
    if storage is not None:
        cmd += ["--storage", storage, "--study", f"bench-{os.getpid()}-{time.time_ns()}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    stamps: list[float] = []
    lock = threading.Lock()

    def reader(proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if " trial " in line and "in-sample" in line:
                with lock:
                    stamps.append(time.perf_counter())

    cpu0, t0 = _cpu(), time.perf_counter()
    procs = []
    for w in range(workers):
        seeded = [*cmd, "--seed", str(11 + w)]
        procs.append(subprocess.Popen(seeded, cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))  # fmt: skip
    threads = [threading.Thread(target=reader, args=(p,)) for p in procs]
    for t in threads:
        t.start()
    for p in procs:
        p.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if any(p.returncode for p in procs):
        raise SystemExit("rotor optimize failed")
    done = len(stamps)
    steady = (done - 1) / (stamps[-1] - stamps[0]) * 60 if done > 1 else float("nan")
    return {"trials": done, "wall": wall, "cpu": _cpu() - cpu0,
            "per_min": done / wall * 60, "steady_per_min": steady}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20, help="trials per worker")
    ap.add_argument("--storage", default=None, help="shared study URL (default: SQLite file)")
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data, config = workload(base, args.symbols, args.days)
        storage = args.storage or f"sqlite:///{base / 'study.db'}"
        print(f"load before: {os.getloadavg()[0]:.2f}")
        for workers, url in ((1, None), (2, storage)):
            r = run_workers(data, config, args.trials, workers, url)
            print(
                f"{workers} worker(s){' on a shared study' if url else ''}: {r['trials']} trials "
                f"in {r['wall']:.1f} s wall ({r['cpu']:.1f} s CPU): {r['per_min']:.1f} trials/min "
                f"whole command, {r['steady_per_min']:.1f} trials/min steady state; "
                f"load {os.getloadavg()[0]:.2f}"
            )


if __name__ == "__main__":
    main()
