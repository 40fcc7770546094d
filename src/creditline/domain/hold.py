"""Holds: two-phase payments that lock credit until the order ships or is cancelled.

A hold is a pending transfer (TigerBeetle's two-phase transfers). Its lifecycle is one
table, `HOLD_TRANSITIONS`:

    pending ──capture──────────▶ pending    a partial capture; the rest stays locked
    pending ──capture_final────▶ captured   the rest, if any, is released
    pending ──release──────────▶ released
    pending ──expire───────────▶ expired    its deadline passed (sweeper, or lazily)
    expired ──force_capture────▶ captured   a late capture, flagged on account and journal

Any other move is refused with a named error taken from the hold's current status
(`hold_already_captured`, `hold_already_released`, `hold_already_expired`). Each capture,
release, expiry and refund is a new immutable `HoldEvent` pointing at the hold.

A pending hold whose `expires_at` has passed is *effectively* expired for every read and
every decision, whether or not the sweeper has reached it: a plain capture is refused
(`hold_expired`), a release is answered `hold_already_expired`, and its amount counts as
available again.

Amounts on a hold (all `Money`): `captured` and `released` grow until
captured − forced + released = amount, which is exactly when the hold is finished;
`refunded` ≤ captured. While pending, open = amount − captured is what the hold locks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from creditline.domain.account import Account, check_can_spend, with_balances
from creditline.domain.errors import (
    CaptureExceedsHold,
    HoldAlreadyCaptured,
    HoldAlreadyExpired,
    HoldAlreadyReleased,
    HoldExpired,
    HoldNotPending,
    InvalidAmount,
    InvalidHoldTtl,
)
from creditline.domain.ledger import (
    EntryKind,
    JournalEntry,
    build_entry,
    capture_postings,
)
from creditline.domain.limits import AMOUNT_MAX, HOLD_TTL_S_MAX, HOLD_TTL_S_MIN
from creditline.domain.money import ZERO, Money


class HoldStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class HoldAction(StrEnum):
    CAPTURE = "capture"
    CAPTURE_FINAL = "capture_final"
    RELEASE = "release"
    SETTLE = "settle"
    EXPIRE = "expire"
    FORCE_CAPTURE = "force_capture"


HOLD_TRANSITIONS: Mapping[tuple[HoldStatus, HoldAction], HoldStatus] = {
    (HoldStatus.PENDING, HoldAction.CAPTURE): HoldStatus.PENDING,
    (HoldStatus.PENDING, HoldAction.CAPTURE_FINAL): HoldStatus.CAPTURED,
    (HoldStatus.PENDING, HoldAction.RELEASE): HoldStatus.RELEASED,
    (HoldStatus.PENDING, HoldAction.SETTLE): HoldStatus.CAPTURED,
    (HoldStatus.PENDING, HoldAction.EXPIRE): HoldStatus.EXPIRED,
    (HoldStatus.EXPIRED, HoldAction.FORCE_CAPTURE): HoldStatus.CAPTURED,
}
"""Every allowed hold move; anything else is refused by `transition`."""

_ALREADY: Mapping[HoldStatus, type[HoldNotPending]] = {
    HoldStatus.CAPTURED: HoldAlreadyCaptured,
    HoldStatus.RELEASED: HoldAlreadyReleased,
    HoldStatus.EXPIRED: HoldAlreadyExpired,
}


class HoldEventKind(StrEnum):
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"
    FORCE_CAPTURED = "force_captured"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    account_id: str
    merchant_id: str
    order_id: str
    amount: Money
    captured: Money
    released: Money
    refunded: Money
    forced: Money
    status: HoldStatus
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        assert self.amount.is_positive(), self
        settled = self.captured - self.forced + self.released
        assert settled <= self.amount, self
        assert (settled == self.amount) == (self.status is not HoldStatus.PENDING), self
        assert ZERO <= self.refunded <= self.captured, self

    @property
    def open_amount(self) -> Money:
        """What the hold still locks in the account's `locked` balance."""
        return self.amount - self.captured if self.status is HoldStatus.PENDING else ZERO

    def is_past_deadline(self, now: datetime) -> bool:
        return self.status is HoldStatus.PENDING and now >= self.expires_at

    def effective_status(self, now: datetime) -> HoldStatus:
        """The status every read reports: a pending hold past its deadline is expired."""
        return HoldStatus.EXPIRED if self.is_past_deadline(now) else self.status


