"""How `creditline bench release` sends its events: NATS and HTTP, as a burst or paced."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Protocol

import httpx2 as httpx

from creditline.adapters import nats_events
from creditline.bench.release_plan import PathPlan, PlannedEvent, grouped

HTTP_BATCH = 100
HTTP_CLIENTS = 4


class Sender(Protocol):
    """What the senders need of the bench's set-up."""

    @property
    def platform_id(self) -> str: ...

    @property
    def platform_key(self) -> str: ...


class Pace:
    """When each event is due: all at once (a burst), or `rate` events per second.

    A paced event is stamped with the time it was due, not the time it was sent, so a
    sender falling behind shows up in the latency instead of hiding it.
    """

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.monotonic()
        self.wall = datetime.now(UTC)

    def wait(self, index: int) -> datetime:
        if self.rate is None:
            return datetime.now(UTC)
        offset = index / self.rate
        delay = self.start + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return self.wall + timedelta(seconds=offset)

    async def wait_async(self, index: int) -> datetime:
        if self.rate is None:
            return datetime.now(UTC)
        offset = index / self.rate
        await asyncio.sleep(max(0.0, self.start + offset - time.monotonic()))
        return self.wall + timedelta(seconds=offset)


PUBLISH_TICK_S = 0.05


async def _publish_all(
    url: str, topology: nats_events.Topology, setup: Sender, plan: PathPlan, pace: Pace
) -> None:
    client, js = await nats_events.connect(url, topology)
    try:
        events = plan.events()
        step = len(events) if pace.rate is None else max(1, int(pace.rate * PUBLISH_TICK_S))
        for start in range(0, len(events), step):
            due = await pace.wait_async(start)
            bodies = [e.json(due) for e in events[start : start + step]]
            await nats_events.publish(js, topology, setup.platform_id, bodies)
    finally:
        await nats_events.close(client)


def publish(
    url: str, topology: nats_events.Topology, setup: Sender, plan: PathPlan, pace: Pace
) -> None:
    asyncio.run(_publish_all(url, topology, setup, plan, pace))


def post(base: str, setup: Sender, plan: PathPlan, pace: Pace) -> None:
    batches, late = grouped(plan, HTTP_BATCH)
    firsts = list(accumulate((len(b) for b in batches), initial=0))
    headers = {"Authorization": f"Bearer {setup.platform_key}"}

    def send(first: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
            for index in range(first, len(batches), HTTP_CLIENTS):
                _send_one(client, batches[index], pace.wait(firsts[index]))

    with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
        list(pool.map(send, range(HTTP_CLIENTS)))
    with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
        sent = firsts[-1]
        for batch in late:
            _send_one(client, batch, pace.wait(sent))
            sent += len(batch)


def _send_one(client: httpx.Client, batch: list[PlannedEvent], occurred_at: datetime) -> None:
    body = {"events": [e.body(occurred_at) for e in batch]}
    response = client.post("/v1/order-events", json=body)
    if response.status_code != 200:
        raise RuntimeError(
            f"POST /v1/order-events answered {response.status_code}: {response.text[:300]}"
        )
