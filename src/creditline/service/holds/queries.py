"""Read models of holds: each hold's effective status at `now`, what it waits for, its
timeline, and an account's holds.

A pending hold past its deadline is shown as expired, exactly as the next decision will
treat it. Reads take no locks and write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.hold import Hold, HoldEvent, HoldStatus
from creditline.domain.money import ZERO, Money
from creditline.service.access import Actor, Role, visible_account, visible_hold
from creditline.service.pages import Page
from creditline.service.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class HoldView:
    hold: Hold
    status: HoldStatus
    """The effective status at `now`."""
    open_amount: Money
    events: tuple[HoldEvent, ...]
    waiting_for: str | None
    """For a pending hold: what will release it, in words for the consumer."""


def waiting_for(hold: Hold, status: HoldStatus) -> str | None:
    if status is not HoldStatus.PENDING:
        return None
    latest = hold.expires_at.isoformat()
    if hold.captured.is_positive():
        return (
            f"{hold.amount - hold.captured} still locked: captured as the rest of the order "
            f"ships, released if it is cancelled, and released automatically at {latest}"
        )
    return (
        "locked until the merchant ships the order (then it is charged) or cancels it "
        f"(then it is released); released automatically at {latest} at the latest"
    )


def get_hold(uow: UnitOfWork, actor: Actor, hold_id: str, now: datetime) -> HoldView:
    hold = uow.holds.get(hold_id)
    account = uow.accounts.get(hold.account_id) if hold is not None else None
    account, hold = visible_hold(actor, account, hold, hold_id)
    return hold_view(hold, uow.holds.events([hold.id]).get(hold.id, ()), now)


def hold_view(hold: Hold, events: tuple[HoldEvent, ...], now: datetime) -> HoldView:
    status = hold.effective_status(now)
    return HoldView(
        hold=hold,
        status=status,
        open_amount=hold.open_amount if status is HoldStatus.PENDING else ZERO,
        events=events,
        waiting_for=waiting_for(hold, status),
    )


def list_holds(
    uow: UnitOfWork,
    actor: Actor,
    account_id: str,
    *,
    status: HoldStatus | None,
    after: str | None,
    limit: int,
    now: datetime,
) -> Page[HoldView]:
    account = uow.accounts.get(account_id)
    merchant_id = actor.merchant_id if actor.role is Role.MERCHANT else None
    if actor.role is not Role.MERCHANT:
        visible_account(actor, account, account_id)
    elif account is None or account.platform_id != actor.platform_id:
        visible_account(actor, None, account_id)
    page = uow.holds.list_for_account(
        account_id, status=status, merchant_id=merchant_id, after=after, limit=limit, now=now
    )
    events = uow.holds.events([h.id for h in page.items])
    items = [hold_view(h, events.get(h.id, ()), now) for h in page.items]
    return Page(items=items, next_cursor=page.next_cursor)
