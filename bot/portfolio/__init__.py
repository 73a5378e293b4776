"""The portfolio layer (issue #20): a spot sleeve rotated across sectors by the futures
signals, with a futures sleeve that hedges and amplifies.

Pure and synchronous like ``signals`` and ``risk`` (no I/O). One concept per module:
``config`` (the ``[portfolio]`` section), ``rotation`` (sector states from the scores),
``selection`` (a sector's leading tokens), ``targets`` (scores → bucket, sector and token
weights), ``holdings`` (what is held and its value), ``rebalance`` (spot orders toward the
targets), ``roles`` (hedge, transition and amplify perp intents), ``account`` (checking them
through the ``RiskManager``), ``flat`` (what the kill switch sells), ``explain`` (decision
records), ``allocate`` (one allocation end to end) and ``report`` (``rotor allocate --json``).
Import the submodules; this module stays import-light because ``bot.config`` loads
``bot.portfolio.config``.
"""
