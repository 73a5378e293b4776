"""Signal engine (STRATEGY.md): regime, sector rotation, laggards, exits, presets.

Import from the submodules (``bot.signals.engine``, ``bot.signals.params``); this package
module stays import-light so ``bot.config`` can use the parameter model cheaply.
"""
