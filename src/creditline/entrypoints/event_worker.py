"""`creditline worker events`: apply order events from NATS JetStream, reconcile old holds.

Loop: fetch up to `event_batch_size` messages, parse them (the same schema as the HTTP
endpoint), apply the batch with `process_events` (priority order, group commit) and
only then acknowledge every message — so an event is acknowledged after its effect is
committed, never before. A malformed message is dead-lettered and acknowledged; a
database outage negatively acknowledges the batch so it comes back later. Between
batches, every `reconcile_interval_s`, the worker reconciles pending holds older than
`reconcile_after_s` with the platforms' order systems.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from datetime import datetime

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from pydantic import ValidationError

from creditline.adapters import nats_events
from creditline.adapters.order_system import HttpOrderSystem
from creditline.bootstrap import Runtime
from creditline.domain.money import Money
from creditline.domain.order_events import (
    EVENT_AGE_S_MAX_DEFAULT,
    EVENT_FUTURE_SKEW_S_DEFAULT,
    OrderEvent,
    implausible_time,
)
from creditline.entrypoints.api.event_schemas import OrderEventIn
from creditline.entrypoints.counters import ORDER_EVENTS, count_results
from creditline.entrypoints.logs import get_logger
from creditline.service.access import SYSTEM
from creditline.service.orders.events import INVALID_MESSAGE, Received, process_events
from creditline.service.orders.ports import DeadLetter
from creditline.service.orders.reconcile import reconcile
from creditline.service.ports import ConflictKind, StoreUnavailable, WriteConflict

NAK_DELAY_S = 2.0
PLATFORM_ID_LENGTH_MAX = 40
"""As stored (`platform.id`); a longer subject token cannot name a platform."""
FETCH_TIMEOUT_S = 1.0

log = get_logger("creditline.worker")


@dataclass(frozen=True, slots=True)
class Parsed:
    message: Msg
    received: Received | None
    problem: str | None = None


def parse(
    message: Msg,
    now: datetime,
    topology: nats_events.Topology,
    *,
    future_skew_s: float = EVENT_FUTURE_SKEW_S_DEFAULT,
    age_s_max: float = EVENT_AGE_S_MAX_DEFAULT,
) -> Parsed:
    platform_id = topology.platform_of(message.subject)
    try:
        body = OrderEventIn.model_validate_json(message.data)
    except ValidationError as error:
        return Parsed(message, None, f"invalid message: {error.errors()[0]['msg']}")
    if platform_id is None:
        return Parsed(message, None, f"no platform in subject {message.subject}")
    problem = implausible_time(
        body.occurred_at, now=now, future_skew_s=future_skew_s, age_s_max=age_s_max
    )
    if problem is not None:
        return Parsed(message, None, f"invalid message: occurred_at {problem}")
    event = OrderEvent(
        platform_id=platform_id,
        event_id=body.event_id,
        type=body.type,
        order_id=body.order_id,
        occurred_at=body.occurred_at,
        amount=None if body.amount is None else Money(body.amount),
    )
    return Parsed(message, Received(event, now, "broker"))


def handle_batch(runtime: Runtime, parsed: list[Parsed]) -> None:
    """Blocking: apply what parsed, dead-letter what did not (runs off the event loop)."""
    now = runtime.clock.now()
    parsed = _known_platforms(runtime, parsed)
    bad = [p for p in parsed if p.received is None]
    if bad:
        _dead_letter(runtime, bad, now)
        ORDER_EVENTS.labels("broker", "invalid").inc(len(bad))
    good = [p.received for p in parsed if p.received is not None]
    if good:
        results = process_events(
            runtime.uow_factory, lambda careful: runtime.bus.context(SYSTEM, careful=careful), good
        )
        count_results("broker", results)


def _known_platforms(runtime: Runtime, parsed: list[Parsed]) -> list[Parsed]:
    """A subject naming no platform we know makes the message invalid (not a crash loop)."""
    with runtime.uow_factory(write=False) as uow:
        known = {
            pid: uow.directory.get_platform(pid) is not None
            for pid in {p.received.event.platform_id for p in parsed if p.received is not None}
            if len(pid) <= PLATFORM_ID_LENGTH_MAX
        }
    return [
        p
        if p.received is None or known.get(p.received.event.platform_id, False)
        else Parsed(p.message, None, f"no platform {p.received.event.platform_id[:80]!r}")
        for p in parsed
    ]


def _dead_letter(runtime: Runtime, bad: list[Parsed], now: datetime) -> None:
    """Keep malformed messages for operators (a redelivered one is already kept)."""
    for item in bad:
        with runtime.uow_factory(write=True) as uow:
            platform_id = nats_events.Topology(runtime.settings.nats_namespace).platform_of(
                item.message.subject
            )
            if platform_id is not None and len(platform_id) > PLATFORM_ID_LENGTH_MAX:
                platform_id = None
            sequence = item.message.metadata.sequence.stream
            uow.dead_letters.add(
                DeadLetter(
                    id=runtime.new_id("dlq"),
                    kind="order_event",
                    platform_id=platform_id,
                    ref=f"msg:{sequence}",
                    reason=INVALID_MESSAGE,
                    detail=item.problem or "",
                    payload=item.message.data.decode(errors="replace"),
                    created_at=now,
                )
            )
            try:
                uow.commit()
            except WriteConflict as conflict:
                if conflict.kind is not ConflictKind.EVENT_SEEN:
                    raise


async def run(runtime: Runtime, *, stop: asyncio.Event) -> None:
    settings = runtime.settings
    topology = nats_events.Topology(settings.nats_namespace)
    client, js = await nats_events.connect(settings.nats_url, topology)
    sub = await nats_events.subscribe(js, topology, ack_wait_s=settings.event_ack_wait_s)
    order_system = HttpOrderSystem()
    next_reconcile = time.monotonic() + min(settings.reconcile_interval_s, 60.0)
    log.info("worker_started", nats=settings.nats_url, batch=settings.event_batch_size)
    try:
        while not stop.is_set():
            try:
                messages = await nats_events.fetch(sub, settings.event_batch_size, FETCH_TIMEOUT_S)
            except NatsError as error:  # e.g. reconnecting: the client retries, so do we
                log.warning("fetch_failed", error=str(error))
                await asyncio.sleep(NAK_DELAY_S)
                continue
            if messages:
                await _apply(runtime, messages, topology)
            if settings.reconcile_interval_s > 0 and time.monotonic() >= next_reconcile:
                next_reconcile = time.monotonic() + settings.reconcile_interval_s
                await asyncio.to_thread(_reconcile, runtime, order_system)
    finally:
        order_system.close()
        await nats_events.close(client)


async def _apply(runtime: Runtime, messages: list[Msg], topology: nats_events.Topology) -> None:
    now = runtime.clock.now()
    window = {
        "future_skew_s": runtime.settings.event_future_skew_s,
        "age_s_max": runtime.settings.event_age_s_max,
    }
    parsed = [parse(message, now, topology, **window) for message in messages]
    try:
        await asyncio.to_thread(handle_batch, runtime, parsed)
    except StoreUnavailable as error:
        log.warning("batch_deferred", error=str(error), messages=len(messages))
        for message in messages:
            await message.nak(delay=NAK_DELAY_S)
        return
    for message in messages:
        await message.ack()


def _reconcile(runtime: Runtime, order_system: HttpOrderSystem) -> None:
    report = reconcile(
        runtime.uow_factory,
        lambda careful: runtime.bus.context(SYSTEM, careful=careful),
        order_system,
        now=runtime.clock.now(),
        older_than_s=runtime.settings.reconcile_after_s,
    )
    for line in report.corrections:
        log.info("reconcile_correction", detail=line)
    for failure in report.failures:
        log.warning("reconcile_failed", detail=failure)


def main(runtime: Runtime) -> None:
    """Run until SIGTERM or SIGINT; a batch in flight is finished and acknowledged first."""

    async def start() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(runtime, stop=stop)

    asyncio.run(start())
