"""Account modes at start-up (RELIABILITY.md #32, first half).

rotor's risk formulas are isolated-margin, one-way ones (RISK.md), while a new Bybit account
is cross margin. Before reconciling, the daemon (and the backtester, so both trade the same
account) asks the venue to check and set ``execution.margin_mode`` and one-way mode; a venue
that refuses (positions or orders open in the other mode) stops the start with a message
that says what to change: ``AccountModesError``, which the daemon's start-up turns into its
refusal with exit code 4 (as when reconciliation fails: the account is not ready to trade).
"""

from __future__ import annotations

from bot.config import Settings
from bot.observability.logging import get_logger
from bot.venues.base import FatalError, Venue, VenueError

log = get_logger("rotor.venues")


class AccountModesError(FatalError):
    """The venue account cannot be put in the margin and position modes rotor trades in."""


async def prepare_account(venue: Venue, settings: Settings) -> None:
    """Check and set the account's margin and position modes; refuse to start otherwise."""
    mode = settings.execution.margin_mode
    try:
        await venue.ensure_account_modes(mode)
    except VenueError as exc:
        why = str(exc) if isinstance(exc, FatalError) else f"the venue did not answer: {exc}"
        raise AccountModesError(
            f"account modes: cannot set {mode} margin and one-way position mode ({why})"
        ) from exc
    log.info("account_modes", margin_mode=mode, position_mode="one-way")
