"""The portfolio mode's backtest (issue #20 part 2; docs/portfolio.md, "Backtest").

``run`` is ``BacktestRunner``'s run of the daemon's ``PortfolioCore`` with a recorder on the
core (one execution of the strategy: the replay's), ``baselines`` are buy-and-hold of the core
and an equal-weight rotation as target policies of the same core, ``flows`` reads fills, fees,
funding and the roles' P&L from the engine and the stored orders, ``weights`` the bucket and
sector weights after a rebalance, ``report`` writes the figures and the charts.
"""
