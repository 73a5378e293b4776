"""Risk: sizing, liquidation maths, buffers, portfolio limits, trading state (RISK.md).

Pure and synchronous: imports ``bot.domain`` only (plus config types), never does I/O.
"""
