"""Scores → target weights: buckets, favoured sectors, leaders, and why each number is what
it is."""

from __future__ import annotations

from decimal import Decimal as D

from bot.portfolio.explain import Rule
from bot.portfolio.targets import (
    CASH,
    CORE,
    ROTATIONAL,
    SPECULATIVE,
    capped_shares,
    compute_targets,
)

from .factory import accumulating, config, core_rows, evaluation, members, sector, stats, symbol


def _universe() -> tuple[list, list]:
    sectors = [
        accumulating("defi", score=1.0),  # tilt 1.5
        sector("l2", score=0.5),  # tilt 0.5
        sector("meme", score=2.5, overheated=True),  # over-leveraged: nothing
        sector("ai", score=None, eligible_members=1),
    ]
    rows = [
        *core_rows(),
        *members("defi", 5),
        *members("l2", 4),
        *members("meme", 4),
        symbol("AI0USDT", "ai"),
        symbol("AI1USDT", "ai"),
    ]
    return sectors, rows


def test_bucket_shares_follow_conviction_and_breadth() -> None:
    sectors, rows = _universe()
    t = compute_targets(config(), evaluation(sectors, rows, risk_on=True, breadth=0.5), stats(rows))
    b = t.buckets
    # best tilt 1.5 of full_score 2 → rotational 0.20 + 0.10 × 0.75
    assert b[ROTATIONAL].share == D("0.275")
    # risk-on, breadth 0.5 → speculative 0.10 + 0.10 × 0.5
    assert b[SPECULATIVE].share == D("0.15")
    # 1 − 0.275 − 0.15 = 0.575 inside [0.50, 0.60]
    assert b[CORE].share == D("0.575") and b[CASH].share == 0
    assert b[CORE].weight == D("0.8") * D("0.575")


def test_risk_off_without_favoured_sectors_parks_the_spare_in_cash() -> None:
    rows = [*core_rows(), *members("defi", 5)]
    ev = evaluation([sector("defi", score=-1.0)], rows, risk_on=False)
    t = compute_targets(config(), ev, stats(rows))
    assert t.favoured == ()
    assert t.buckets[ROTATIONAL].share == D("0.20")
    assert t.buckets[SPECULATIVE].share == D("0.10")
    # core is capped at 60 %, so 10 % of the sleeve is explicit cash
    assert t.buckets[CORE].share == D("0.60") and t.buckets[CASH].share == D("0.10")
    assert t.buckets[ROTATIONAL].invested == 0
    assert "waits in cash" in t.buckets[ROTATIONAL].explanation.text


def test_favoured_sectors_split_the_rotational_bucket_by_tilt_with_a_cap() -> None:
    sectors, rows = _universe()
    t = compute_targets(config(), evaluation(sectors, rows, risk_on=True), stats(rows))
    assert t.favoured == ("defi", "l2")
    rot = {s.sector: s for s in t.sectors if s.bucket == ROTATIONAL}
    bw = t.buckets[ROTATIONAL].weight
    # tilts 1.5 and 0.5 → 75 % / 25 %, but one sector is capped at 60 %: 60 / 40
    assert rot["defi"].explanation.numbers["share_of_bucket"] == D("0.60")
    assert rot["l2"].explanation.numbers["share_of_bucket"] == D("0.4")
    assert abs(rot["defi"].weight - bw * D("0.6")) < D("1e-11")
    assert rot["meme"].weight == 0 and rot["meme"].explanation.rule is Rule.SECTOR_NOT_FAVOURED
    assert "over-leveraged" in rot["meme"].explanation.text


def test_a_sector_is_never_held_as_one_token() -> None:
    rows = [*core_rows(), *members("defi", 5), symbol("L20USDT", "l2")]
    rows += [symbol("L21USDT", "l2", eligible=False)]
    ev = evaluation([accumulating("l2", score=3.0), sector("defi", score=0.5)], rows)
    t = compute_targets(config(), ev, stats(rows))
    assert t.favoured == ("defi",)
    l2 = next(s for s in t.sectors if s.sector == "l2" and s.bucket == ROTATIONAL)
    assert l2.explanation.rule is Rule.SECTOR_THIN and l2.weight == 0
    assert all(len(s.tokens) >= 2 for s in t.sectors if s.bucket == ROTATIONAL and s.weight > 0)


