"""The Bybit v5 face of the simulator (``category=linear``): routes, wire formats, signing."""
