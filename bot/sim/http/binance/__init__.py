"""The Binance USDⓈ-M face of the simulator (``/fapi/...``): routes, wire formats, signing."""
