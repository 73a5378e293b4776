"""``tier_for`` sorts a tier tuple by floor once and reuses the order; the answer is the one
of sorting on every lookup, for tuples and for lists that change between lookups."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import LeverageTier
from bot.risk import liquidation
from bot.risk.liquidation import tier_for


def _reference(tiers: list[LeverageTier], notional: D) -> LeverageTier:
    ordered = sorted(tiers, key=lambda t: t.floor)
    for t in ordered:
        if notional <= t.cap:
            return t
    return ordered[-1]


def _tiers(caps: list[int]) -> list[LeverageTier]:
    bounds = sorted(set(caps))
    out, floor = [], D(0)
    for n, cap in enumerate(bounds):
        out.append(LeverageTier(floor, D(cap), D("0.004") * (n + 1), D(125 - n)))
        floor = D(cap)
    return out


@given(
    st.lists(st.integers(1, 10**7), min_size=1, max_size=8),
    st.randoms(use_true_random=False),
    st.lists(st.integers(0, 2 * 10**7), min_size=1, max_size=6),
)
def test_cached_order_gives_the_sorted_answer(caps: list[int], rnd, notionals: list[int]) -> None:  # type: ignore[no-untyped-def]
    tiers = _tiers(caps)
    shuffled = list(tiers)
    rnd.shuffle(shuffled)
    as_tuple = tuple(shuffled)
    for n in notionals:
        assert tier_for(as_tuple, D(n)) == _reference(shuffled, D(n))
        assert tier_for(shuffled, D(n)) == _reference(shuffled, D(n))
    # A list edited in place is sorted again: never a stale order.
    shuffled.reverse()
    shuffled.pop()
    if shuffled:
        for n in notionals:
            assert tier_for(shuffled, D(n)) == _reference(shuffled, D(n))


def test_a_tuple_is_sorted_once() -> None:
    tiers = tuple(reversed(_tiers([10, 100, 1000])))
    first = liquidation._by_floor(tiers)
    assert liquidation._by_floor(tiers) is first
    assert [t.floor for t in first] == [D(0), D(10), D(100)]
    assert tier_for(tiers, D(50)).cap == D(100)
