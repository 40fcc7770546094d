"""Holds: authorize (place), read with timeline, capture, release, refund."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.entrypoints.api.deps import ActorDep, runtime_of
from creditline.entrypoints.api.openapi import (
    IDEMPOTENCY_HEADER_DOC,
    problem_responses,
)
from creditline.entrypoints.api.respond import renderer, run_command
from creditline.entrypoints.api.schemas import (
    AuthorizeIn,
    CaptureIn,
    HoldDetailOut,
    HoldOut,
    RefundIn,
    ReleaseIn,
)
from creditline.service import commands
from creditline.service.bus import Outcome
from creditline.service.holds import queries as holds
from creditline.service.ports import Clock

router = APIRouter(prefix="/v1/holds", tags=["holds"])

CHALLENGE_ANSWER = frozenset({"challenge_id", "verification_token"})
"""What the retry of a challenged payment adds: under the same Idempotency-Key it is the
same payment, and its answer replaces the challenge (service/bus.py)."""


def _render(status: int, clock: Clock) -> Callable[[object], Outcome]:
    def to_model(hold: Hold) -> HoldOut:
        return HoldOut.of(holds.hold_view(hold, (), clock.now()))

    return renderer(status, to_model)


@router.post(
    "",
    status_code=201,
    response_model=HoldOut,
    summary="Authorize: lock credit until the order ships, is cancelled or expires",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 402, 403, 404, 409),
)
def authorize(request: Request, body: AuthorizeIn, actor: ActorDep) -> Response:
    command = commands.Authorize(
        account_id=body.account_id,
        order_id=body.order_id,
        amount=Money(body.amount),
        merchant_id=body.merchant_id,
        ttl_s=body.ttl_s,
        description=body.description,
        signals=body.signals(),
        challenge_id=body.challenge_id,
        verification_token=body.verification_token,
    )
    clock = runtime_of(request).clock
    return run_command(
        request,
        actor,
        command,
        body=body,
        render=_render(201, clock),
        answers=body.challenge_id,
        answer_fields=CHALLENGE_ANSWER,
    )


@router.get(
    "/{hold_id}",
    response_model=HoldDetailOut,
    summary="A hold: what it waits for, when it is released at the latest, its timeline",
    responses=problem_responses(404),
)
def get_hold(request: Request, hold_id: str, actor: ActorDep) -> HoldDetailOut:
    runtime = runtime_of(request)
    with runtime.uow_factory(write=False) as uow:
        return HoldDetailOut.of(holds.get_hold(uow, actor, hold_id, runtime.clock.now()))


@router.post(
    "/{hold_id}/captures",
    response_model=HoldOut,
    summary="Capture part or all of a hold; final releases the rest",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def capture(request: Request, hold_id: str, body: CaptureIn, actor: ActorDep) -> Response:
    command = commands.Capture(
        hold_id=hold_id,
        amount=Money(body.amount),
        final=body.final,
        force=body.force,
        reason=body.reason,
    )
    clock = runtime_of(request).clock
    return run_command(request, actor, command, body=body, render=_render(200, clock))


@router.post(
    "/{hold_id}/release",
    response_model=HoldOut,
    summary="Release what the hold still locks (e.g. the order was cancelled)",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def release(request: Request, hold_id: str, body: ReleaseIn, actor: ActorDep) -> Response:
    command = commands.Release(hold_id=hold_id, reason=body.reason)
    clock = runtime_of(request).clock
    return run_command(request, actor, command, body=body, render=_render(200, clock))


@router.post(
    "/{hold_id}/refunds",
    response_model=HoldOut,
    summary="Refund a captured amount: reduces what the consumer owes",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def refund(request: Request, hold_id: str, body: RefundIn, actor: ActorDep) -> Response:
    command = commands.Refund(hold_id=hold_id, amount=Money(body.amount), reason=body.reason)
    clock = runtime_of(request).clock
    return run_command(request, actor, command, body=body, render=_render(200, clock))
