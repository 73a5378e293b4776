"""The history a preset's decisions read before its first one (issue #19, item 2).

``SignalEngine.window_hours`` is the *live* window: a year of funding-heat history and
``warmup_bars >= 200`` entry-timeframe bars, so that a rolling window's Wilder smoothing has
converged. A replay or backtest that starts without ``--from`` computes every indicator from
the first bar of its data instead, so its first decision needs only the history the enabled
rules read:

- no sector layer read: TA-Lib's lookback of every entry-timeframe value the rules read
  (:func:`indicator_bars`), in hours, with room for a partial first bar;
- some layer read (:func:`reads_layers`): the live window, as before (the start is then capped
  at ``MAX_REPLAY_WARMUP_H``, ``bot.runtime.build.replay_start``), so those presets start
  where they always did.
"""

from __future__ import annotations

from bot.signals.params import StrategySpec


def reads_layers(spec: StrategySpec, portfolio: bool = False) -> bool:
    """Whether a decision of ``spec`` reads a 1h layer (regime, sectors, laggard gap, funding
    heat, open interest) or the portfolio mode's sector rows. Where the code reads a layer
    only in some combinations, the switch counts whenever it is on (the larger warm-up)."""
    p = spec.params
    return (
        portfolio  # targets, roles and selection read sector rows and 1h history
        or p.entry_mode != "rsi"  # laggard: gap/zgap, eligibility; momentum: top zgap
        or p.require_leader  # leader flag (decide reads it outside the rsi mode)
        or p.rotation_exit  # leader at the last rotation_out_evals closes
        or p.risk_off_action != "ignore"  # the regime's alt/BTC slope
        or p.funding_filter  # the last settlement (taken with the layers)
        or p.exit_rule == "gap"  # the laggard gap
        or p.rank_by != "rsi"  # zgap (and the sector score)
        or spec.shorts_enabled  # overheated sectors, acceleration, funding ranks
    )


def indicator_bars(spec: StrategySpec) -> int:
    """The first entry-timeframe bar index at which every indicator value the enabled rules
    read is defined, from TA-Lib's lookbacks (RSI n, ADX 2n − 1, ATR n, EMA n − 1) and the
    trigger, percentile, lower-low, divergence and take-profit windows on top of them."""
    p = spec.params
    need = [0]
    rsi, adx = p.rsi_period, 2 * p.adx_period - 1
    if p.confirm:
        # The oversold threshold: fixed, or the percentile of the last n RSI values (all
        # of them finite: ``nanpercentile_last(..., min_count=n)``).
        thr = rsi + (p.rsi_percentile_bars - 1 if p.rsi_mode == "percentile" else 0)
        # cross_up: below the threshold at one of the previous cross_lookback_bars bars.
        need.append(thr + (p.cross_lookback_bars if p.entry_trigger == "cross_up" else 0))
        need.append(adx)
        if p.require_lower_low:
            need.append(max(p.lower_low_long_bars, p.lower_low_short_bars) - 1)
    if spec.shorts_enabled:
        need += [rsi, adx]  # short_setup: RSI overbought and ADX below adx_max
    if p.exit_rule == "rsi" or p.rank_by == "rsi":
        need.append(rsi)
    if p.exit_rule == "ema":
        need.append(p.ema_period - 1)
    if spec.stop_mode == "atr":
        need.append(p.atr_period)  # no ATR, no stop, no entry
    if p.divergence:
        # Two pivots (each known k bars later) within the lookback, RSI at both.
        need.append(rsi + p.divergence_lookback_bars + 2 * p.divergence_k + 1)
    if p.take_profit:
        need.append(p.tp_lookback_bars)  # highest high of the last tp_lookback_bars bars
    return max(need)


def indicator_hours(spec: StrategySpec, tf_hours: int) -> int:
    """1h bars from the first bar to the first decision whose indicators are all defined.

    A decision at 1h index ``j`` reads the last entry-timeframe bar complete at ``j``. Bar
    ``L = indicator_bars`` closes at index ``off + (L + 1)·tf − 1``, where ``off < tf`` hours
    of a partial first bar are dropped by the aggregation; so ``(L + 2)·tf − 2`` whatever the
    data's first hour (exactly ``L`` on 1h bars).
    """
    return (indicator_bars(spec) + 2) * tf_hours - 2
