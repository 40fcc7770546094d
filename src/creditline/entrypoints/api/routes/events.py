"""Order events in (a batch of up to 1,000), dead letters out (operators), replays."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field

from creditline.config import Settings
from creditline.domain.errors import DeadLetterNotFound, ReasonRequired
from creditline.domain.money import Money
from creditline.domain.order_events import OrderEvent, implausible_time
from creditline.entrypoints.api.body import In
from creditline.entrypoints.api.deps import ActorDep, runtime_of
from creditline.entrypoints.api.event_schemas import (
    DeadLetterOut,
    DeadLetterPage,
    EventResultOut,
    OrderEventBatchIn,
    OrderEventBatchOut,
    ReplayOut,
)
from creditline.entrypoints.api.openapi import no_idempotency_key, problem_responses
from creditline.entrypoints.counters import count_results
from creditline.service.access import Actor, Role, require_role
from creditline.service.audit import record_action
from creditline.service.orders.events import (
    EventResult,
    Received,
    process_events,
    replay_dead_letter,
)
from creditline.service.orders.ports import DeadLetter
from creditline.service.pages import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

router = APIRouter(tags=["order events"])


def result_out(result: EventResult) -> EventResultOut:
    return EventResultOut.model_construct(
        event_id=result.event_id,
        status=result.status,
        outcome=result.outcome,
        detail=result.detail,
        hold_id=result.hold_id,
    )


@router.post(
    "/v1/order-events",
    response_model=OrderEventBatchOut,
    summary="Report order events (shipped, delivered, cancelled, returned, …), up to 1,000",
    openapi_extra=no_idempotency_key(
        "each event's `event_id` is its own idempotency key: a repeat answers `duplicate`"
    ),
    responses=problem_responses(403),
    description=(
        "Each event is applied exactly once: its `event_id` is its idempotency key, so a "
        "retried batch (or one event sent twice) answers `duplicate` and changes nothing. "
        "Events are applied highest priority first (cancellations, small amounts, trusted "
        "merchants), each order's events in the order sent. The outcome of every "
        "combination of event and hold state is in docs/ORDER_EVENTS.md."
    ),
)
def report_order_events(
    request: Request, body: OrderEventBatchIn, actor: ActorDep
) -> OrderEventBatchOut:
    require_role(actor, Role.PLATFORM)
    assert actor.platform_id is not None
    runtime = runtime_of(request)
    now = runtime.clock.now()
    _check_times(body, now, runtime.settings)
    batch = [
        Received(
            OrderEvent(
                platform_id=actor.platform_id,
                event_id=e.event_id,
                type=e.type,
                order_id=e.order_id,
                occurred_at=e.occurred_at,
                amount=None if e.amount is None else Money(e.amount),
            ),
            now,
            "http",
        )
        for e in body.events
    ]
    results = process_events(
        runtime.uow_factory, lambda careful: runtime.bus.context(actor, careful=careful), batch
    )
    count_results("http", results)
    return OrderEventBatchOut.model_construct(results=[result_out(r) for r in results])


def _check_times(body: OrderEventBatchIn, now: datetime, settings: Settings) -> None:
    """Every event's time is plausible, or the whole batch is a 422 naming each one."""
    problems = [
        {
            "type": "value_error",
            "loc": ("body", "events", index, "occurred_at"),
            "msg": f"{e.occurred_at.isoformat()} {problem}",
            "input": e.occurred_at.isoformat(),
        }
        for index, e in enumerate(body.events)
        if (
            problem := implausible_time(
                e.occurred_at,
                now=now,
                future_skew_s=settings.event_future_skew_s,
                age_s_max=settings.event_age_s_max,
            )
        )
        is not None
    ]
    if problems:
        raise RequestValidationError(problems)


def letter_out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut.model_construct(
        id=letter.id,
        kind=letter.kind,
        platform_id=letter.platform_id,
        ref=letter.ref,
        reason=letter.reason,
        detail=letter.detail,
        payload=json.loads(letter.payload),
        created_at=letter.created_at,
        attempts=letter.attempts,
        resolved_at=letter.resolved_at,
        resolution=letter.resolution,
    )


def _visible(actor: Actor, letter: DeadLetter | None) -> bool:
    if letter is None:
        return False
    return actor.role is Role.OPERATOR or letter.platform_id == actor.platform_id


@router.get(
    "/v1/dead-letters",
    response_model=DeadLetterPage,
    summary="Events and notifications that could not be applied or delivered",
    responses=problem_responses(403),
)
def list_dead_letters(
    request: Request,
    actor: ActorDep,
    kind: Annotated[str | None, Query(pattern="^(order_event|webhook)$")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> DeadLetterPage:
    require_role(actor, Role.OPERATOR, Role.PLATFORM)
    with runtime_of(request).uow_factory(write=False) as uow:
        page = uow.dead_letters.open(
            kind=kind, after=after, limit=limit, platform_id=actor.platform_id
        )
    items = [letter_out(letter) for letter in page.items if _visible(actor, letter)]
    return DeadLetterPage.model_construct(items=items, next_cursor=page.next_cursor)


class ReplayIn(In):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.post(
    "/v1/dead-letters/{letter_id}/replay",
    response_model=ReplayOut,
    summary="Apply a dead-lettered order event again (operators; audited)",
    openapi_extra=no_idempotency_key(
        "the letter is the key: once resolved, another replay answers 404 and changes nothing"
    ),
    responses=problem_responses(403, 404, 409),
    description=(
        "Idempotent by construction: the event's own `event_id` is its key in the inbox, and "
        "a dead letter once resolved is no longer open, so a repeated replay answers 404 "
        "`dead_letter_not_found` and changes nothing."
    ),
)
def replay(request: Request, letter_id: str, body: ReplayIn, actor: ActorDep) -> ReplayOut:
    require_role(actor, Role.OPERATOR)
    if not body.reason.strip():
        raise ReasonRequired("a replay needs a reason; it is kept in the audit log")
    runtime = runtime_of(request)
    outcome = replay_dead_letter(
        runtime.uow_factory,
        lambda careful: runtime.bus.context(actor, careful=careful),
        letter_id,
        runtime.clock.now(),
    )
    if outcome is None:
        raise DeadLetterNotFound(
            f"no open order-event dead letter {letter_id}", letter_id=letter_id
        )
    record_action(
        runtime.uow_factory,
        runtime.bus.context(actor),
        "dead_letter.replay",
        letter_id,
        body.reason,
        f"resolved={outcome.resolved}",
    )
    return ReplayOut.model_construct(resolved=outcome.resolved, result=result_out(outcome.result))
