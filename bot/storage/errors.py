"""Storage errors callers act on."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of rotor's storage errors."""


class DuplicateOrderError(StorageError):
    """An order with this client order id is already stored (never send it twice)."""

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"order {client_order_id} is already stored")
        self.client_order_id = client_order_id


class OrderNotFoundError(StorageError):
    """No stored order has this client order id."""

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"order {client_order_id} is not stored")
        self.client_order_id = client_order_id


class UnknownRunError(StorageError):
    """The run id is not in ``runs``: call ``Repository.start_run`` first."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__(f"run {run_id!r} is not stored; call start_run() first")
        self.run_id = run_id
