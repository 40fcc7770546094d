"""The platform's order system: an HTTP client for reconciliation, and a fake for tests.

Protocol (documented in docs/ORDER_EVENTS.md): POST `<order_status_url>` with
`{"order_ids": [...]}`; the answer is `{"orders": {"<order id>": {"state": "shipped",
"shipped_amount": 1234}}}` with state one of open, shipped, delivered, cancelled;
orders it does not know are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx2 as httpx

from creditline.domain.money import Money
from creditline.domain.parties import Platform
from creditline.service.orders.ports import OrderStatus, OrderSystemUnavailable

STATES = frozenset({"open", "shipped", "delivered", "cancelled"})
TIMEOUT_S = 5.0


class HttpOrderSystem:
    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self._client = httpx.Client(timeout=timeout_s)

    def statuses(self, platform: Platform, order_ids: Sequence[str]) -> dict[str, OrderStatus]:
        assert platform.order_status_url is not None, platform
        try:
            response = self._client.post(
                platform.order_status_url, json={"order_ids": list(order_ids)}
            )
            response.raise_for_status()
            orders = response.json()["orders"]
            return {
                order_id: _status(orders[order_id]) for order_id in order_ids if order_id in orders
            }
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
            raise OrderSystemUnavailable(f"{platform.order_status_url}: {error}") from error

    def close(self) -> None:
        self._client.close()


def _status(raw: Mapping[str, object]) -> OrderStatus:
    state = raw["state"]
    if state not in STATES:
        raise ValueError(f"unknown order state {state!r}")
    shipped = raw.get("shipped_amount")
    if shipped is not None and (type(shipped) is not int or shipped < 0):
        raise ValueError(f"shipped_amount must be a non-negative integer of fen: {shipped!r}")
    return OrderStatus(state=str(state), shipped_amount=None if shipped is None else Money(shipped))


class FakeOrderSystem:
    """An order system in memory: tests set what it knows about each order."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderStatus] = {}
        self.asked: list[list[str]] = []
        self.down = False

    def statuses(self, platform: Platform, order_ids: Sequence[str]) -> dict[str, OrderStatus]:
        self.asked.append(list(order_ids))
        if self.down:
            raise OrderSystemUnavailable("the fake order system is down")
        return {o: self.orders[o] for o in order_ids if o in self.orders}
