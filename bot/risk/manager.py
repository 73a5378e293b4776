"""``RiskManager.check(intent, account) -> Approved | Rejected`` (RISK.md, whole spec).

Entries: state and breakers, guards (stale data, price sanity, funding, order rate), position
counts, sizing by risk, the liquidation buffer policy, exposure caps, rounding to the venue,
then an exact re-verification of every rule on the final order. Reduce-only intents (exits,
stops, kill flattening) pass through here too, with the trading-state rules applied.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from bot.domain import Instrument, OrderIntent, PositionSide
from bot.risk.account import UNMAPPED_SECTOR, AccountView
from bot.risk.buffers import LEVERAGE_STEP, BufferRules, tightened_stop
from bot.risk.codes import ReasonCode
from bot.risk.decision import Approved, Rejected
from bot.risk.entry import EntryCheck
from bot.risk.exits import check_reduce
from bot.risk.limits import breakers
from bot.risk.liquidation import Account, LiquidationModel, Venue
from bot.risk.params import RiskParams
from bot.risk.sizing import risk_budget
from bot.risk.state import StateRequest

if TYPE_CHECKING:
    from bot.config import Settings

ENTRY_KINDS = frozenset({"entry", "hedge"})
REDUCE_KINDS = frozenset({"exit", "stop", "kill"})
_ZERO = Decimal(0)


def venue_of(exchange_name: str) -> Venue:
    """Map ``exchange.name`` (``binanceusdm``, ``bybit``, ``binance``) to a liquidation formula."""
    if exchange_name.startswith("binance"):
        return "binance"
    if exchange_name == "bybit":
        return "bybit"
    raise ValueError(f"exchange.name: no liquidation model for {exchange_name!r}")


class RiskManager:
    """Pure, synchronous gate between every order intent and the venue."""

    def __init__(self, params: RiskParams, venue: Venue, *, account: Account | None = None) -> None:
        self.params = params
        self.venue = venue
        self.model = LiquidationModel(venue, account or params.account_type, params.taker_fee)
        self.rules = BufferRules(params.min_liquidation_distance, params.stop_liquidation_gap)
        self.leverage_step = LEVERAGE_STEP[venue]

    @classmethod
    def from_settings(cls, settings: Settings) -> RiskManager:
        """Build from the whole config (``risk.*`` and ``exchange.name``)."""
        return cls(RiskParams.from_config(settings.risk), venue_of(settings.exchange.name))

    def breakers(self, account: AccountView) -> list[StateRequest]:
        """Daily-loss and max-drawdown requests for the state machine (call every cycle)."""
        return breakers(account, self.params)

    def check(self, intent: OrderIntent, account: AccountView) -> Approved | Rejected:
        """Approve with exact order parameters, or reject with codes and numbers."""
        if intent.kind in REDUCE_KINDS or (intent.reduce_only and intent.kind not in ENTRY_KINDS):
            return check_reduce(intent, account, self.params)
        if intent.kind not in ENTRY_KINDS:
            raise ValueError(
                f"intent.kind: unknown kind {intent.kind!r} (entry, hedge, exit, stop, kill)"
            )
        if intent.reduce_only:
            raise ValueError(f"intent.reduce_only: an {intent.kind} cannot be reduce-only")
        return EntryCheck(self, intent, account).run()

    def gates(
        self, intent: OrderIntent, account: AccountView
    ) -> tuple[tuple[ReasonCode, ...], tuple[StateRequest, ...]]:
        """The first stage of ``check`` for an entry, alone: the codes its gates find (state,
        breakers, stale data, price, funding, order rate, position counts; no sizing) and the
        state requests they raise. The codes are the first ``check`` reports, in its order
        (it reports every refusal), and the requests are all of ``check``'s: an entry a gate
        refuses is refused, with those codes first, whatever its sizing would say."""
        if intent.kind not in ENTRY_KINDS or intent.reduce_only:
            raise ValueError("gates: an entry or a hedge intent, not reduce-only")
        check = EntryCheck(self, intent, account)
        inst = account.instruments.get(intent.symbol)
        check.gates(inst, intent.sector or (inst.sector if inst else None) or UNMAPPED_SECTOR)
        return tuple(r.code for r in check.reasons), tuple(check.requests)

    def max_stop_distance(
        self, instrument: Instrument, side: PositionSide, entry: Decimal, equity: Decimal
    ) -> Decimal:
        """d_max for the strategy: the widest stop this manager would accept unchanged.

        With ``reduce_leverage`` any stop up to ``stop_max_pct`` is made safe by de-levering;
        otherwise the stop must fit inside the liquidation distance at the requested leverage.
        """
        p = self.params
        if p.on_unsafe_leverage == "reduce_leverage":
            return p.stop_max_pct
        risk = risk_budget(equity, p.risk_per_trade)
        d = tightened_stop(
            self.model, side, entry, instrument.tiers, risk, p.cost_allowance, p.stop_max_pct,
            self.rules, p.leverage, self.leverage_step,
        )  # fmt: skip
        return _ZERO if d is None else d
