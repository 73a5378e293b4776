"""Decision records: one per target, order and non-order, each with its rule, inputs and
numbers, as plain data ready for the journal."""

from __future__ import annotations

import json
from decimal import Decimal as D

from bot.portfolio.allocate import allocate
from bot.portfolio.explain import Rule
from bot.portfolio.holdings import Holdings

from .factory import T0, accumulating, config, core_rows, evaluation, members, sector, stats


def test_every_decision_has_a_record_that_serialises() -> None:
    rows = [*core_rows(), *members("defi", 4), *members("l2", 4), *members("meme", 3)]
    ev = evaluation(
        [accumulating("defi", score=1.5), sector("l2", score=-0.4), sector("meme", score=0.4)],
        rows,
        risk_on=True,
    )
    held = Holdings(cash=D(5000), spot={"L20USDT": D(100), "BTCUSDT": D("0.01")})
    alloc = allocate(config(), ev, stats(rows), held)
    recs = alloc.records()
    kinds = {r.kind for r in recs}
    assert {"bucket", "sector", "target", "spot", "transfer", "perp"} <= kinds
    assert {r.subject for r in recs if r.kind == "bucket"} == {
        "core", "rotational", "speculative", "cash",
    }  # fmt: skip
    # one decision per token: a trade or why not
    assert {r.subject for r in recs if r.kind == "spot"} == {ln.symbol for ln in alloc.spot.lines}
    assert {r.subject for r in recs if r.kind == "target"} == set(alloc.targets.tokens)
    rows_json = [r.to_json() for r in recs]
    json.dumps(rows_json)  # plain data only
    for row in rows_json:
        assert row["t"] == T0 and row["rule"] in {x.value for x in Rule} and row["text"]
    defi = next(r for r in rows_json if r["subject"] == "rotational:defi")
    assert defi["rule"] == "sector.favoured"
    assert defi["inputs"]["oi_flow"] == 0.05 and defi["inputs"]["score"] == 1.5
    assert D(defi["numbers"]["weight"]) == next(
        s.weight for s in alloc.targets.sectors if s.sector == "defi" and s.bucket == "rotational"
    )
    l2 = next(r for r in rows_json if r["kind"] == "spot" and r["subject"] == "L20USDT")
    assert l2["rule"] == "trade.residual"  # a lagging holding: 90 % sold, 10 % kept
