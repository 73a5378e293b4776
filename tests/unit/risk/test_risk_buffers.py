"""The liquidation buffer rules and the three ``on_unsafe_leverage`` policies (RISK.md)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import LeverageTier
from bot.domain.instrument import cumulative_deductions
from bot.risk.buffers import BufferRules, check_buffers, max_safe_leverage, tightened_stop
from bot.risk.codes import ReasonCode
from bot.risk.decision import Approved, Rejected
from bot.risk.liquidation import LiquidationModel
from bot.risk.manager import RiskManager
from bot.risk.params import RiskParams
from bot.risk.sizing import notional_for_risk

from .factory import LONG, SHORT, entry, flat, instrument, view

BINANCE = LiquidationModel("binance")


def mgr(venue: str = "binance", **kw: object) -> RiskManager:
    return RiskManager(RiskParams(**kw), venue)  # type: ignore[arg-type]


@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_short_9pct_stop_at_mmr_1pct_is_stop_behind_liq_under_reject(venue: str) -> None:
    """RISK.md: the stop at 109.0 sits behind liquidation (108.91 on Binance)."""
    v = view(instruments=[instrument(mmr="0.01")])
    r = mgr(venue, on_unsafe_leverage="reject", cost_allowance=D(0)).check(entry(SHORT, "0.09"), v)
    assert isinstance(r, Rejected)
    assert ReasonCode.STOP_BEHIND_LIQ in r.codes
    gap = next(x for x in r.reasons if x.code is ReasonCode.STOP_BEHIND_LIQ).numbers["gap"]
    assert isinstance(gap, D) and gap < 0  # literally behind, not merely too close
    # Only the gap rule fails once the 12% distance rule is off: the code stands on its own.
    r2 = mgr(
        venue, on_unsafe_leverage="reject", cost_allowance=D(0), min_liquidation_distance=D(0)
    ).check(entry(SHORT, "0.09"), v)
    assert isinstance(r2, Rejected) and r2.codes == (ReasonCode.STOP_BEHIND_LIQ,)


def test_same_short_under_the_default_policy_is_delevered_not_rejected() -> None:
    """Documented behaviour: reduce_leverage makes the 9% short safe at 7x (Binance integers)."""
    v = view(instruments=[instrument(mmr="0.01")])
    r = mgr(cost_allowance=D(0)).check(entry(SHORT, "0.09"), v)
    assert isinstance(r, Approved)
    assert r.leverage_used == D(7)
    assert r.liquidation_distance is not None and r.liquidation_distance >= D("0.12")


@pytest.mark.parametrize(("venue", "lo", "hi"), [("binance", "8", "8"), ("bybit", "7.9", "8.05")])
def test_10x_with_8pct_stop_delevers_to_about_8x_with_the_same_risk(
    venue: str, lo: str, hi: str
) -> None:
    v = view(instruments=[instrument(mmr="0.005")])
    lax = mgr(venue, min_liquidation_distance=D(0), stop_liquidation_gap=D(0)).check(
        entry(LONG, "0.08"), v
    )
    r = mgr(venue).check(entry(LONG, "0.08"), v)
    assert isinstance(r, Approved) and isinstance(lax, Approved)
    assert lax.leverage_used == D(10)
    assert D(lo) <= r.leverage_used <= D(hi)
    assert r.leverage_requested == D(10)
    assert (r.qty, r.risk_amount, r.notional) == (lax.qty, lax.risk_amount, lax.notional)
    assert r.margin > lax.margin
    assert r.liquidation_distance is not None and r.liquidation_distance >= D("0.12")
    assert any("reduce_leverage" in n for n in r.notes)


def test_closed_form_for_cum_zero_long() -> None:
    """RISK.md: L ≤ 1/(d·(1 − MMR) + MMR) for a Binance long with cum = 0."""
    for mmr in ("0.004", "0.005", "0.01", "0.02"):
        m = D(mmr)
        closed = 1 / (D("0.12") * (1 - m) + m)
        got = max_safe_leverage(
            BINANCE, LONG, D(100), D(25), flat(mmr), D("0.12"), D(125), D("0.01")
        )
        assert got is not None
        assert closed - D("0.01") < got <= closed


def _brute_force(model: LiquidationModel, side, tiers, required: D, cap: D, step: D) -> D | None:  # type: ignore[no-untyped-def]
    best = None
    k = D(1)
    while k <= cap:
        lp = model.price(side, D(100), D(40), k, tiers)
        if side.sign * (D(100) - lp) / D(100) >= required:
            best = k
        k += step
    return best


@pytest.mark.parametrize("side", [LONG, SHORT])
@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_solver_matches_brute_force_across_tiers(side, venue: str) -> None:  # type: ignore[no-untyped-def]
    # Tier floors around the position's notional (4,000) so the re-check at Q·LP matters.
    tiers = cumulative_deductions(
        [
            LeverageTier(D(0), D(3700), D("0.005"), D(50)),
            LeverageTier(D(3700), D(4300), D("0.02"), D(25)),
            LeverageTier(D(4300), D(10) ** 9, D("0.05"), D(10)),
        ]
    )
    model = LiquidationModel(venue, "unified", D("0.00055"))  # type: ignore[arg-type]
    for required in ("0.05", "0.08", "0.12", "0.3"):
        got = max_safe_leverage(model, side, D(100), D(40), tiers, D(required), D(25), D("0.25"))
        assert got == _brute_force(model, side, tiers, D(required), D(25), D("0.25"))


def test_tightened_stop_keeps_risk_and_respects_the_gap() -> None:
    rules = BufferRules(D(0), D("0.03"))
    d = tightened_stop(
        BINANCE, LONG, D(100), flat("0.005"), D(200), D(0), D("0.08"), rules, D(10), D(1)
    )
    assert d is not None and d < D("0.08")
    n = notional_for_risk(D(200), d, D(0))
    chk = check_buffers(
        BINANCE, LONG, D(100), n / 100, D(10), flat("0.005"), D(100) * (1 - d), rules
    )
    assert chk.gap_ok
    # (1/L − MMR)/(1 − MMR) − gap = 9.548% − 3% with no tiers to cross.
    assert abs(d - (D("0.095") / D("0.995") - D("0.03"))) < D("0.0001")


def test_tighten_stop_policy_through_the_manager() -> None:
    m = mgr(on_unsafe_leverage="tighten_stop", min_liquidation_distance=D(0), cost_allowance=D(0))
    r = m.check(entry(LONG, "0.08"), view())
    assert isinstance(r, Approved)
    assert r.leverage_used == D(10)
    assert r.stop_distance is not None and r.stop_distance < D("0.08")
    assert r.notional > D(2500)  # N grows ...
    assert D("199") < r.risk_amount <= D(200)  # ... so risk stays R
    assert r.liquidation_price is not None and r.stop_price is not None
    assert r.stop_price - r.liquidation_price >= D("0.03") * 100


def test_tighten_stop_cannot_fix_the_distance_rule() -> None:
    r = mgr(on_unsafe_leverage="tighten_stop").check(entry(LONG, "0.08"), view())
    assert isinstance(r, Rejected) and r.codes == (ReasonCode.LIQ_TOO_CLOSE,)


def test_reduce_leverage_rejects_when_even_1x_is_unsafe() -> None:
    r = mgr(min_liquidation_distance=D("0.999")).check(entry(SHORT, "0.05"), view())
    assert isinstance(r, Rejected) and ReasonCode.LIQ_TOO_CLOSE in r.codes
    assert r.figures.leverage_used == D(1)


def test_tier_max_leverage_caps_the_request() -> None:
    v = view(instruments=[instrument(tiers=flat("0.005", max_lev=5))])
    r = mgr(min_liquidation_distance=D(0), stop_liquidation_gap=D(0)).check(entry(stop="0.05"), v)
    assert isinstance(r, Approved) and r.leverage_used == D(5) and r.leverage_requested == D(10)


def test_max_stop_distance_for_the_strategy() -> None:
    inst = instrument(mmr="0.005")
    assert mgr().max_stop_distance(inst, LONG, D(100), D(10000)) == D("0.09")
    d = mgr(on_unsafe_leverage="tighten_stop", min_liquidation_distance=D(0)).max_stop_distance(
        inst, LONG, D(100), D(10000)
    )
    assert D("0.06") < d < D("0.07")  # 9.55% distance at 10x minus the 3% gap
    m = mgr(on_unsafe_leverage="reject", min_liquidation_distance=D(0), cost_allowance=D(0))
    d = m.max_stop_distance(inst, SHORT, D(100), D(10000))
    assert isinstance(
        m.check(entry(SHORT, str(d.quantize(D("0.0001")) - D("0.0001"))), view()), Approved
    )


def test_hedge_is_an_entry_capped_by_its_quantity() -> None:
    from bot.domain import OrderIntent

    hedge = OrderIntent("XUSDT", SHORT, "hedge", D(100), stop_distance=D("0.05"), qty=D("2.5"))
    r = mgr().check(hedge, view())
    assert isinstance(r, Approved) and r.qty == D("2.5") and not r.reduce_only
    assert r.risk_amount < r.risk_budget


def test_bybit_model_adds_the_fee_to_close() -> None:
    plain = LiquidationModel("bybit", "unified", D(0))
    fee = LiquidationModel("bybit", "unified", D("0.00055"))
    assert fee.fee_to_close(LONG, D(100), D(25), D(250)) == D("2250") * D("0.00055")
    assert fee.price(LONG, D(100), D(25), D(10), flat("0.005")) > plain.price(
        LONG, D(100), D(25), D(10), flat("0.005")
    )
    assert (
        LiquidationModel("binance", "unified", D("0.00055")).fee_to_close(
            LONG, D(100), D(25), D(250)
        )
        == 0
    )
