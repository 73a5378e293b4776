"""``rotor scan`` through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from bot.data.datadir import DataDir
from bot.data.sample import sample_dir

ROTOR = Path(sys.executable).parent / "rotor"
SECTOR_KEYS = {
    "sector", "members", "listed_members", "eligible_members", "oi_members", "funding_members",
    "return_7d", "return_30d", "rs_7d", "rs_30d", "accel", "oi_flow", "oi_missing",
    "funding_heat", "overheated", "score", "leader",
}  # fmt: skip
SYMBOL_KEYS = {
    "symbol", "sector", "eligible", "timeframe", "bar_time", "close", "gap", "zgap", "rsi",
    "adx", "atr", "funding_8h", "oi_flow", "candidate", "confirmed", "action", "reasons",
}  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    env["TZ"] = "America/New_York"
    return subprocess.run(
        [str(ROTOR), "scan", *args], capture_output=True, text=True, timeout=120, env=env
    )


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_scan_json_on_the_bundled_sample() -> None:
    out = run("--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # exactly one JSON object
    assert set(doc) == {"t", "regime", "inputs", "sectors", "symbols"}
    assert set(doc["regime"]) == {"risk_on", "known", "alt_btc_slope", "breadth", "alts"}
    assert all(set(s) == SECTOR_KEYS for s in doc["sectors"])
    assert all(set(s) == SYMBOL_KEYS for s in doc["symbols"])
    # every symbol of the data, eligible or not
    assert sorted(s["symbol"] for s in doc["symbols"]) == DataDir(sample_dir()).symbols()
    assert len({s["sector"] for s in doc["sectors"]}) == len(doc["sectors"]) > 0
    for s in doc["symbols"]:
        assert s["timeframe"] == "4h"
        assert s["bar_time"] is None or ms(s["bar_time"]) + 4 * 3_600_000 <= ms(doc["t"])


def test_scan_at_uses_only_data_available_then(shared_data: Path) -> None:
    at = "2025-08-01T10:30:00Z"
    out = run("--data", str(shared_data), "--at", at, "--json", "--preset", "rsi-reversion")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["t"] == "2025-08-01T10:00:00Z"  # the last bar closed by --at
    assert {s["timeframe"] for s in doc["symbols"]} == {"1h"}
    assert (
        max(ms(s["bar_time"]) for s in doc["symbols"] if s["bar_time"]) == ms(doc["t"]) - 3_600_000
    )


def test_scan_renders_tables_and_rejects_bad_input(shared_data: Path) -> None:
    out = run("--data", str(shared_data), "--at", "2025-08-01T10:00:00Z")
    assert out.returncode == 0, out.stderr
    assert "Sectors" in out.stdout and "regime" in out.stdout
    bad = run("--at", "yesterday")
    assert bad.returncode == 2 and "--at" in bad.stderr
    naive = run("--at", "2025-08-01T10:00:00")
    assert naive.returncode == 2 and "timezone" in naive.stderr
    nope = run("--preset", "nope", "--json")
    assert nope.returncode == 2 and "strategy.preset" in nope.stderr
    missing = run("--data", str(shared_data / "nope"), "--json")
    assert missing.returncode == 1 and "not found" in missing.stderr
