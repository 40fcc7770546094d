"""Credit accounts: open, read, change status, repay, list holds and journal entries."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from creditline.domain.hold import HoldStatus
from creditline.domain.money import Money
from creditline.entrypoints.api.deps import ActorDep, runtime_of
from creditline.entrypoints.api.event_schemas import NotificationOut, NotificationPage
from creditline.entrypoints.api.openapi import (
    IDEMPOTENCY_HEADER_DOC,
    problem_responses,
)
from creditline.entrypoints.api.respond import renderer, run_command
from creditline.entrypoints.api.schemas import (
    AccountOut,
    AccountPage,
    AccountStatusIn,
    HoldDetailOut,
    HoldPage,
    JournalEntryOut,
    JournalPage,
    OpenAccountIn,
    RepaymentIn,
    RepaymentOut,
)
from creditline.service import commands
from creditline.service.access import visible_account
from creditline.service.accounts import queries as accounts
from creditline.service.accounts.handlers import Repayment
from creditline.service.accounts.queries import AccountView
from creditline.service.holds import queries as holds
from creditline.service.pages import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]
Cursor = Annotated[str | None, Query(max_length=64, description="next_cursor of the last page")]


def _account(view: AccountView) -> AccountOut:
    return AccountOut.of(view)


def _repayment(result: Repayment) -> RepaymentOut:
    return RepaymentOut(
        entry=JournalEntryOut.of(result.entry), account=AccountOut.of(result.account)
    )


@router.post(
    "",
    status_code=201,
    response_model=AccountOut,
    summary="Open a credit account",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def open_account(request: Request, body: OpenAccountIn, actor: ActorDep) -> Response:
    command = commands.OpenAccount(
        external_ref=body.external_ref,
        credit_limit=Money(body.credit_limit),
        platform_id=body.platform_id,
        tier=body.tier,
        real_name_verified=body.real_name_verified,
    )
    return run_command(request, actor, command, body=body, render=renderer(201, _account))


@router.get(
    "",
    response_model=AccountPage,
    summary="List accounts (platform, operator)",
    responses=problem_responses(403),
)
def list_accounts(
    request: Request, actor: ActorDep, limit: Limit = PAGE_SIZE_DEFAULT, after: Cursor = None
) -> AccountPage:
    runtime = runtime_of(request)
    with runtime.uow_factory(write=False) as uow:
        page = accounts.list_accounts(uow, actor, after=after, limit=limit, now=runtime.clock.now())
    return AccountPage(items=[AccountOut.of(v) for v in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{account_id}",
    response_model=AccountOut,
    summary="An account with its balances",
    responses=problem_responses(404),
)
def get_account(request: Request, account_id: str, actor: ActorDep) -> AccountOut:
    runtime = runtime_of(request)
    with runtime.uow_factory(write=False) as uow:
        return AccountOut.of(accounts.get_account(uow, actor, account_id, runtime.clock.now()))


@router.post(
    "/{account_id}/status",
    response_model=AccountOut,
    summary="Freeze, unfreeze, suspend, reinstate or close (audited)",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def change_status(
    request: Request, account_id: str, body: AccountStatusIn, actor: ActorDep
) -> Response:
    command = commands.ChangeAccountStatus(
        account_id=account_id, action=body.action, reason=body.reason
    )
    return run_command(request, actor, command, body=body, render=renderer(200, _account))


@router.post(
    "/{account_id}/repayments",
    status_code=201,
    response_model=RepaymentOut,
    summary="Repay: reduces used, so the credit is available again",
    openapi_extra=IDEMPOTENCY_HEADER_DOC,
    responses=problem_responses(400, 403, 404, 409),
)
def repay(request: Request, account_id: str, body: RepaymentIn, actor: ActorDep) -> Response:
    command = commands.Repay(
        account_id=account_id, amount=Money(body.amount), reference=body.reference
    )
    return run_command(request, actor, command, body=body, render=renderer(201, _repayment))


@router.get(
    "/{account_id}/holds",
    response_model=HoldPage,
    summary="The account's holds, newest first, with their timelines",
    responses=problem_responses(404),
)
def list_holds(
    request: Request,
    account_id: str,
    actor: ActorDep,
    status: HoldStatus | None = None,
    limit: Limit = PAGE_SIZE_DEFAULT,
    after: Cursor = None,
) -> HoldPage:
    runtime = runtime_of(request)
    with runtime.uow_factory(write=False) as uow:
        page = holds.list_holds(
            uow, actor, account_id, status=status, after=after, limit=limit, now=runtime.clock.now()
        )
    return HoldPage(items=[HoldDetailOut.of(v) for v in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{account_id}/journal",
    response_model=JournalPage,
    summary="The account's journal entries, newest first",
    responses=problem_responses(404),
)
def list_journal(
    request: Request,
    account_id: str,
    actor: ActorDep,
    limit: Limit = PAGE_SIZE_DEFAULT,
    after: Cursor = None,
) -> JournalPage:
    with runtime_of(request).uow_factory(write=False) as uow:
        page = accounts.list_journal(uow, actor, account_id, after=after, limit=limit)
    return JournalPage(
        items=[JournalEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{account_id}/notifications",
    response_model=NotificationPage,
    summary="The account's notifications (hold created, captured, released, …), newest first",
    responses=problem_responses(404),
)
def list_notifications(
    request: Request,
    account_id: str,
    actor: ActorDep,
    limit: Limit = PAGE_SIZE_DEFAULT,
    after: Cursor = None,
) -> NotificationPage:
    with runtime_of(request).uow_factory(write=False) as uow:
        visible_account(actor, uow.accounts.get(account_id), account_id)
        page = uow.outbox.for_account(account_id, after, limit)
    items = [
        NotificationOut.model_construct(
            id=m.id,
            type=m.type,
            created_at=m.created_at,
            delivery=m.status.value,
            attempts=m.attempts,
            payload=json.loads(m.payload),
        )
        for m in page.items
    ]
    return NotificationPage.model_construct(items=items, next_cursor=page.next_cursor)
