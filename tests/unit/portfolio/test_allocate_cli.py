"""``rotor allocate`` through the installed console script, on the bundled sample and the
shared wide data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from bot.data.datadir import DataDir
from bot.data.sample import sample_dir
from bot.signals.scan import iso

ROTOR = Path(sys.executable).parent / "rotor"
ORDER_KEYS = {"symbol", "market", "side", "qty", "reason"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    env["TZ"] = "America/New_York"
    return subprocess.run(
        [str(ROTOR), "allocate", *args], capture_output=True, text=True, timeout=180, env=env
    )


def doc_of(*args: str) -> dict[str, Any]:
    out = run(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def check_shape(doc: dict[str, Any]) -> None:
    assert set(doc["buckets"]) == {"core", "rotational", "speculative", "cash"}
    for b in doc["buckets"].values():
        assert {"target", "current", "why"} <= set(b)
        assert b["why"]["rule"].startswith("bucket.")
    for s in doc["sectors"]:
        assert {"sector", "bucket", "target", "inputs"} <= set(s)
    rot = [s for s in doc["sectors"] if s["bucket"] == "rotational" and s["state"]]
    assert rot and all("score" in s["inputs"] and "funding_heat" in s["inputs"] for s in rot)
    for o in doc["orders"]:
        assert set(o) >= ORDER_KEYS and o["market"] in ("spot", "perp")
        assert o["side"] in ("buy", "sell") and o["reason"]
    # the spot buckets plus cash are the spot sleeve; with the futures sleeve, everything
    spot = sum(D(b["target"]) for b in doc["buckets"].values())
    assert abs(spot - D(doc["sleeves"]["spot"]["target"])) < D("1e-6")
    assert D(doc["sleeves"]["spot"]["target"]) + D(doc["sleeves"]["futures"]["target"]) == 1


def test_from_cash_on_the_bundled_sample() -> None:
    doc = doc_of("--cash", "25000")
    check_shape(doc)
    # with no --at the allocation is as of the sample's last closed bar
    meta = DataDir(sample_dir()).meta
    assert meta.grid_end_ms is not None
    assert doc["t"] == iso(meta.grid_end_ms + 3_600_000) and doc["nav"] == "25000"
    assert all(D(b["current"]) == 0 for k, b in doc["buckets"].items() if k != "cash")
    spot = [o for o in doc["orders"] if o["market"] == "spot"]
    assert spot and all(o["side"] == "buy" for o in spot)
    core = {o["symbol"] for o in spot if o["bucket"] == "core"}
    assert core == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    # every bought token has a target and the target says why
    targets = {t["symbol"]: t for t in doc["tokens"]}
    for o in spot:
        assert targets[o["symbol"]]["target_why"]["rule"].startswith("target.")
    assert doc["transfers"][0]["to"] == "futures" and D(doc["transfers"][0]["amount"]) == 5000
    assert D(doc["cash"]["after"]) >= 0
    for o in doc["orders"]:
        if o["market"] == "perp":
            assert o["risk"]["approved"] is True and o["role"] and o["qty"]
    for o in doc["refused"]:
        assert o["risk"]["approved"] is False and o["risk"]["reasons"] and o["qty"] is None


def test_with_a_holdings_file(tmp_path: Path) -> None:
    holdings = {
        "cash": "1000",
        "futures_collateral": "2000",
        "spot": {"BTCUSDT": "0.1", "AAVEUSDT": "10", "ETHUSDT": "1"},
        "perps": [
            {"symbol": "BTCUSDT", "side": "short", "qty": "0.005", "entry_price": "95000",
             "role": "hedge"},
        ],
    }  # fmt: skip
    f = tmp_path / "holdings.json"
    f.write_text(json.dumps(holdings), encoding="utf-8")
    doc = doc_of("--holdings", str(f))
    check_shape(doc)
    assert D(doc["buckets"]["core"]["current"]) > 0
    aave = next(t for t in doc["tokens"] if t["symbol"] == "AAVEUSDT")
    assert aave["qty"] == "10" and D(aave["current"]) > 0
    # funding is calm on the sample's last day: the hedge is closed, reduce-only
    hedge = [o for o in doc["orders"] if o["market"] == "perp" and o["role"] == "hedge"]
    assert [(o["symbol"], o["side"], o["reduce_only"], o["qty"]) for o in hedge] == [
        ("BTCUSDT", "buy", True, "0.005")
    ]
    assert hedge[0]["why"]["rule"] == "hedge.close"


def test_bad_holdings_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    f = tmp_path / "holdings.json"
    f.write_text('{"cash": "10", "spot": {"BTCUSDT": "-1"}}', encoding="utf-8")
    out = run("--holdings", str(f))
    assert out.returncode == 2
    assert f"{f}: spot.BTCUSDT: must be a finite number >= 0" in out.stderr


def test_a_held_symbol_missing_from_the_data_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "holdings.json"
    f.write_text('{"cash": "10", "spot": {"NOPEUSDT": "1"}}', encoding="utf-8")
    out = run("--holdings", str(f))
    assert out.returncode == 1
    assert "no price for held symbol(s) NOPEUSDT" in out.stderr


def test_human_output() -> None:
    out = run("--at", "2025-11-20T12:00:00Z")
    assert out.returncode == 0, out.stderr
    assert "rotor allocate 2025-11-20T12:00:00Z" in out.stdout
    assert "Buckets" in out.stdout and "Sectors" in out.stdout


def test_mid_window_on_the_bundled_wide_slice() -> None:
    # the bundled sample is a slice of the wide universe (12 sectors): most sectors score
    doc = doc_of("--at", "2026-03-01T00:00:00Z")
    check_shape(doc)
    assert doc["t"] == "2026-03-01T00:00:00Z"
    rot = [s for s in doc["sectors"] if s["bucket"] == "rotational"]
    assert len({s["sector"] for s in rot}) >= 8
    held = [s for s in rot if D(s["target"]) > 0]
    assert held and all(len(s["tokens"]) >= 2 for s in held)


def test_a_time_before_the_data_is_refused_clearly() -> None:
    out = run("--at", "2020-01-01T00:00:00Z")
    assert out.returncode == 1
    assert "sample_data: no bar has closed by 2020-01-01T00:00:00Z" in out.stderr
    out = run("--at", "2025-11-01T00:00:00")
    assert out.returncode == 2 and "has no timezone" in out.stderr


def test_the_roles_instruments_are_the_venues_with_exchange() -> None:
    """With ``--exchange`` the roles' perps are sized and checked on the venue's instruments
    (lot step, tiers), not the bundled data's; a symbol the venue does not list falls back to
    the simulator's defaults."""
    from dataclasses import replace

    from bot.commands.allocate_cmd import _instruments

    prices = {"BTCUSDT": D(60000), "NEWUSDT": D(1)}
    bundled = _instruments(None, {"BTCUSDT"}, prices, {})
    venue_btc = replace(bundled["BTCUSDT"], qty_step=D("0.01"), min_qty=D("0.01"))
    assert venue_btc.qty_step != bundled["BTCUSDT"].qty_step
    got = _instruments(None, {"BTCUSDT", "NEWUSDT"}, prices, {}, {"BTCUSDT": venue_btc})
    assert got["BTCUSDT"] == venue_btc
    assert got["NEWUSDT"].symbol == "NEWUSDT" and got["NEWUSDT"].qty_step > 0
