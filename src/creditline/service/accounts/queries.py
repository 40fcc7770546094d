"""Read models of accounts: balances as of `now` (expired holds counted as available),
the account list, the journal.

Reads never wait for the sweeper, take no locks and write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.account import Account
from creditline.domain.ledger import JournalEntry
from creditline.domain.money import ZERO, Money
from creditline.service.access import Actor, Role, visible_account
from creditline.service.pages import Page
from creditline.service.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class AccountView:
    account: Account
    locked: Money
    """Locked by holds that are still open at `now` (expired ones excluded)."""
    available: Money
    over_limit: Money
    """How far a forced capture pushed used + locked over the limit (zero normally)."""


def view_account(account: Account, expired_open: Money) -> AccountView:
    locked = account.locked - expired_open
    assert locked.fen >= 0, (account, expired_open)
    headroom = account.credit_limit - account.used - locked
    return AccountView(
        account=account,
        locked=locked,
        available=headroom if headroom.is_positive() else ZERO,
        over_limit=-headroom if headroom.is_negative() else ZERO,
    )


def get_account(uow: UnitOfWork, actor: Actor, account_id: str, now: datetime) -> AccountView:
    account = visible_account(actor, uow.accounts.get(account_id), account_id)
    expired = uow.holds.expired_open_totals([account.id], now)
    return view_account(account, expired.get(account.id, ZERO))


def list_accounts(
    uow: UnitOfWork, actor: Actor, *, after: str | None, limit: int, now: datetime
) -> Page[AccountView]:
    if actor.role not in (Role.PLATFORM, Role.OPERATOR):
        return Page(items=[], next_cursor=None)
    platform_id = actor.platform_id if actor.role is Role.PLATFORM else None
    page = uow.accounts.list(platform_id, after, limit)
    expired = uow.holds.expired_open_totals([a.id for a in page.items], now)
    items = [view_account(a, expired.get(a.id, ZERO)) for a in page.items]
    return Page(items=items, next_cursor=page.next_cursor)


def list_journal(
    uow: UnitOfWork, actor: Actor, account_id: str, *, after: str | None, limit: int
) -> Page[JournalEntry]:
    visible_account(actor, uow.accounts.get(account_id), account_id)
    return uow.journal.list_for_account(account_id, after, limit)
