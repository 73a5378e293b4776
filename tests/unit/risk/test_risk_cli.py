"""``rotor risk explain`` and ``rotor risk check`` through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
ROTOR = ROOT / ".venv" / "bin" / "rotor"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    env["TZ"] = "America/New_York"
    return subprocess.run(
        [str(ROTOR), "risk", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def explain_json(*args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    p = run("explain", *args, "--json", cwd=cwd)
    assert p.stderr == "" or p.returncode != 2, p.stderr
    return p.returncode, json.loads(p.stdout)


BASE = ("--equity", "10000", "--entry", "100", "--leverage", "10", "--cost", "0")
KEYS = {
    "approved", "reasons", "qty", "notional", "margin", "risk_amount", "leverage_requested",
    "leverage_used", "liquidation_price", "liquidation_distance", "stop_price",
}  # fmt: skip


@pytest.mark.parametrize(
    ("venue", "side", "mmr", "lp"),
    [
        ("binance", "long", "0.005", 90.452),
        ("binance", "short", "0.01", 108.911),
        ("bybit", "long", "0.01", 91.0),
        ("bybit", "short", "0.005", 109.5),
    ],
)
def test_worked_example_json(tmp_path: Path, venue: str, side: str, mmr: str, lp: float) -> None:
    rc, out = explain_json(
        "--venue", venue, "--side", side, *BASE, "--stop-pct", "0.08", "--mmr", mmr,
        "--min-liq-distance", "0", "--stop-liq-gap", "0", "--account", "classic", cwd=tmp_path,
    )  # fmt: skip
    assert rc == 0
    assert out.keys() >= KEYS
    assert out["approved"] is True and out["reasons"] == []
    assert (out["qty"], out["notional"], out["margin"], out["risk_amount"]) == (25, 2500, 250, 200)
    assert out["leverage_requested"] == out["leverage_used"] == 10
    assert round(out["liquidation_price"], 3) == lp


def test_short_9pct_stop_rejected_with_stop_behind_liq(tmp_path: Path) -> None:
    rc, out = explain_json(
        "--venue", "binance", "--side", "short", *BASE, "--stop-pct", "0.09", "--mmr", "0.01",
        "--on-unsafe", "reject", cwd=tmp_path,
    )  # fmt: skip
    assert rc == 1
    assert out["approved"] is False and "STOP_BEHIND_LIQ" in out["reasons"]
    assert round(out["liquidation_price"], 3) == 108.911 and out["stop_price"] == 109.0


def test_default_policy_delevers_and_explains_on_a_terminal_like_stream(tmp_path: Path) -> None:
    args = ("--venue", "binance", "--side", "long", *BASE, "--stop-pct", "0.08", "--mmr", "0.005")
    rc, out = explain_json(*args, cwd=tmp_path)
    assert rc == 0 and out["leverage_used"] == 8 and out["risk_amount"] == 200
    text = run("explain", *args, cwd=tmp_path)
    assert text.returncode == 0
    assert "Reasoning" in text.stdout and "APPROVED" in text.stdout
    assert "reduce_leverage" in text.stdout and "10x → 8x" in text.stdout


def test_defaults_come_from_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "rotor.toml"
    cfg.write_text(
        'mode = "paper"\n[exchange]\nname = "binanceusdm"\n'
        "[risk]\nleverage = 5\nrisk_per_trade = 0.01\ndefault_mmr = 0.01\ncost_allowance = 0\n"
        "[strategy]\nstop_pct = 0.05\n[backtest]\nstarting_equity = 20000\n"
    )
    rc, out = explain_json("--side", "long", "--entry", "100", "--config", str(cfg), cwd=tmp_path)
    assert rc == 0
    assert out["venue"] == "binance" and out["mmr"] == 0.01
    assert out["leverage_requested"] == 5 and out["risk_amount"] == 200  # 1% of 20,000
    assert out["notional"] == 4000  # 200 / 5%


def test_bad_input_names_the_flag_or_key(tmp_path: Path) -> None:
    p = run("explain", "--side", "long", "--entry", "-1", cwd=tmp_path)
    assert p.returncode == 2 and "--entry" in p.stderr
    p = run("explain", "--side", "long", "--entry", "100", "--risk-pct", "0.5", cwd=tmp_path)
    assert p.returncode == 2 and "risk.risk_per_trade" in p.stderr
    p = run("explain", "--side", "long", "--entry", "100", "--stop-pct", "8", cwd=tmp_path)
    assert p.returncode == 2 and "--stop-pct" in p.stderr


def test_risk_check(tmp_path: Path) -> None:
    ok = run("check", cwd=tmp_path)
    assert ok.returncode == 0 and "risk settings OK" in ok.stdout
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[risk]\non_unsafe_leverage = "reject"\n')
    bad = run("check", "--config", str(cfg), cwd=tmp_path)
    assert bad.returncode == 2 and "risk.on_unsafe_leverage: 'reject'" in bad.stderr
