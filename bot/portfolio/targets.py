"""Scores → target weights: bucket shares of the spot sleeve, sector shares of the rotational
bucket, token weights of the whole portfolio (docs/portfolio.md, "Targets").

Every weight is a ``Decimal`` fraction of the portfolio's value, rounded *down* to
``QUANTUM``; what rounding and unfilled buckets leave over is the spot sleeve's cash line, so
token weights + spot cash = the spot sleeve exactly, and + the futures sleeve = 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Rule, pct
from bot.portfolio.rotation import SectorSignal, sector_signals
from bot.portfolio.selection import MarketStats, Pick, best_of, leaders
from bot.signals.evaluation import Evaluation, RegimeRow

QUANTUM = Decimal("1e-12")
CORE, ROTATIONAL, SPECULATIVE, CASH = "core", "rotational", "speculative", "cash"
BUCKETS = (CORE, ROTATIONAL, SPECULATIVE)
MIN_TOKENS = 2  # a sector or the speculative bucket is never one token
_ZERO, _ONE = Decimal(0), Decimal(1)


def q(x: Decimal) -> Decimal:
    """Round a weight down to the quantum (never over-allocate)."""
    return x.quantize(QUANTUM, rounding=ROUND_DOWN)


def fdec(x: float) -> Decimal:
    """A signal float in [0, 1] as a Decimal with six decimals (NaN → 0). Signal values may
    be numpy scalars, whose repr is not a number: convert through ``float`` first."""
    v = float(x)
    if not math.isfinite(v):
        return _ZERO
    return Decimal(repr(round(min(max(v, 0.0), 1.0), 6)))


@dataclass(frozen=True, slots=True)
class TokenTarget:
    """One token's target weight of the portfolio and why."""

    symbol: str
    bucket: str
    sector: str | None
    weight: Decimal
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class SectorTarget:
    """A sector's weight in one bucket, its tokens and the signal inputs behind it."""

    sector: str
    bucket: str
    weight: Decimal
    tokens: tuple[str, ...]
    signal: SectorSignal | None
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class BucketTarget:
    """A bucket: ``share`` of the spot sleeve, ``weight`` of the portfolio, ``invested`` the
    part its tokens take (the rest waits in cash)."""

    name: str
    share: Decimal
    weight: Decimal
    invested: Decimal
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Targets:
    """Everything the rebalance planner and the futures roles need from one evaluation."""

    t: int
    spot_share: Decimal
    futures_weight: Decimal
    cash_weight: Decimal  # the spot sleeve's USDT
    buckets: dict[str, BucketTarget]
    sectors: list[SectorTarget]
    tokens: dict[str, TokenTarget]
    signals: dict[str, SectorSignal]
    favoured: tuple[str, ...]  # rotational sectors, best first
    regime: RegimeRow

    def weight(self, symbol: str) -> Decimal:
        """Target weight of ``symbol`` (0 when not targeted)."""
        t = self.tokens.get(symbol)
        return t.weight if t is not None else _ZERO


def capped_shares(tilts: Sequence[float], cap: Decimal) -> list[Decimal]:
    """Shares ∝ tilts, none above ``cap``: a capped sector's excess goes to the others in
    proportion; when every sector is capped the rest stays unallocated (Σ ≤ 1)."""
    n = len(tilts)
    weights = [Decimal(repr(float(t))) for t in tilts]
    shares = [_ZERO] * n
    free = {i for i in range(n) if weights[i] > 0}
    left = _ONE
    while free:
        total = sum((weights[i] for i in free), _ZERO)
        trial = {i: left * weights[i] / total for i in free}
        over = [i for i in sorted(free) if trial[i] > cap]
        if not over:
            for i, s in trial.items():
                shares[i] = q(s)
            break
        for i in over:
            shares[i] = cap
            left -= cap
            free.discard(i)
    return shares


def _lerp(lo: Decimal, hi: Decimal, x: Decimal) -> Decimal:
    return lo + (hi - lo) * x


