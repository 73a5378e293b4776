"""The [portfolio] section and strategy.mode: defaults, and errors that name the key."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROTOR = Path(sys.executable).parent / "rotor"


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    f = tmp_path / "rotor.toml"
    f.write_text(text, encoding="utf-8")
    return load_settings(f, environ=environ or {})


def _errors(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return "\n".join(info.value.errors)


def test_defaults_are_the_issue_model() -> None:
    s = load_settings(environ={})
    assert s.strategy.mode == "perp"  # today's behaviour
    pf = s.portfolio
    assert pf.spot_share == D("0.80")
    b = pf.buckets
    assert (b.core_min, b.core_max) == (D("0.50"), D("0.60"))
    assert (b.rotational_min, b.rotational_max) == (D("0.20"), D("0.30"))
    assert (b.speculative_min, b.speculative_max) == (D("0.10"), D("0.20"))
    assert sum(pf.core.assets.values()) == 1 and "BTCUSDT" in pf.core.assets
    assert pf.rebalance.residual == D("0.10")
    assert pf.hedge.ratio == D("0.10") and pf.hedge.leverage == 1
    assert pf.amplify.leverage <= 3 and pf.transition.tokens in (2, 3)
    assert pf.rotation.tokens_per_sector >= 2
    assert pf.kill_spot == "keep_core"


def test_portfolio_mode_loads(tmp_path: Path) -> None:
    s = _load(tmp_path, '[strategy]\nmode = "portfolio"\n')
    assert s.strategy.mode == "portfolio"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[portfolio.buckets]\ncore_min = 0.7\n", "portfolio.buckets: core_min 0.7 is above core_max"),
        (
            "[portfolio.buckets]\nrotational_max = 0.4\n",
            "portfolio.buckets: core_min 0.50 + rotational_max 0.4 + speculative_max 0.20 = 1.10",
        ),
        ("[portfolio.core]\nassets = {BTCUSDT = 0.5, ETHUSDT = 0.4}\n", "portfolio.core.assets: the shares sum to 0.9"),
        ("[portfolio.core]\nassets = {BTC = 1.0}\n", "portfolio.core.assets: 'BTC' is not a USDT symbol"),
        ("[portfolio.rotation]\ntokens_per_sector = 1\n", "portfolio.rotation.tokens_per_sector"),
        ("[portfolio.amplify]\nleverage = 6\n", "portfolio.amplify.leverage"),
        ("[portfolio.hedge]\nfunding_off_8h = 0.001\n", "portfolio.hedge: funding_off_8h 0.001 is above"),
        ("[portfolio.rebalance]\nresidual = 0.9\n", "portfolio.rebalance.residual"),
        ("[portfolio]\nspot_sahre = 0.7\n", "portfolio.spot_sahre: unknown key"),
        ('[strategy]\nmode = "spot"\n', "strategy.mode"),
    ],
)  # fmt: skip
def test_bad_values_name_the_key(tmp_path: Path, toml: str, expected: str) -> None:
    assert expected in _errors(tmp_path, toml)


def test_role_stops_must_fit_the_risk_stop_limit_in_portfolio_mode(tmp_path: Path) -> None:
    text = "[risk]\nstop_max_pct = 0.055\n"
    _load(tmp_path, text)  # perp mode: the portfolio keys are unused, no error
    errors = _errors(tmp_path, text + '[strategy]\nmode = "portfolio"\n')
    assert "portfolio.hedge.stop: 0.08 is wider than risk.stop_max_pct 0.055" in errors
    assert "portfolio.transition.stop: 0.06" in errors
    assert "portfolio.amplify.stop" not in errors  # 0.05 fits


def test_core_assets_from_the_environment(tmp_path: Path) -> None:
    s = _load(
        tmp_path,
        "",
        {
            "ROTOR__PORTFOLIO__CORE__ASSETS__BTCUSDT": "0.7",
            "ROTOR__PORTFOLIO__CORE__ASSETS__ETHUSDT": "0.3",
        },
    )
    assert s.portfolio.core.assets == {"BTCUSDT": D("0.7"), "ETHUSDT": D("0.3")}


def test_the_daemon_refuses_what_it_cannot_run_in_portfolio_mode(tmp_path: Path) -> None:
    """Every mode runs the portfolio on Bybit's unified account and on Binance's two wallets
    (tests/integration/daemon/test_portfolio_replay_paper.py, test_portfolio_daemon.py).
    Bybit classic accounts are refused (exit 2) naming them, before any work."""
    f = tmp_path / "rotor.toml"
    f.write_text('[strategy]\nmode = "portfolio"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    cases = [
        ("replay", {"ROTOR__RISK__ACCOUNT_TYPE": "classic"}, "bybit (classic account)"),
        ("paper", {"ROTOR__RISK__ACCOUNT_TYPE": "classic"}, "bybit (classic account)"),
    ]
    for mode, extra, named in cases:
        out = subprocess.run(
            [str(ROTOR), "run", "--config", str(f), "--mode", mode],
            capture_output=True,
            text=True,
            timeout=60,
            env=env | extra,
        )
        assert out.returncode == 2, out.stderr
        assert f"exchange {named} is not supported by `rotor run`" in out.stderr


def test_the_portfolio_venues_by_exchange() -> None:
    from bot.venues.ccxt_binance_spot import BinanceSpotVenue
    from bot.venues.ccxt_client import ClientSpec
    from bot.venues.ccxt_spot import SpotCcxtVenue

    with pytest.raises(ValueError, match="exchange bybit is not binanceusdm"):
        BinanceSpotVenue(ClientSpec.public("bybit"))
    binance = BinanceSpotVenue(ClientSpec.public("binanceusdm"))
    assert (binance.ex.id, binance.spot_ex.id) == ("binanceusdm", "binance")
    assert binance.spot_ex.options["fetchMarkets"]["types"] == ["spot"]

    with pytest.raises(ValueError, match="exchange binanceusdm is not supported"):
        SpotCcxtVenue(ClientSpec.public("binanceusdm"))
    venue = SpotCcxtVenue(ClientSpec.public("bybit"))
    assert venue.ex.options["fetchMarkets"]["types"] == ["linear", "spot"]
