"""Request weights of the simulator's Binance face: Binance's documented weight per endpoint,
USDⓈ-M (``/fapi``, fapi.binance.com), spot (``/api/v3``, api.binance.com) and the wallet
(``/sapi``). Spot and futures are other hosts on Binance, each with its own IP limit: the face
counts them apart (``is_spot_api``)."""

from __future__ import annotations

from collections.abc import Mapping

ORDER_PATHS = ("/fapi/v1/order", "/fapi/v1/algoOrder")


def is_spot_api(path: str) -> bool:
    """A request to api.binance.com (spot and wallet) rather than fapi.binance.com."""
    return path.startswith(("/api/v3/", "/sapi/"))


# Request weights (Binance's documented ones); (with a symbol, without one) where they differ.
# New orders weigh 0 on the IP limit (they count on the order-count limits instead); the funding
# reads weigh 0 on it too (they share a limit of their own: 500 per 5 minutes).
_ZERO_IP_WEIGHT = frozenset(
    {
        ("POST", "/fapi/v1/order"),
        ("POST", "/fapi/v1/algoOrder"),
        ("GET", "/fapi/v1/fundingInfo"),
        ("GET", "/fapi/v1/fundingRate"),
    }
)
_WEIGHTS: dict[str, int | tuple[int, int]] = {
    "/fapi/v1/ticker/24hr": (1, 40),
    "/fapi/v1/ticker/price": (1, 2),
    "/fapi/v2/ticker/price": (1, 2),
    "/fapi/v1/ticker/bookTicker": (2, 5),
    "/fapi/v1/premiumIndex": (1, 10),
    "/fapi/v1/openOrders": (1, 40),
    "/fapi/v1/openAlgoOrders": (1, 40),
    "/fapi/v3/account": 5,
    "/fapi/v2/account": 5,
    "/fapi/v2/balance": 5,
    "/fapi/v3/balance": 5,
    "/fapi/v3/positionRisk": 5,
    "/fapi/v1/allOrders": 5,
    "/fapi/v1/allAlgoOrders": 5,
    "/fapi/v1/userTrades": 5,
    "/fapi/v1/symbolConfig": 5,
    "/fapi/v1/income": 30,
    "/fapi/v1/commissionRate": 20,
    # Binance spot (api.binance.com, a weight limit of its own) and the wallet.
    "/api/v3/exchangeInfo": 20,
    "/api/v3/ticker/24hr": (2, 80),
    "/api/v3/ticker/price": (2, 4),
    "/api/v3/ticker/bookTicker": (2, 4),
    "/api/v3/account": 20,
    "/api/v3/allOrders": 20,
    "/api/v3/myTrades": 20,
    "/api/v3/openOrders": (6, 80),
    "/sapi/v1/capital/config/getall": 10,
    "/sapi/v1/margin/allPairs": 1,
    "/sapi/v1/margin/isolated/allPairs": 10,
}
# The universal transfer weighs on the account (UID) limit: 900.
UID_WEIGHTED = frozenset({("POST", "/sapi/v1/asset/transfer")})


def _limit(query: Mapping[str, str]) -> int:
    v = query.get("limit", "")
    return int(v) if v.isdigit() else 500


def weight(path: str, method: str, query: Mapping[str, str]) -> int:
    """The IP weight of one request."""
    if (method, path) in _ZERO_IP_WEIGHT:
        return 0
    if path.endswith(("klines", "Klines")):
        n = _limit(query)
        return 1 if n < 100 else 2 if n < 500 else 5 if n <= 1000 else 10
    if path == "/fapi/v1/depth":
        n = _limit(query)
        return 2 if n <= 50 else 5 if n <= 100 else 10 if n <= 500 else 20
    if path == "/fapi/v1/positionSide/dual" and method == "GET":
        return 30
    if (method, path) in UID_WEIGHTED:
        return 900
    if path == "/api/v3/order" and method == "GET":
        return 4
    if path == "/api/v3/myTrades" and query.get("orderId"):
        return 5
    w = _WEIGHTS.get(path, 1)
    if isinstance(w, tuple):
        return w[0] if query.get("symbol") else w[1]
    return w