@dataclass(frozen=True, slots=True)
class Stamp:
    """When an action on a hold happens, who did it and why (for its event record)."""

    at: datetime
    actor: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class HoldEvent:
    """One immutable record of something that happened to a hold."""

    id: str
    hold_id: str
    account_id: str
    kind: HoldEventKind
    amount: Money
    at: datetime
    entry_id: str | None = None
    actor: str | None = None
    reason: str | None = None

    @classmethod
    def of(
        cls,
        event_id: str,
        hold: Hold,
        kind: HoldEventKind,
        amount: Money,
        stamp: Stamp,
        entry_id: str | None = None,
    ) -> HoldEvent:
        return cls(
            id=event_id,
            hold_id=hold.id,
            account_id=hold.account_id,
            kind=kind,
            amount=amount,
            at=stamp.at,
            entry_id=entry_id,
            actor=stamp.actor,
            reason=stamp.reason,
        )


@dataclass(frozen=True, slots=True)
class HoldChange:
    """The outcome of acting on a hold: what to write, all in one transaction."""

    account: Account
    hold: Hold
    events: tuple[HoldEvent, ...]
    entry: JournalEntry | None = None


@dataclass(frozen=True, slots=True)
class EventIds:
    """Fresh ids for the records one hold action may create (the domain makes no ids).

    Ids sort in creation order, so the event that happens first takes `first_event`.
    """

    first_event: str
    second_event: str
    entry: str


def transition(status: HoldStatus, action: HoldAction) -> HoldStatus:
    target = HOLD_TRANSITIONS.get((status, action))
    if target is None:
        error = _ALREADY.get(status)
        assert error is not None, (status, action)
        raise error(f"the hold is already {status.value}", status=status.value)
    return target


def check_amount(amount: Money) -> None:
    if not amount.is_positive() or amount > AMOUNT_MAX:
        raise InvalidAmount(
            f"amount must be between ¥0.01 and {AMOUNT_MAX}, got {amount}",
            amount=amount,
            amount_max=AMOUNT_MAX,
        )


def place_hold(
    account: Account,
    *,
    hold_id: str,
    merchant_id: str,
    order_id: str,
    amount: Money,
    ttl_s: int,
    now: datetime,
    description: str | None = None,
) -> tuple[Account, Hold]:
    """Authorize: lock `amount` of the account's available credit until capture or expiry,
    and count it toward today's and this month's spending (the period limits)."""
    check_amount(amount)
    if not HOLD_TTL_S_MIN <= ttl_s <= HOLD_TTL_S_MAX:
        raise InvalidHoldTtl(
            f"hold lifetime must be between {HOLD_TTL_S_MIN} s and {HOLD_TTL_S_MAX} s, "
            f"got {ttl_s} s",
            ttl_s=ttl_s,
            ttl_s_min=HOLD_TTL_S_MIN,
            ttl_s_max=HOLD_TTL_S_MAX,
        )
    check_can_spend(account, amount)
    hold = Hold(
        id=hold_id,
        account_id=account.id,
        merchant_id=merchant_id,
        order_id=order_id,
        amount=amount,
        captured=ZERO,
        released=ZERO,
        refunded=ZERO,
        forced=ZERO,
        status=HoldStatus.PENDING,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        description=description,
    )
    after = with_balances(account, now=now, locked=account.locked + amount)
    return replace(after, spend=account.spend.plus(amount, now)), hold


def capture(
    account: Account,
    hold: Hold,
    *,
    amount: Money,
    final: bool,
    force: bool,
    stamp: Stamp,
    ids: EventIds,
) -> HoldChange:
    """Turn (part of) a hold into used credit; a final capture releases the rest."""
    check_same_account(account, hold)
    check_amount(amount)
    now = stamp.at
    if hold.status is HoldStatus.EXPIRED or hold.is_past_deadline(now):
        if not force:
            raise HoldExpired(
                f"the hold expired at {hold.expires_at.isoformat()}; "
                "a capture after expiry needs the force flag",
                expires_at=hold.expires_at.isoformat(),
            )
        return _force_capture(account, hold, amount=amount, stamp=stamp, ids=ids)
    is_final = final or amount == hold.open_amount
    status = transition(hold.status, HoldAction.CAPTURE_FINAL if is_final else HoldAction.CAPTURE)
    if amount > hold.open_amount:
        raise CaptureExceedsHold(
            f"capture of {amount} is more than the {hold.open_amount} still held",
            amount=amount,
            open_amount=hold.open_amount,
        )
    rest = hold.open_amount - amount if is_final else ZERO
    entry = build_entry(
        entry_id=ids.entry,
        account_id=account.id,
        kind=EntryKind.CAPTURE,
        postings=capture_postings(amount, hold.merchant_id),
        at=now,
        hold_id=hold.id,
    )
    events = [HoldEvent.of(ids.first_event, hold, HoldEventKind.CAPTURED, amount, stamp, entry.id)]
    if rest.is_positive():
        released = replace(stamp, reason="final capture releases the rest")
        events.append(HoldEvent.of(ids.second_event, hold, HoldEventKind.RELEASED, rest, released))
    new_account = with_balances(
        account, now=now, used=account.used + amount, locked=account.locked - amount - rest
    )
    new_hold = replace(
        hold,
        captured=hold.captured + amount,
        released=hold.released + rest,
        status=status,
        resolved_at=now if status is not HoldStatus.PENDING else None,
    )
    return HoldChange(new_account, new_hold, tuple(events), entry)


