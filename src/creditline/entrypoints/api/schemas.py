"""Request and response bodies of the HTTP API (pydantic v2; they generate the OpenAPI).

Amounts are integers of fen, strictly: 100 is ¥1.00; "100", 100.0 and true are refused
with a validation error naming the field. Ids are prefixed (`acct_`, `hold_`, `je_`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from creditline.domain.account import DEFAULT_TIER, AccountAction, AccountStatus
from creditline.domain.hold import HoldEventKind, HoldStatus
from creditline.domain.ledger import EntryKind, JournalEntry, LedgerAccount
from creditline.domain.limits import HOLD_TTL_S_MAX, HOLD_TTL_S_MIN
from creditline.entrypoints.api.body import (
    TIER,
    Fen,
    In,
    LimitFen,
    ObjectId,
    Out,
    Reason,
    Text,
)
from creditline.entrypoints.api.risk_schemas import SignalsIn
from creditline.service.accounts.queries import AccountView
from creditline.service.holds.queries import HoldView


class OpenAccountIn(In):
    external_ref: Text = Field(description="The platform's own id for this consumer")
    credit_limit: LimitFen
    platform_id: ObjectId | None = Field(None, description="Operators only: whose account")
    tier: TIER = Field(DEFAULT_TIER, description="The risk policy's tier for this account")
    real_name_verified: bool = Field(True, description="Whether the platform verified the ID")


class AccountStatusIn(In):
    action: AccountAction
    reason: Reason


class AuthorizeIn(SignalsIn):
    account_id: ObjectId
    order_id: Text
    amount: Fen
    merchant_id: ObjectId | None = Field(
        None, description="Required with a platform key; a merchant key acts as itself"
    )
    ttl_s: Annotated[int, Field(strict=True, ge=HOLD_TTL_S_MIN, le=HOLD_TTL_S_MAX)] | None = Field(
        None, description="Hold lifetime in seconds; defaults to the merchant's (7 days)"
    )
    description: Annotated[str, Field(max_length=500)] | None = None
    challenge_id: ObjectId | None = Field(
        None, description="Retry of a challenged payment: the challenge it answers"
    )
    verification_token: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="The verifier's token proving the consumer passed the challenge"
    )


class CaptureIn(In):
    amount: Fen
    final: bool = Field(False, description="Release whatever is left after this capture")
    force: bool = Field(False, description="Capture even though the hold expired (flagged)")
    reason: Reason | None = Field(None, description="Required with force and for operators")


class ReleaseIn(In):
    reason: Reason | None = None


class RefundIn(In):
    amount: Fen
    reason: Reason | None = None


class RepaymentIn(In):
    amount: Fen
    reference: Text | None = Field(None, description="The payment channel's reference")


class AccountOut(Out):
    id: str
    platform_id: str
    external_ref: str
    status: AccountStatus
    currency: str = "CNY"
    credit_limit: int
    used: int
    locked: int = Field(description="Held by open holds (expired holds excluded)")
    available: int = Field(description="limit − used − locked, never below zero")
    credit_balance: int = Field(description="Owed back to the consumer")
    over_limit: int = Field(description="How far a forced capture pushed past the limit")
    last_forced_capture_at: datetime | None
    tier: str = Field(description="The risk policy's tier")
    real_name_verified: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: AccountView) -> AccountOut:
        a = view.account
        return cls.model_construct(
            id=a.id,
            platform_id=a.platform_id,
            external_ref=a.external_ref,
            status=a.status,
            credit_limit=a.credit_limit.fen,
            used=a.used.fen,
            locked=view.locked.fen,
            available=view.available.fen,
            credit_balance=a.credit_balance.fen,
            over_limit=view.over_limit.fen,
            last_forced_capture_at=a.last_forced_capture_at,
            tier=a.tier,
            real_name_verified=a.real_name_verified,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class TimelineItem(Out):
    kind: str = Field(
        description="authorized, captured, released, expired, force_captured, refunded"
    )
    amount: int
    at: datetime
    actor: str | None = None
    reason: str | None = None
    entry_id: str | None = None


class HoldOut(Out):
    id: str
    account_id: str
    merchant_id: str
    order_id: str
    status: HoldStatus = Field(
        description="Effective status: a pending hold past its deadline is reported expired"
    )
    amount: int
    open_amount: int = Field(description="Still locked")
    captured: int
    released: int
    refunded: int
    forced: int = Field(description="Captured after expiry")
    description: str | None
    created_at: datetime
    expires_at: datetime = Field(description="Released automatically at this time at the latest")
    resolved_at: datetime | None
    waiting_for: str | None = Field(description="What will release a pending hold")

    @classmethod
    def of(cls, view: HoldView) -> HoldOut:
        return cls.model_construct(**_hold_fields(view))


class HoldDetailOut(HoldOut):
    timeline: list[TimelineItem]

    @classmethod
    def of(cls, view: HoldView) -> HoldDetailOut:
        h = view.hold
        timeline = [
            TimelineItem.model_construct(kind="authorized", amount=h.amount.fen, at=h.created_at)
        ]
        timeline += [
            TimelineItem.model_construct(
                kind=e.kind.value,
                amount=e.amount.fen,
                at=e.at,
                actor=e.actor,
                reason=e.reason,
                entry_id=e.entry_id,
            )
            for e in view.events
        ]
        if view.status is HoldStatus.EXPIRED and h.status is HoldStatus.PENDING:
            timeline.append(
                TimelineItem.model_construct(
                    kind=HoldEventKind.EXPIRED.value,
                    amount=view.hold.open_amount.fen,
                    at=h.expires_at,
                    reason="deadline passed; release pending",
                )
            )
        return cls.model_construct(**_hold_fields(view), timeline=timeline)


def _hold_fields(view: HoldView) -> dict[str, Any]:
    h = view.hold
    return {
        "id": h.id,
        "account_id": h.account_id,
        "merchant_id": h.merchant_id,
        "order_id": h.order_id,
        "status": view.status,
        "amount": h.amount.fen,
        "open_amount": view.open_amount.fen,
        "captured": h.captured.fen,
        "released": h.released.fen,
        "refunded": h.refunded.fen,
        "forced": h.forced.fen,
        "description": h.description,
        "created_at": h.created_at,
        "expires_at": h.expires_at,
        "resolved_at": h.resolved_at,
        "waiting_for": view.waiting_for,
    }


class PostingOut(Out):
    ledger_account: LedgerAccount
    amount: int = Field(description="Debit positive, credit negative")
    counterparty: str | None


class JournalEntryOut(Out):
    id: str
    account_id: str
    kind: EntryKind
    amount: int
    hold_id: str | None
    forced: bool
    memo: str | None
    at: datetime
    postings: list[PostingOut]

    @classmethod
    def of(cls, entry: JournalEntry) -> JournalEntryOut:
        return cls.model_construct(
            id=entry.id,
            account_id=entry.account_id,
            kind=entry.kind,
            amount=entry.amount.fen,
            hold_id=entry.hold_id,
            forced=entry.forced,
            memo=entry.memo,
            at=entry.at,
            postings=[
                PostingOut.model_construct(
                    ledger_account=p.ledger_account,
                    amount=p.amount.fen,
                    counterparty=p.counterparty,
                )
                for p in entry.postings
            ],
        )


class RepaymentOut(Out):
    entry: JournalEntryOut
    account: AccountOut


class AccountPage(Out):
    items: list[AccountOut]
    next_cursor: str | None


class HoldPage(Out):
    items: list[HoldDetailOut]
    next_cursor: str | None


class JournalPage(Out):
    items: list[JournalEntryOut]
    next_cursor: str | None
