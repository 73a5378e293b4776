"""The simulator's records: orders, executions, funding payments, positions and errors.

Statuses and error codes use Bybit v5's vocabulary so the HTTP face can pass them through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.domain import OrderType, PositionSide, Side, TriggerBy

ZERO = Decimal(0)

ORDER_ID_PREFIX = 0x51D0
EXEC_ID_PREFIX = 0xE8EC


def sim_id(prefix: int, n: int) -> str:
    """A deterministic uuid-shaped id (replays give the same ids)."""
    return str(uuid.UUID(int=(prefix << 96) | n))


class SimError(Exception):
    """An engine refusal with Bybit's ``retCode`` and a message naming what was wrong.

    ``reason`` names the rule when one code covers several (10001 is every bad parameter):
    a face whose venue has a code per rule (Binance) maps the reason, Bybit the code.
    """

    # Bybit retCodes the engine raises.
    BAD_PARAMS = 10001
    ORDER_NOT_FOUND = 110001
    INSUFFICIENT_BALANCE = 110007
    LEVERAGE_INVALID = 110013
    REDUCE_ONLY = 110017
    LEVERAGE_NOT_MODIFIED = 110043
    DUPLICATE_LINK_ID = 110072
    RISK_LIMIT = 110090
    POSITION_EXISTS = 110024  # position mode cannot be switched with a position
    POSITION_MODE_NOT_MODIFIED = 110025
    MARGIN_MODE_NOT_MODIFIED = 110026
    ORDERS_EXIST = 110028  # position mode cannot be switched with open orders
    REDUCE_ONLY_STATUS = 110042  # pre-delivery (Settling): only reducing orders
    SETTLING = 110063
    NOT_TRADING = 110066
    SET_MARGIN_MODE_FAILED = 110073
    TRIGGER_RISING = 110092
    TRIGGER_FALLING = 110093
    MIN_NOTIONAL = 110094
    # Bybit's spot retCodes (category=spot).
    SPOT_INSUFFICIENT_BALANCE = 170131
    SPOT_QTY_TOO_LOW = 170136
    SPOT_TOO_MANY_DECIMALS = 170137
    SPOT_PRICE_DECIMALS = 170134
    SPOT_ORDER_NOT_FOUND = 170213
    SPOT_VALUE_TOO_LOW = 170140
    SPOT_DUPLICATE_LINK_ID = 170141
    SPOT_SYMBOL = 170121

    def __init__(self, code: int, msg: str, reason: str = "") -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.reason = reason


class SimStatus(StrEnum):
    """Bybit ``orderStatus`` values."""

    NEW = "New"
    PARTIALLY_FILLED = "PartiallyFilled"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"
    UNTRIGGERED = "Untriggered"
    TRIGGERED = "Triggered"
    DEACTIVATED = "Deactivated"
    PARTIALLY_FILLED_CANCELED = "PartiallyFilledCanceled"  # spot: a quote-unit market order


OPEN_SIM_STATUSES = frozenset(
    {SimStatus.NEW, SimStatus.PARTIALLY_FILLED, SimStatus.UNTRIGGERED, SimStatus.TRIGGERED}
)


@dataclass(slots=True)
class SimOrder:
    """One order as the venue keeps it (mutable: status and fills change)."""

    order_id: str
    order_link_id: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    trigger_by: TriggerBy
    reduce_only: bool
    status: SimStatus
    created_ms: int
    updated_ms: int
    trigger_direction: int = 0  # Bybit: 1 = triggers when price rises to it, 2 = falls to it
    cum_exec_qty: Decimal = ZERO
    cum_exec_value: Decimal = ZERO
    cum_exec_fee: Decimal = ZERO
    avg_price: Decimal | None = None
    reject_reason: str = ""
    cancel_type: str = ""
    create_type: str = "CreateByUser"  # Bybit createType; CreateByLiq for liquidations
    seq: int = 0  # placement order; ties on the intra-bar path are broken by it
    partial_bar: int = -1  # last bar in which a capped partial fill happened
    time_in_force: str = "GTC"  # GTC, IOC, FOK, PostOnly (market orders are IOC)
    stop_order_type: str = ""  # "", Stop, TakeProfit, StopLoss (position TP/SL)
    take_profit: Decimal | None = None  # TP/SL to set on the position when this order fills
    stop_loss: Decimal | None = None
    position_idx: int = 0  # Bybit positionIdx: 0 one-way, 1 hedge buy side, 2 hedge sell side
    market_unit: str = ""  # spot market orders: baseCoin (qty in coins) or quoteCoin (USDT)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SIM_STATUSES

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.cum_exec_qty


@dataclass(frozen=True, slots=True)
class SimExecution:
    """One fill; ``fee`` is positive when paid. ``exec_type`` is Trade, BustTrade (a
    liquidation) or Delivery (a delisted symbol settled)."""

    exec_id: str
    order_id: str
    order_link_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_rate: Decimal
    ts: int
    is_maker: bool
    exec_type: str = "Trade"
    closed_size: Decimal = ZERO
    closed_pnl: Decimal = ZERO
    mark: Decimal | None = None  # the mark price at the moment of the fill
    entry_price: Decimal = ZERO  # average entry of the part this fill closed
    entry_fee: Decimal = ZERO  # the opening fees of the part this fill closed
    fee_currency: str = "USDT"  # spot: the currency received (base coin on a buy)

    @property
    def value(self) -> Decimal:
        return self.qty * self.price


@dataclass(frozen=True, slots=True)
class SimFunding:
    """One funding settlement applied to a position: ``amount`` is signed cash."""

    symbol: str
    ts: int
    rate: Decimal
    qty: Decimal
    side: PositionSide
    mark: Decimal
    amount: Decimal
    idx: int = 0  # the position's index: 0 one-way, 1/2 the hedge long/short


@dataclass(frozen=True, slots=True)
class SimTransaction:
    """One change of the wallet, as Bybit's transaction log lists it.

    ``kind`` is TRADE, SETTLEMENT (funding), TRANSFER_IN, TRANSFER_OUT, LIQUIDATION or
    DELIVERY; ``change`` is the signed cash (``cash_flow − fee``); ``balance`` the wallet after.
    """

    kind: str
    ts: int
    symbol: str
    side: str  # Buy / Sell / "" (transfers)
    qty: Decimal
    price: Decimal
    fee: Decimal
    cash_flow: Decimal
    change: Decimal
    balance: Decimal
    ref_id: str  # execution id, funding id or transfer id
    order_id: str = ""
    order_link_id: str = ""
    fee_rate: Decimal = ZERO


@dataclass(slots=True)
class SimPosition:
    """A position: one-way (``idx`` 0) or one side of a hedge-mode symbol (1 long, 2 short).

    ``margin`` is the position's initial margin ``size·avg_price/leverage`` (isolated: the
    margin it can lose; cross: what it ties up of the shared wallet); ``realised_pnl`` is
    Bybit's cumulative realised PnL for the position's life: closed PnL − fees + funding.
    """

    symbol: str
    side: PositionSide
    size: Decimal
    avg_price: Decimal
    leverage: Decimal
    liq_price: Decimal
    bust_price: Decimal
    margin: Decimal
    realised_pnl: Decimal
    created_ms: int
    updated_ms: int
    open_fees: Decimal = ZERO  # opening fees of the size still open (for closed PnL)
    take_profit: Decimal | None = None  # position TP/SL (Full mode)
    stop_loss: Decimal | None = None
    idx: int = 0  # Bybit positionIdx: 0 one-way, 1 hedge long, 2 hedge short

    def unrealised_pnl(self, mark: Decimal) -> Decimal:
        """``s·size·(mark − avg_price)``."""
        return self.side.sign * self.size * (mark - self.avg_price)

    @property
    def value(self) -> Decimal:
        return self.size * self.avg_price