class _Builder:
    """One computation of the targets; collects rows as it goes."""

    def __init__(self, cfg: PortfolioConfig, ev: Evaluation, stats: MarketStats) -> None:
        self.cfg, self.ev, self.stats = cfg, ev, stats
        self.spot = cfg.spot_share
        self.signals = sector_signals(ev, cfg.rotation)
        self.priced = {
            r.symbol: r.sector
            for r in ev.symbols
            if r.close is not None and math.isfinite(r.close) and r.close > 0
        }
        self.tokens: dict[str, TokenTarget] = {}
        self.sectors: list[SectorTarget] = []
        self.taken: set[str] = set(cfg.core.assets)

    def favoured(self) -> tuple[list[tuple[SectorSignal, list[Pick]]], dict[str, Explanation]]:
        """The best ``max_sectors`` investable sectors that have enough leaders."""
        rc = self.cfg.rotation
        out: list[tuple[SectorSignal, list[Pick]]] = []
        skipped: dict[str, Explanation] = {}
        ranked = sorted(
            (s for s in self.signals.values() if s.tilt > 0), key=lambda s: (-s.tilt, s.sector)
        )
        for sig in ranked:
            if len(out) == rc.max_sectors:
                skipped[sig.sector] = Explanation(
                    Rule.SECTOR_NOT_FAVOURED,
                    f"{sig.sector}: not held (tilt {sig.tilt:.2f} ranks below the "
                    f"{rc.max_sectors} favoured sector(s))",
                    sig.explanation.inputs,
                )
                continue
            picks = leaders(
                self.ev.symbols,
                sig.sector,
                self.stats,
                rc.liquid_pool,
                rc.tokens_per_sector,
                self.taken,
            )
            if len(picks) < MIN_TOKENS:
                skipped[sig.sector] = Explanation(
                    Rule.SECTOR_THIN,
                    f"{sig.sector}: not held (only {len(picks)} usable leader(s); a sector is "
                    "never held as one token)",
                    sig.explanation.inputs,
                )
                continue
            out.append((sig, picks))
            self.taken.update(p.symbol for p in picks)
        return out, skipped

    def speculative(self, favoured: set[str]) -> tuple[list[Pick], list[str]]:
        """The strongest members of the narrative sectors that are neither over-leveraged,
        fading, nor already held by the rotational bucket (one sector, one bucket)."""
        sc, rc = self.cfg.speculative, self.cfg.rotation
        pool: list[Pick] = []
        notes: list[str] = []
        for sector in sc.sectors:
            sig = self.signals.get(sector)
            if sig is not None and sig.state in (Rule.SECTOR_OVERLEVERAGED, Rule.SECTOR_FADING):
                notes.append(f"{sector} skipped ({sig.state.value})")
                continue
            if sector in favoured:
                notes.append(f"{sector} skipped (held by the rotational bucket)")
                continue
            pool.extend(
                leaders(self.ev.symbols, sector, self.stats, rc.liquid_pool, sc.tokens, self.taken)
            )
        picks = best_of(pool, sc.tokens)
        if len(picks) < MIN_TOKENS:
            notes.append(f"only {len(picks)} candidate(s); the bucket waits in cash")
            return [], notes
        self.taken.update(p.symbol for p in picks)
        return picks, notes

    def add_token(
        self, symbol: str, bucket: str, sector: str | None, w: Decimal, rule: Rule, text: str
    ) -> None:
        self.tokens[symbol] = TokenTarget(
            symbol, bucket, sector, w, Explanation(rule, text, numbers={"weight": w})
        )

    def core(self, share: Decimal) -> Decimal:
        bw = self.spot * share
        invested = _ZERO
        by_sector: dict[str, list[str]] = {}
        for sym, part in self.cfg.core.assets.items():
            if sym not in self.priced:
                continue
            w = q(bw * part)
            sector = self.priced[sym] or CORE
            self.add_token(
                sym, CORE, sector, w, Rule.TARGET_CORE,
                f"{sym}: core anchor, {pct(part)} of the core bucket "
                f"{pct(share)} of the spot sleeve {pct(self.spot)} = {pct(w)}",
            )  # fmt: skip
            invested += w
            by_sector.setdefault(sector, []).append(sym)
        for sector, syms in sorted(by_sector.items()):
            w = sum((self.tokens[s].weight for s in syms), _ZERO)
            self.sectors.append(
                SectorTarget(
                    sector, CORE, w, tuple(syms), self.signals.get(sector),
                    Explanation(Rule.TARGET_CORE, f"core anchors {', '.join(syms)}: {pct(w)}",
                                numbers={"weight": w}),
                )
            )  # fmt: skip
        return invested

    def rotational(
        self,
        share: Decimal,
        chosen: list[tuple[SectorSignal, list[Pick]]],
        skipped: dict[str, Explanation],
    ) -> Decimal:
        rc = self.cfg.rotation
        bw = self.spot * share
        shares = capped_shares([s.tilt for s, _ in chosen], rc.max_sector_share)
        total_tilt = sum(s.tilt for s, _ in chosen)
        invested = _ZERO
        done: set[str] = set()
        for (sig, picks), part in zip(chosen, shares, strict=True):
            w = q(bw * part)
            each = q(w / len(picks))
            for p in picks:
                self.add_token(
                    p.symbol, ROTATIONAL, sig.sector, each, Rule.TARGET_ROTATIONAL,
                    f"{p.symbol}: leader {picks.index(p) + 1} of {sig.sector} (momentum "
                    f"{p.momentum:+.2%}, liquidity rank {p.liquidity_rank}); "
                    f"{pct(w)} / {len(picks)} = {pct(each)}",
                )  # fmt: skip
            capped = " (capped by rotation.max_sector_share)" if part == rc.max_sector_share else ""
            text = (
                f"{sig.sector}: tilt {sig.tilt:.2f} of {total_tilt:.2f} → {pct(part)} of the "
                f"rotational bucket{capped}; {pct(part)} × {pct(share)} of the spot sleeve × "
                f"{pct(self.spot)} = {pct(w)} in {', '.join(p.symbol for p in picks)}"
            )
            self.sectors.append(
                SectorTarget(
                    sig.sector, ROTATIONAL, each * len(picks), tuple(p.symbol for p in picks), sig,
                    Explanation(Rule.SECTOR_FAVOURED, text, sig.explanation.inputs,
                                {"share_of_bucket": part, "weight": each * len(picks)}),
                )
            )  # fmt: skip
            invested += each * len(picks)
            done.add(sig.sector)
        for name, sig in sorted(self.signals.items(), key=lambda kv: (-kv[1].tilt, kv[0])):
            if name in done:
                continue
            why = skipped.get(name) or Explanation(
                Rule.SECTOR_NOT_FAVOURED,
                f"not held: {sig.explanation.text}",
                sig.explanation.inputs,
            )
            self.sectors.append(SectorTarget(name, ROTATIONAL, _ZERO, (), sig, why))
        return invested

    def speculative_rows(self, share: Decimal, picks: list[Pick], notes: list[str]) -> Decimal:
        bw = self.spot * share
        if not picks:
            return _ZERO
        each = q(bw / len(picks))
        by_sector: dict[str, list[str]] = {}
        for p in picks:
            self.add_token(
                p.symbol, SPECULATIVE, p.sector, each, Rule.TARGET_SPECULATIVE,
                f"{p.symbol}: speculative ({p.sector}, momentum {p.momentum:+.2%}); "
                f"{pct(bw)} / {len(picks)} = {pct(each)}",
            )  # fmt: skip
            by_sector.setdefault(p.sector, []).append(p.symbol)
        for sector, syms in sorted(by_sector.items()):
            text = f"{sector}: {len(syms)} speculative token(s) × {pct(each)}" + (
                f" ({'; '.join(notes)})" if notes else ""
            )
            self.sectors.append(
                SectorTarget(
                    sector, SPECULATIVE, each * len(syms), tuple(syms), self.signals.get(sector),
                    Explanation(Rule.TARGET_SPECULATIVE, text,
                                self.signals[sector].explanation.inputs if sector in self.signals else {},
                                {"weight": each * len(syms)}),
                )
            )  # fmt: skip
        return each * len(picks)

    def build(self) -> Targets:
        b, reg = self.cfg.buckets, self.ev.regime
        chosen, skipped = self.favoured()
        best = chosen[0][0].tilt if chosen else 0.0
        conviction = fdec(best / self.cfg.rotation.full_score)
        rot = _lerp(b.rotational_min, b.rotational_max, conviction)
        breadth = fdec(reg.breadth if reg.breadth is not None and reg.risk_on else 0.0)
        spec = _lerp(b.speculative_min, b.speculative_max, breadth)
        core = min(max(_ONE - rot - spec, b.core_min), b.core_max)
        spare = _ONE - core - rot - spec
        spec_picks, spec_notes = self.speculative({s.sector for s, _ in chosen})
        inv = {
            CORE: self.core(core),
            ROTATIONAL: self.rotational(rot, chosen, skipped),
            SPECULATIVE: self.speculative_rows(spec, spec_picks, spec_notes),
        }
        tokens_total = sum((t.weight for t in self.tokens.values()), _ZERO)
        cash_w = self.spot - tokens_total
        texts = {
            CORE: f"core = clamp(1 − rotational − speculative, {b.core_min}, {b.core_max}) = {pct(core)}",
            ROTATIONAL: (
                f"rotational = {b.rotational_min} + ({b.rotational_max} − {b.rotational_min}) × "
                f"min(1, best tilt {best:.2f} / full_score {self.cfg.rotation.full_score:g}) = {pct(rot)}"
            ),
            SPECULATIVE: (
                f"speculative = {b.speculative_min} + ({b.speculative_max} − {b.speculative_min}) × "
                + (f"breadth {reg.breadth:.2f} (risk-on)" if reg.risk_on and reg.breadth is not None
                   else "0 (risk-off)")
                + f" = {pct(spec)}"
                + (f" ({'; '.join(spec_notes)})" if spec_notes else "")
            ),
        }  # fmt: skip
        rules = {
            CORE: Rule.BUCKET_CORE,
            ROTATIONAL: Rule.BUCKET_ROTATIONAL,
            SPECULATIVE: Rule.BUCKET_SPECULATIVE,
        }
        shares = {CORE: core, ROTATIONAL: rot, SPECULATIVE: spec}
        buckets: dict[str, BucketTarget] = {}
        for name in BUCKETS:
            w = self.spot * shares[name]
            idle = w - inv[name]
            text = (
                texts[name]
                + f" of the spot sleeve = {pct(w)} of the portfolio"
                + (f"; {pct(idle)} of it waits in cash" if idle > 0 else "")
            )
            buckets[name] = BucketTarget(
                name, shares[name], w, inv[name],
                Explanation(rules[name], text,
                            {"risk_on": reg.risk_on, "breadth": reg.breadth, "best_tilt": best},
                            {"share": shares[name], "weight": w, "invested": inv[name]}),
            )  # fmt: skip
        buckets[CASH] = BucketTarget(
            CASH, spare, self.spot * spare, _ZERO,
            Explanation(Rule.BUCKET_CASH,
                        f"cash = 1 − core − rotational − speculative = {pct(spare)} of the spot "
                        f"sleeve; with idle bucket parts and rounding the spot sleeve holds "
                        f"{pct(cash_w)} of the portfolio in USDT",
                        numbers={"share": spare, "cash_weight": cash_w}),
        )  # fmt: skip
        return Targets(
            t=self.ev.t,
            spot_share=self.spot,
            futures_weight=_ONE - self.spot,
            cash_weight=cash_w,
            buckets=buckets,
            sectors=self.sectors,
            tokens=self.tokens,
            signals=self.signals,
            favoured=tuple(s.sector for s, _ in chosen),
            regime=reg,
        )


def compute_targets(cfg: PortfolioConfig, ev: Evaluation, stats: MarketStats) -> Targets:
    """Target weights at the evaluation's time from its sector and symbol rows."""
    return _Builder(cfg, ev, stats).build()
