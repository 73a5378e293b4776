"""Hypothesis: the money maths of targets and rebalancing.

Targets: weights sum to the sleeves exactly, bucket and sector bounds hold, a held sector is
never one token. Rebalancing: cash never goes negative, fees are accounted to the last digit,
no order inside the drift band, every order at least the minimum trade, a sell never takes
more than ``1 − residual`` of a holding, and no trade overshoots its target.
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.domain import Side
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Rule
from bot.portfolio.holdings import Holdings, value
from bot.portfolio.rebalance import SpotMarket, SpotPlanner
from bot.portfolio.targets import (
    BUCKETS,
    CASH,
    CORE,
    ROTATIONAL,
    SPECULATIVE,
    Targets,
    TokenTarget,
    compute_targets,
)
from bot.signals.evaluation import RegimeRow

from .factory import core_rows, evaluation, members, sector, stats

SECTORS = ("defi", "l2", "ai", "meme", "gaming")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frac(lo: int, hi: int) -> st.SearchStrategy[D]:
    """A fraction in [lo, hi] hundredths."""
    return st.integers(lo, hi).map(lambda x: D(x) / 100)


@st.composite
def bucket_bounds(draw: st.DrawFn) -> dict[str, D]:
    core_min = draw(frac(20, 60))
    core_max = draw(frac(int(core_min * 100), 80))
    rot_min = draw(frac(0, 20))
    rot_max = draw(frac(int(rot_min * 100), max(int(rot_min * 100), int((1 - core_min) * 100) - 5)))
    room = 1 - core_min - rot_max
    spec_max = draw(frac(0, int(room * 100)))
    spec_min = draw(frac(0, int(spec_max * 100)))
    return {
        "core_min": core_min, "core_max": core_max, "rotational_min": rot_min,
        "rotational_max": rot_max, "speculative_min": spec_min, "speculative_max": spec_max,
    }  # fmt: skip


@st.composite
def scenario(draw: st.DrawFn) -> tuple[PortfolioConfig, object, object]:
    cfg = PortfolioConfig.model_validate(
        {
            "spot_share": draw(frac(50, 100)),
            "buckets": draw(bucket_bounds()),
            "rotation": {
                "max_sectors": draw(st.integers(1, 4)),
                "tokens_per_sector": draw(st.integers(2, 4)),
                "max_sector_share": draw(frac(20, 100)),
            },
            "speculative": {"tokens": draw(st.integers(2, 5))},
        }
    )
    rows = list(core_rows())
    sectors = []
    for name in SECTORS:
        n = draw(st.integers(0, 5))
        rows += members(name, n)
        score = draw(st.one_of(st.none(), st.floats(-3, 4, allow_nan=False)))
        sectors.append(
            sector(
                name,
                score=score,
                eligible_members=n,
                overheated=draw(st.booleans()),
                oi_flow=draw(st.floats(-0.2, 0.2)),
                oi_missing=draw(st.booleans()),
                return_7d=draw(st.floats(-0.2, 0.2)),
                rs_7d=draw(st.floats(-0.2, 0.2)),
            )
        )
    mom = {r.symbol: draw(st.floats(-1, 1)) for r in rows}
    ev = evaluation(sectors, rows, risk_on=draw(st.booleans()), breadth=draw(st.floats(0, 1)))
    return cfg, ev, stats(rows, momentum=mom)


@FAST
@given(scenario())
def test_targets_sum_to_the_sleeves_and_keep_their_bounds(s: tuple) -> None:
    cfg, ev, ms = s
    t = compute_targets(cfg, ev, ms)
    b = cfg.buckets
    tokens = sum((x.weight for x in t.tokens.values()), D(0))
    assert all(x.weight >= 0 for x in t.tokens.values())
    assert t.cash_weight >= 0
    assert tokens + t.cash_weight == cfg.spot_share
    assert tokens + t.cash_weight + t.futures_weight == 1
    shares = {n: t.buckets[n].share for n in (*BUCKETS, CASH)}
    assert sum(shares.values(), D(0)) == 1
    assert b.core_min <= shares[CORE] <= b.core_max
    assert b.rotational_min <= shares[ROTATIONAL] <= b.rotational_max
    assert b.speculative_min <= shares[SPECULATIVE] <= b.speculative_max
    assert shares[CASH] >= 0
    for name in BUCKETS:
        bt = t.buckets[name]
        held = sum((x.weight for x in t.tokens.values() if x.bucket == name), D(0))
        assert held == bt.invested <= bt.weight
    rot_w = t.buckets[ROTATIONAL].weight
    held_sectors = [x for x in t.sectors if x.bucket == ROTATIONAL and x.weight > 0]
    assert len(held_sectors) <= cfg.rotation.max_sectors
    for x in held_sectors:
        assert x.weight <= cfg.rotation.max_sector_share * rot_w
        assert len(x.tokens) >= 2  # never one token
        assert x.signal is not None and x.signal.investable
    spec = [x for x in t.tokens.values() if x.bucket == SPECULATIVE]
    assert len(spec) == 0 or len(spec) >= 2
    assert not {x.sector for x in spec} & set(t.favoured)  # one sector, one bucket


# --------------------------------------------------------------------------- rebalancing

SYMS = ("AUSDT", "BUSDT", "CUSDT", "DUSDT")
STEPS = (D("0.001"), D("0.1"), D("1"), D("0.00001"))


@st.composite
def book(draw: st.DrawFn) -> tuple:
    cfg = PortfolioConfig.model_validate(
        {
            "spot_share": draw(frac(50, 100)),
            "rebalance": {
                "drift_abs": draw(frac(0, 5)),
                "drift_rel": draw(frac(0, 50)),
                "min_trade": draw(st.integers(0, 200)),
                "spot_fee": D(draw(st.integers(0, 30))) / 10_000,
                "residual": draw(frac(0, 50)),
            },
        }
    )
    prices = {s: D(draw(st.integers(1, 10**7))) / 1000 for s in SYMS}
    held = {s: D(draw(st.integers(0, 10**6))) / 100 for s in SYMS if draw(st.booleans())}
    weights = [D(draw(st.integers(0, 100))) for _ in SYMS]
    total = sum(weights, D(0)) or D(1)
    sleeve = cfg.spot_share
    tokens = {
        s: TokenTarget(s, ROTATIONAL, "x", (sleeve * w / total).quantize(D("1e-12"), "ROUND_DOWN"),
                       Explanation(Rule.TARGET_ROTATIONAL, ""))
        for s, w in zip(SYMS, weights, strict=True) if w > 0
    }  # fmt: skip
    holdings = Holdings(
        cash=D(draw(st.integers(0, 10**7))) / 100,
        spot=held,
        futures_collateral=D(draw(st.integers(0, 10**6))) / 100,
    )
    markets = {
        s: SpotMarket(s, step, step, D(draw(st.integers(0, 10)))) for s, step in zip(SYMS, STEPS, strict=True)
    }  # fmt: skip
    return cfg, tokens, holdings, prices, markets


def _targets(cfg: PortfolioConfig, tokens: dict) -> Targets:
    spot = cfg.spot_share
    return Targets(
        t=0, spot_share=spot, futures_weight=1 - spot,
        cash_weight=spot - sum((x.weight for x in tokens.values()), D(0)),
        buckets={}, sectors=[], tokens=tokens, signals={}, favoured=(),
        regime=RegimeRow(False, None, None),
    )  # fmt: skip


def _plan(b: tuple) -> tuple:
    """The plan of a drawn book (an empty portfolio has nothing to plan)."""
    cfg, tokens, holdings, prices, markets = b
    val = value(holdings, prices)
    assume(val.nav > 0)
    plan = SpotPlanner(_targets(cfg, tokens), holdings, val, prices, markets, cfg, {}).run()
    return cfg, holdings, prices, markets, val, plan


@FAST
@given(book())
def test_rebalance_money_maths(b: tuple) -> None:
    cfg, holdings, _, markets, val, plan = _plan(b)
    rc = cfg.rebalance
    fee = rc.spot_fee
    sells = [o for o in plan.orders if o.side is Side.SELL]
    buys = [o for o in plan.orders if o.side is Side.BUY]
    assert plan.orders == sells + buys  # sells first: their proceeds fund the buys
    # fees accounted to the last digit, and cash never negative
    expected = (
        holdings.cash
        + sum((o.qty * o.price * (1 - fee) for o in sells), D(0))
        - sum((o.qty * o.price * (1 + fee) for o in buys), D(0))
        - plan.transfer
    )
    assert plan.cash_after == expected
    assert plan.cash_after >= 0
    assert plan.fees == sum((o.qty * o.price * fee for o in plan.orders), D(0))
    for ln in plan.lines:
        drift = abs(ln.weight - ln.target)
        if ln.order is None:
            continue
        o = ln.order
        m = markets[o.symbol]
        assert drift > ln.band  # no order inside the band
        assert ln.band >= max(rc.drift_abs, rc.drift_rel * ln.target)
        assert o.qty > 0 and o.qty % m.qty_step == 0 and o.qty >= m.min_qty
        assert o.notional >= max(rc.min_trade, m.min_notional)  # min trade size
        tgt_value = ln.target * plan.nav
        if o.side is Side.SELL:
            assert o.qty <= ln.qty * (1 - rc.residual)  # residual kept
            assert ln.value - o.notional >= tgt_value  # no overshoot
            assert ln.weight > ln.target
        else:
            assert ln.value + o.notional <= tgt_value
            assert ln.weight < ln.target
    for ln in plan.lines:
        if ln.order is None and ln.explanation.rule is Rule.HOLD_IN_BAND:
            assert abs(ln.weight - ln.target) <= ln.band
    # the futures collateral moves toward its target without overshooting it
    fut_target = (1 - cfg.spot_share) * plan.nav
    if plan.transfer > 0:
        assert val.futures_value + plan.transfer <= fut_target
    elif plan.transfer < 0:
        assert val.futures_value + plan.transfer >= fut_target


@FAST
@given(book())
def test_filling_the_plan_costs_exactly_its_fees(b: tuple) -> None:
    """Filled at their prices, the plan's orders and transfer move value around; only the
    fees leave the portfolio."""
    _, holdings, prices, _, val, plan = _plan(b)
    spot = dict(holdings.spot)
    for o in plan.orders:
        spot[o.symbol] = spot.get(o.symbol, D(0)) + o.side.sign * o.qty
    after = Holdings(
        cash=plan.cash_after,
        spot=spot,
        futures_collateral=holdings.futures_collateral + plan.transfer,
    )
    val2 = value(after, prices)
    assert val2.nav <= val.nav  # only fees left the portfolio
    assert val.nav - val2.nav == plan.fees