def _force_capture(
    account: Account, hold: Hold, *, amount: Money, stamp: Stamp, ids: EventIds
) -> HoldChange:
    """A capture after expiry: never lost, may exceed the limit, flagged everywhere."""
    now = stamp.at
    events: tuple[HoldEvent, ...] = ()
    if hold.status is HoldStatus.PENDING:
        expired = expire(account, hold, now=now, event_id=ids.first_event)
        account, hold, events = expired.account, expired.hold, expired.events
    status = transition(hold.status, HoldAction.FORCE_CAPTURE)
    capturable = hold.amount - hold.captured
    if amount > capturable:
        raise CaptureExceedsHold(
            f"forced capture of {amount} is more than the {capturable} the hold had left",
            amount=amount,
            open_amount=capturable,
        )
    entry = build_entry(
        entry_id=ids.entry,
        account_id=account.id,
        kind=EntryKind.FORCE_CAPTURE,
        postings=capture_postings(amount, hold.merchant_id),
        at=now,
        hold_id=hold.id,
        forced=True,
        memo=stamp.reason,
    )
    event = HoldEvent.of(
        ids.second_event, hold, HoldEventKind.FORCE_CAPTURED, amount, stamp, entry.id
    )
    new_account = with_balances(account, now=now, used=account.used + amount, forced=True)
    new_hold = replace(
        hold,
        captured=hold.captured + amount,
        forced=hold.forced + amount,
        status=status,
        resolved_at=now,
    )
    return HoldChange(new_account, new_hold, (*events, event), entry)


def release(account: Account, hold: Hold, *, stamp: Stamp, event_id: str) -> HoldChange:
    """Give the hold's open amount back to available credit (e.g. order cancelled)."""
    check_same_account(account, hold)
    status = transition(hold.effective_status(stamp.at), HoldAction.RELEASE)
    return _give_back(account, hold, status, HoldEventKind.RELEASED, stamp, event_id)


def settle(account: Account, hold: Hold, *, stamp: Stamp, event_id: str) -> HoldChange:
    """Close a partly captured hold (order delivered): release the rest, read captured."""
    check_same_account(account, hold)
    assert hold.captured.is_positive(), hold
    status = transition(hold.effective_status(stamp.at), HoldAction.SETTLE)
    return _give_back(account, hold, status, HoldEventKind.RELEASED, stamp, event_id)


def expire(account: Account, hold: Hold, *, now: datetime, event_id: str) -> HoldChange:
    """Release a hold whose deadline has passed (the sweeper, or lazily)."""
    check_same_account(account, hold)
    assert hold.is_past_deadline(now), (hold, now)
    status = transition(hold.status, HoldAction.EXPIRE)
    stamp = Stamp(now, actor="system", reason="deadline passed")
    return _give_back(account, hold, status, HoldEventKind.EXPIRED, stamp, event_id)


def _give_back(
    account: Account,
    hold: Hold,
    status: HoldStatus,
    kind: HoldEventKind,
    stamp: Stamp,
    event_id: str,
) -> HoldChange:
    rest = hold.open_amount
    new_account = with_balances(account, now=stamp.at, locked=account.locked - rest)
    new_hold = replace(hold, released=hold.released + rest, status=status, resolved_at=stamp.at)
    event = HoldEvent.of(event_id, hold, kind, rest, stamp)
    return HoldChange(new_account, new_hold, (event,))


def check_same_account(account: Account, hold: Hold) -> None:
    assert account.id == hold.account_id, (account.id, hold.account_id)
