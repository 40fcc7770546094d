"""Risk: would this payment pass (dry run), an account's decision log, its risk profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from creditline.domain.errors import Forbidden
from creditline.domain.money import Money
from creditline.entrypoints.api.deps import ActorDep, runtime_of
from creditline.entrypoints.api.openapi import (
    IDEMPOTENCY_HEADER_DOC,
    no_idempotency_key,
    problem_responses,
)
from creditline.entrypoints.api.problems import CONTENT_LANGUAGE, language_of
from creditline.entrypoints.api.respond import renderer, run_command
from creditline.entrypoints.api.risk_schemas import (
    DecisionOut,
    DecisionPage,
    ExplainIn,
    ExplainOut,
    RiskProfileIn,
)
from creditline.entrypoints.api.schemas import AccountOut
from creditline.service import commands
from creditline.service.risk.queries import DECISIONS_PAGE_MAX, account_decisions, explain_payment

router = APIRouter(prefix="/v1/accounts", tags=["risk"])

Limit = Annotated[int, Query(ge=1, le=DECISIONS_PAGE_MAX)]
Cursor = Annotated[str | None, Query(max_length=64, description="next_cursor of the last page")]


@router.post(
    "/{account_id}/explain",
    response_model=ExplainOut,
    summary="Would this payment pass, and if not, why? The risk pipeline as a dry run",
    openapi_extra=no_idempotency_key("a dry run writes nothing, so a retry cannot do it twice"),
    responses=problem_responses(403, 404),
)
def explain(
    request: Request, account_id: str, body: ExplainIn, actor: ActorDep, response: Response
) -> ExplainOut:
    """The same pipeline as authorization, on the same state, with nothing written: the
    action it would take, every reason with its numbers, message and remedy (in the
    language of Accept-Language). A dry run changes nothing, so it needs no
    Idempotency-Key."""
    runtime = runtime_of(request)
    if runtime.risk is None:
        raise Forbidden("risk control is off on this server (CREDITLINE_RISK_ENABLED=false)")
    command = commands.ExplainPayment(
        account_id=account_id,
        amount=Money(body.amount),
        merchant_id=body.merchant_id,
        signals=body.signals(),
    )
    with runtime.uow_factory(write=False) as uow:
        found = explain_payment(uow, runtime.bus.context(actor), runtime.risk, command)
    language = language_of(request)
    response.headers[CONTENT_LANGUAGE] = language
    return ExplainOut.of(found, language)


@router.get(
    "/{account_id}/decisions",
    response_model=DecisionPage,
    summary="The account's risk decisions, newest first (platform, operator)",
    responses=problem_responses(403, 404),
)
def decisions(
    request: Request, account_id: str, actor: ActorDep, limit: Limit = 50, after: Cursor = None
) -> DecisionPage:
    runtime = runtime_of(request)
    with runtime.uow_factory(write=False) as uow:
        page = account_decisions(uow, runtime.bus.context(actor), account_id, after, limit)
    return DecisionPage.model_construct(
        items=[DecisionOut.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/{account_id}/risk-profile",
    response_model=AccountOut,
    summary="Set the account's risk tier and real-name status (audited)",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def risk_profile(
    request: Request, account_id: str, body: RiskProfileIn, actor: ActorDep
) -> Response:
    command = commands.SetRiskProfile(
        account_id=account_id, tier=body.tier, real_name_verified=body.real_name_verified
    )
    return run_command(request, actor, command, body=body, render=renderer(200, AccountOut.of))
