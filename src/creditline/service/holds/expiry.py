"""Expiry: holds past their deadline give their credit back, lazily and by the sweeper.

Two paths release an expired hold, and both go through `expire_past_deadline`:

- lazily, inside any command that already holds the account's lock and needs the credit
  (an authorization that would otherwise be declined);
- the sweeper, `sweep`, which releases due holds in expiry order, a bounded batch per
  tick, one short transaction per account. It locks each account with SKIP LOCKED, so
  several sweepers (or a sweeper and busy traffic) never wait on each other, and it
  re-reads the holds under the lock, so a hold is never expired twice.

Reads do not wait for either: they treat a pending hold past its deadline as expired
(`Hold.effective_status`, `HoldStore.expired_open_total`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.account import Account
from creditline.domain.hold import HoldChange, expire
from creditline.service.notifications.outbox import hold_changed
from creditline.service.ports import IdGenerator, UnitOfWork, UnitOfWorkFactory

SWEEP_BATCH_SIZE_DEFAULT = 500
SWEEP_BATCH_SIZE_MAX = 10_000
SWEEP_INTERVAL_S_DEFAULT = 5.0


@dataclass(frozen=True, slots=True)
class SweepResult:
    expired: int
    """Holds released by this sweep."""
    skipped_accounts: int
    """Accounts busy in another transaction; their holds wait for the next tick."""
    more: bool
    """True if the batch was full, so more holds may be due."""


def persist_hold_change(
    uow: UnitOfWork, before: Account, change: HoldChange, *, now: datetime, new_id: IdGenerator
) -> None:
    """Write one domain `HoldChange` — account, hold, events, journal entry and the
    notifications announcing it — together, in the caller's transaction."""
    uow.accounts.save(before, change.account)
    uow.holds.save(change.hold)
    uow.holds.add_events(change.events)
    if change.entry is not None:
        uow.journal.append(change.entry)
    hold_changed(
        uow,
        change.hold,
        change.events,
        platform_id=change.account.platform_id,
        now=now,
        new_id=new_id,
    )


def expire_past_deadline(
    uow: UnitOfWork, account: Account, *, now: datetime, new_id: IdGenerator
) -> tuple[Account, int]:
    """Expire every pending hold of a locked account whose deadline has passed.

    Returns the account as saved and how many holds were expired.
    """
    current = account
    changes = []
    for hold in uow.holds.past_deadline(account.id, now):
        change = expire(current, hold, now=now, event_id=new_id("hev"))
        changes.append(change)
        current = change.account
    if changes:
        uow.accounts.save(account, current)  # the account first: one lock order everywhere
        for change in changes:
            uow.holds.save(change.hold)
            uow.holds.add_events(change.events)
            hold_changed(
                uow,
                change.hold,
                change.events,
                platform_id=account.platform_id,
                now=now,
                new_id=new_id,
            )
    return current, len(changes)


def sweep(
    uow_factory: UnitOfWorkFactory,
    *,
    now: datetime,
    new_id: IdGenerator,
    batch_size: int = SWEEP_BATCH_SIZE_DEFAULT,
) -> SweepResult:
    """Release up to `batch_size` due holds, earliest deadline first."""
    assert 0 < batch_size <= SWEEP_BATCH_SIZE_MAX, batch_size
    with uow_factory(write=False) as uow:
        due = uow.holds.due(now, batch_size)
    accounts = list(dict.fromkeys(account_id for _, account_id in due))
    expired = 0
    skipped = 0
    for account_id in accounts:
        with uow_factory(write=True) as uow:
            account = uow.accounts.lock(account_id, skip_locked=True)
            if account is None:
                skipped += 1
                continue
            _, count = expire_past_deadline(uow, account, now=now, new_id=new_id)
            uow.commit()
        expired += count
    return SweepResult(expired=expired, skipped_accounts=skipped, more=len(due) == batch_size)
