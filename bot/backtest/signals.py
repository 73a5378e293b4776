"""The signal engine on its precompute path, behind the interface the pipeline calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.data.panel import Panel
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation, PositionView


class PrecomputedSignals(SignalEngine):
    """``evaluate(panel, j, ...)`` answered from the tables ``precompute(panel)`` built.

    Decisions equal the live path's (tested in ``tests/unit/signals``); records are kept only
    for symbols that can act (``records=False``). The last evaluation is reused when the same
    bar and positions are asked again within one cycle (the quiet-bar check, then the cycle).
    """

    _memo: tuple[int, tuple[PositionView, ...], Evaluation] | None = None
    # Every symbol's record, as the live path keeps: the portfolio mode reads them all (its
    # targets, leaders and prices come from the whole universe, not only what can act).
    records: bool = False

    def evaluate(
        self,
        panel: Panel,
        j: int | None = None,
        positions: Sequence[PositionView] = (),
        predicted_f8h: Mapping[str, float] | None = None,
    ) -> Evaluation:
        """The evaluation at the close of panel bar ``j`` from the precomputed tables."""
        jj = panel.n_bars - 1 if j is None else j
        key = tuple(positions)
        memo = self._memo
        if memo is not None and memo[0] == jj and memo[1] == key:
            return memo[2]
        # Held symbols whose exit the last ``next_intent_at`` ruled out at ``jj``: their rows
        # decide nothing without records (same evaluation, fewer rows).
        settled = frozenset() if self.records else self.exits_ruled_out(jj, key)
        ev = self.evaluate_at(jj, positions, predicted_f8h, records=self.records, settled=settled)
        self._memo = (jj, key, ev)
        return ev
