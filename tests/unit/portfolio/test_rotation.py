"""Sector states: the futures signals that move a sector's spot weight up or down."""

from __future__ import annotations

import pytest

from bot.portfolio.config import RotationConfig
from bot.portfolio.explain import Rule
from bot.portfolio.rotation import classify, latest_funding

from .factory import accumulating, sector, symbol

CFG = RotationConfig()


def test_accumulation_with_low_stable_funding_tilts_up() -> None:
    s = classify(accumulating("defi", score=1.2), 0.00005, CFG)
    assert s.state is Rule.SECTOR_ACCUMULATION
    assert s.tilt == pytest.approx(1.2 * CFG.accumulation_boost)
    assert s.explanation.inputs["oi_flow"] == 0.05
    assert "accumulation" in s.explanation.text and "× boost 1.5" in s.explanation.text


@pytest.mark.parametrize(
    ("row", "now", "why"),
    [
        (accumulating("defi", funding_heat=0.0003), 0.0003, "funding heat above healthy"),
        (accumulating("defi"), 0.0004, "latest funding far from the 7d mean: not stable"),
        (accumulating("defi", oi_missing=True), 0.00005, "open interest unknown"),
        (accumulating("defi", return_7d=-0.01), 0.00005, "price not rising"),
        (accumulating("defi"), None, "no latest funding known"),
    ],
)
def test_without_every_accumulation_sign_the_sector_is_neutral(
    row: object, now: float | None, why: str
) -> None:
    s = classify(row, now, CFG)  # type: ignore[arg-type]
    assert s.state is Rule.SECTOR_NEUTRAL, why
    assert s.tilt == pytest.approx(1.0)  # the score, no boost


def test_overheated_is_over_leveraged_and_gets_nothing() -> None:
    s = classify(accumulating("meme", score=3.0, overheated=True), 0.00005, CFG)
    assert s.state is Rule.SECTOR_OVERLEVERAGED
    assert s.tilt == 0.0
    assert not s.investable


def test_open_interest_falling_after_a_pump_is_fading() -> None:
    row = sector("ai", score=2.0, oi_flow=-0.1, oi_missing=False, return_30d=0.4)
    s = classify(row, 0.00005, CFG)
    assert s.state is Rule.SECTOR_FADING and s.tilt == 0.0
    assert "after a +40.00% 30d pump" in s.explanation.text


def test_open_interest_falling_without_a_pump_is_not_fading() -> None:
    row = sector("ai", score=2.0, oi_flow=-0.1, oi_missing=False, return_30d=-0.1)
    assert classify(row, 0.00005, CFG).state is Rule.SECTOR_NEUTRAL


def test_decelerating_underperformer_is_fading() -> None:
    row = sector("l2", score=0.3, accel=-0.05, rs_7d=-0.02)
    assert classify(row, None, CFG).state is Rule.SECTOR_FADING


def test_unscored_sector_is_never_investable() -> None:
    s = classify(sector("rwa", score=None, eligible_members=2), None, CFG)
    assert s.state is Rule.SECTOR_UNSCORED and s.tilt == 0.0
    assert "2 eligible members" in s.explanation.text


def test_negative_score_gives_no_tilt() -> None:
    s = classify(sector("gaming", score=-0.4), None, CFG)
    assert s.state is Rule.SECTOR_NEUTRAL and s.tilt == 0.0


def test_latest_funding_is_the_members_median() -> None:
    rows = [
        symbol("A", "defi", funding_8h=0.0001),
        symbol("B", "defi", funding_8h=0.0003),
        symbol("C", "defi", funding_8h=0.0002),
        symbol("D", "defi", funding_8h=None),
        symbol("E", None, funding_8h=0.5),
    ]
    assert latest_funding(rows) == {"defi": pytest.approx(0.0002)}
