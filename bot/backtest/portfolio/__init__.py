"""The portfolio mode's backtest (issue #20 part 2; docs/portfolio.md, "Backtest").

``runner`` replays the data bar by bar on the simulator's engine (spot and perpetuals on one
unified account), ``book`` executes an allocation's orders on that engine, ``baselines``
runs buy-and-hold of the core and an equal-weight rotation on the same bars, ``report``
writes the figures and the charts.
"""