def test_leaders_are_the_strongest_of_the_most_traded_members() -> None:
    rows = [*core_rows(), *members("defi", 6)]
    mom = {"DEF0USDT": 0.9, "DEF1USDT": 0.3, "DEF2USDT": 0.2, "DEF3USDT": -0.1, "DEF4USDT": 0.5}
    vol = {"DEF0USDT": 10.0}  # a thin pump: not among the 5 most traded of 6
    ev = evaluation([accumulating("defi")], rows)
    t = compute_targets(
        config(rotation={"liquid_pool": 5}), ev, stats(rows, momentum=mom, volume=vol)
    )
    row = next(s for s in t.sectors if s.sector == "defi" and s.bucket == ROTATIONAL)
    assert row.tokens == ("DEF4USDT", "DEF1USDT", "DEF2USDT")


def test_core_anchors_are_held_whatever_the_trend() -> None:
    rows = [*core_rows(), *members("l1", 5)]
    ev = evaluation([sector("l1", score=-3.0, accel=-0.1, rs_7d=-0.1)], rows)
    t = compute_targets(config(), ev, stats(rows))
    assert t.signals["l1"].state is Rule.SECTOR_FADING
    core = t.buckets[CORE].weight
    assert t.weight("BTCUSDT") == core * D("0.5")
    assert t.weight("ETHUSDT") == core * D("0.3")
    assert t.weight("SOLUSDT") == core * D("0.2")
    assert "core anchor" in t.tokens["ETHUSDT"].explanation.text


def test_speculative_takes_the_strongest_narrative_tokens_of_other_sectors() -> None:
    rows = [*core_rows(), *members("meme", 4), *members("ai", 2), *members("gam", 3)]
    rows += members("rwa", 2)
    mom = {"AI0USDT": 0.45, "AI1USDT": -0.2, "GAM0USDT": 0.3, "GAM1USDT": 0.1, "RWA0USDT": 0.2}
    ev = evaluation(
        [
            accumulating("meme", score=2.0),
            sector("ai", score=None),  # unscored sectors are fine for speculation
            sector("gam", score=-0.5),
            sector("rwa", score=1.0, overheated=True),  # over-leveraged: skipped
        ],
        rows,
        risk_on=True,
    )
    cfg = config(speculative={"sectors": ["ai", "meme", "gam", "rwa"]})
    t = compute_targets(cfg, ev, stats(rows, momentum=mom))
    spec = [s for s, x in t.tokens.items() if x.bucket == SPECULATIVE]
    # meme is the rotational bucket's: one sector is never in two buckets
    assert sorted(spec) == ["AI0USDT", "GAM0USDT", "GAM1USDT"]
    why = t.buckets[SPECULATIVE].explanation.text
    assert "meme skipped (held by the rotational bucket)" in why
    assert "rwa skipped (sector.overleveraged)" in why


def test_weights_sum_to_the_sleeves_exactly() -> None:
    sectors, rows = _universe()
    t = compute_targets(config(), evaluation(sectors, rows, risk_on=True), stats(rows))
    tokens = sum((x.weight for x in t.tokens.values()), D(0))
    assert tokens + t.cash_weight == D("0.80")
    assert tokens + t.cash_weight + t.futures_weight == 1


def test_why_is_this_much_in_defi() -> None:
    sectors, rows = _universe()
    t = compute_targets(config(), evaluation(sectors, rows, risk_on=True), stats(rows))
    defi = next(s for s in t.sectors if s.sector == "defi" and s.bucket == ROTATIONAL)
    why = defi.explanation
    assert why.rule is Rule.SECTOR_FAVOURED
    assert "tilt 1.50 of 2.00" in why.text and "capped" in why.text
    assert why.inputs["oi_flow"] == 0.05 and why.inputs["funding_heat"] == 0.00005
    assert why.numbers["weight"] == defi.weight


def test_capped_shares() -> None:
    assert capped_shares([3.0, 1.0], D("0.6")) == [D("0.6"), D("0.4")]
    assert capped_shares([1.0], D("0.6")) == [D("0.6")]  # the rest stays unallocated
    assert capped_shares([1.0, 1.0, 2.0], D("1")) == [D("0.25"), D("0.25"), D("0.5")]
    assert capped_shares([], D("0.5")) == []


def test_numpy_scalars_from_the_signal_engine_are_accepted() -> None:
    import numpy as np

    sectors, rows = _universe()
    ev = evaluation(sectors, rows, risk_on=True, breadth=np.float64(0.25))  # type: ignore[arg-type]
    t = compute_targets(config(), ev, stats(rows))
    assert t.buckets[SPECULATIVE].share == D("0.125")
    assert capped_shares([np.float64(1.0), np.float64(3.0)], D(1)) == [D("0.25"), D("0.75")]
