"""The order state table (ARCHITECTURE.md pattern 1) under random event sequences."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import IllegalTransition, Order, OrderStatus, OrderType, Side
from bot.domain.orders import TERMINAL_STATUSES, TRANSITIONS, is_legal

ALL = list(OrderStatus)


def new_order() -> Order:
    return Order("rtr-1-1", "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01"))


@given(st.lists(st.sampled_from(ALL), max_size=30))
@settings(max_examples=500)
def test_random_sequences_follow_the_table(events: list[OrderStatus]) -> None:
    order = new_order()
    for i, target in enumerate(events):
        before = order.status
        if is_legal(before, target):
            changed = order.transition(target, ts_ms=i)
            assert order.status == target
            assert changed == (before != target)
        else:
            with pytest.raises(IllegalTransition) as info:
                order.transition(target, ts_ms=i)
            assert order.status == before, "a refused transition must not change the order"
            assert info.value.old == before and info.value.new == target
            assert order.client_order_id in str(info.value)


@given(st.lists(st.sampled_from(ALL), max_size=30))
def test_history_records_only_real_changes(events: list[OrderStatus]) -> None:
    order = new_order()
    expected: list[OrderStatus] = []
    for i, target in enumerate(events):
        if is_legal(order.status, target):
            if target != order.status:
                expected.append(target)
            order.transition(target, ts_ms=i)
    assert [s for _, s in order.history] == expected


def test_terminal_states_only_allow_the_cancel_fill_race() -> None:
    for status in TERMINAL_STATUSES:
        allowed = TRANSITIONS[status]
        if status is OrderStatus.CANCELED:
            assert allowed == {OrderStatus.FILLED}
        else:
            assert allowed == frozenset()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (OrderStatus.FILLED, OrderStatus.CANCELED),
        (OrderStatus.REJECTED, OrderStatus.ACCEPTED),
        (OrderStatus.NEW, OrderStatus.FILLED),
        (OrderStatus.ACCEPTED, OrderStatus.NEW),
        (OrderStatus.UNKNOWN, OrderStatus.SUBMITTED),
    ],
)
def test_specific_illegal_transitions(old: OrderStatus, new: OrderStatus) -> None:
    order = new_order()
    order.status = old
    with pytest.raises(IllegalTransition):
        order.transition(new, 1)


def test_unknown_resolves_either_way() -> None:
    for outcome in (OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.ACCEPTED):
        order = new_order()
        order.transition(OrderStatus.SUBMITTED, 1)
        order.transition(OrderStatus.UNKNOWN, 2)
        order.transition(outcome, 3)
        assert order.status == outcome
