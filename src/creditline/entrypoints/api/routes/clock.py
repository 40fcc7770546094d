"""The development clock over HTTP: read it, move it forward (operators only).

Registered only when the server runs the movable clock (development mode); anywhere else
`/v1/clock` does not exist and answers 404 like any unknown path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, Field, model_validator

from creditline.adapters.db.dev_clock import MovableClock
from creditline.domain.errors import ClockMoveInvalid
from creditline.entrypoints.api.body import In, Out
from creditline.entrypoints.api.deps import ActorDep, runtime_of
from creditline.entrypoints.api.openapi import no_idempotency_key, problem_responses
from creditline.service.access import Role, require_role

router = APIRouter(prefix="/v1/clock", tags=["development"])

ADVANCE_S_MAX = 10 * 366 * 86_400
"""The most one move may jump: ten years."""


class ClockOut(Out):
    now: datetime = Field(description="The engine's time (UTC)")
    ahead_s: float = Field(description="How far ahead of the wall clock it runs")


class MoveClockIn(In):
    advance_s: Annotated[int, Field(strict=True, gt=0, le=ADVANCE_S_MAX)] | None = Field(
        None, description="Move forward this many seconds"
    )
    to: AwareDatetime | None = Field(None, description="…or to this time (not before now)")

    @model_validator(mode="after")
    def _one_way(self) -> MoveClockIn:
        if (self.advance_s is None) == (self.to is None):
            raise ValueError("give exactly one of advance_s and to")
        return self


def _clock(request: Request) -> MovableClock:
    clock = runtime_of(request).clock
    assert isinstance(clock, MovableClock)
    return clock


def _out(clock: MovableClock) -> ClockOut:
    return ClockOut.model_construct(now=clock.now(), ahead_s=clock.offset().total_seconds())


@router.get(
    "", response_model=ClockOut, summary="The development clock", responses=problem_responses(403)
)
def read_clock(request: Request, actor: ActorDep) -> ClockOut:
    require_role(actor, Role.OPERATOR)
    return _out(_clock(request))


@router.post(
    "",
    response_model=ClockOut,
    summary="Move the development clock forward (operators; development mode only)",
    openapi_extra=no_idempotency_key("moving to a time is the same move twice; an advance is not"),
    responses=problem_responses(403),
)
def move_clock(request: Request, body: MoveClockIn, actor: ActorDep) -> ClockOut:
    require_role(actor, Role.OPERATOR)
    clock = _clock(request)
    try:
        if body.advance_s is not None:
            clock.advance(timedelta(seconds=body.advance_s))
        else:
            assert body.to is not None
            clock.set(body.to)
    except ValueError as error:
        raise ClockMoveInvalid(str(error)) from None
    return _out(clock)
