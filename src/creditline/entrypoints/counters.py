"""Prometheus counters shared by more than one entry point (the API and the workers)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter

from creditline.service.orders.events import EventResult

ORDER_EVENTS = Counter(
    "creditline_order_events_total", "Order events handled", ["source", "status"]
)
"""By door (http, broker) and result (applied, ignored, dead_lettered, duplicate, invalid)."""


def count_results(source: str, results: Iterable[EventResult]) -> None:
    for result in results:
        ORDER_EVENTS.labels(source, result.status).inc()
