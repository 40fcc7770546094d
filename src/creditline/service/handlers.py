"""One handler per command: check who may do it, read, apply the domain rule, persist.

Every handler runs inside one unit of work opened by `CommandBus`; it never commits
itself, so a refusal anywhere leaves the database untouched. A handler reads its
account without a lock and the write-back checks the account's version; in careful
mode (the bus's second attempt) it locks the account row first (see `ports.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from creditline.domain import hold as holds
from creditline.domain.account import Account, apply_status_action, open_account
from creditline.domain.errors import (
    AccountExists,
    AccountNotActive,
    Declined,
    InsufficientCredit,
    InvalidAmount,
    OrderHasOpenHold,
    PlatformNotFound,
)
from creditline.domain.hold import Hold
from creditline.domain.ledger import JournalEntry
from creditline.domain.limits import CREDIT_LIMIT_MAX
from creditline.domain.money import ZERO
from creditline.domain.refund import refund as refund_hold
from creditline.domain.repayment import repay as repay_account
from creditline.service import commands, notifications, risk
from creditline.service.access import (
    Role,
    require_reason,
    require_role,
    visible_account,
    visible_hold,
)
from creditline.service.audit import audit
from creditline.service.context import Context
from creditline.service.expiry import expire_past_deadline, persist_hold_change
from creditline.service.ports import UnitOfWork
from creditline.service.queries import AccountView, view_account
from creditline.service.risk_queries import check_tier, payment_parties


@dataclass(frozen=True, slots=True)
class Repayment:
    account: AccountView
    entry: JournalEntry


def open_credit_account(uow: UnitOfWork, ctx: Context, cmd: commands.OpenAccount) -> AccountView:
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    platform_id = ctx.actor.platform_id if ctx.actor.role is Role.PLATFORM else cmd.platform_id
    if platform_id is None or uow.directory.get_platform(platform_id) is None:
        raise PlatformNotFound(f"no platform {platform_id}", platform_id=platform_id)
    if not 0 <= cmd.credit_limit.fen <= CREDIT_LIMIT_MAX.fen:
        raise InvalidAmount(
            f"credit limit must be between ¥0.00 and {CREDIT_LIMIT_MAX}",
            amount=cmd.credit_limit,
            amount_max=CREDIT_LIMIT_MAX,
        )
    existing = uow.accounts.find_by_external_ref(platform_id, cmd.external_ref)
    if existing is not None:
        raise AccountExists(
            f"platform {platform_id} already has account {existing.id} for {cmd.external_ref}",
            account_id=existing.id,
        )
    if ctx.risk is not None:
        check_tier(ctx.risk.policy(), cmd.tier)
    account = open_account(
        account_id=ctx.new_id("acct"),
        platform_id=platform_id,
        external_ref=cmd.external_ref,
        credit_limit=cmd.credit_limit,
        now=ctx.now,
        tier=cmd.tier,
        real_name_verified=cmd.real_name_verified,
    )
    uow.accounts.add(account)
    return view_account(account, ZERO)


def change_account_status(
    uow: UnitOfWork, ctx: Context, cmd: commands.ChangeAccountStatus
) -> AccountView:
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    reason = require_reason(cmd.reason, f"{cmd.action.value} of an account")
    account = visible_account(ctx.actor, _account(uow, ctx, cmd.account_id), cmd.account_id)
    changed = apply_status_action(account, cmd.action, now=ctx.now)
    uow.accounts.save(account, changed)
    audit(uow, ctx, f"account.{cmd.action.value}", account.id, reason)
    return _view(uow, ctx, changed)


def authorize(uow: UnitOfWork, ctx: Context, cmd: commands.Authorize) -> Hold:
    """Place a hold. An order may have only one pending hold on an account.

    The first attempt does not look for an existing hold of the order: the database's
    unique index refuses a second one at commit, and the bus runs the command again with
    `ctx.careful`, which looks first — to release it if it is past its deadline, or to
    refuse with the id of the hold that is still open.

    Whether the payment fits the credit is known before the risk rules run (expired holds
    count as available: they are released first), so a payment that cannot fit is refused
    for that, never first sent through a step-up verification it could not use.
    """
    require_role(ctx.actor, Role.PLATFORM, Role.MERCHANT)
    if ctx.risk is not None:
        risk.prefetch(ctx.risk, uow, ctx, cmd.account_id, cmd.signals)
    merchant, account = payment_parties(uow, ctx, cmd.account_id, cmd.merchant_id, _account)
    if ctx.careful:
        account = _clear_order(uow, ctx, account, cmd.order_id)
    ttl_s = merchant.hold_ttl_s if cmd.ttl_s is None else cmd.ttl_s

    def place(current: Account) -> tuple[Account, Hold]:
        return holds.place_hold(
            current,
            hold_id=ctx.new_id("hold"),
            merchant_id=merchant.id,
            order_id=cmd.order_id,
            amount=cmd.amount,
            ttl_s=ttl_s,
            now=ctx.now,
            description=cmd.description,
        )

    refusal: Declined | None = None
    try:
        after, hold = place(account)
    except InsufficientCredit:
        # Expired holds count as available: release them now and decide again.
        account, _ = expire_past_deadline(uow, account, now=ctx.now, new_id=ctx.new_id)
        try:
            after, hold = place(account)
        except InsufficientCredit as still:
            refusal = still
    except AccountNotActive as inactive:
        refusal = inactive
    passed = None
    if ctx.risk is not None:
        passed = risk.gate(
            ctx.risk,
            uow,
            ctx,
            account,
            merchant_id=merchant.id,
            order_id=cmd.order_id,
            amount=cmd.amount,
            signals=cmd.signals,
            challenge_id=cmd.challenge_id,
            token=cmd.verification_token,
            fits=refusal is None,
        )
    if refusal is not None:
        raise refusal
    uow.holds.add(hold)
    uow.accounts.save(account, after)
    if passed is not None:
        assert ctx.risk is not None
        risk.record_passed(ctx.risk, uow, ctx, passed, hold.id)
    notifications.hold_created(
        uow, hold, platform_id=account.platform_id, now=ctx.now, new_id=ctx.new_id
    )
    return hold


def set_risk_profile(uow: UnitOfWork, ctx: Context, cmd: commands.SetRiskProfile) -> AccountView:
    require_role(ctx.actor, Role.PLATFORM, Role.OPERATOR)
    account = visible_account(ctx.actor, _account(uow, ctx, cmd.account_id), cmd.account_id)
    if cmd.tier is not None and ctx.risk is not None:
        check_tier(ctx.risk.policy(), cmd.tier)
    changed = replace(
        account,
        tier=account.tier if cmd.tier is None else cmd.tier,
        real_name_verified=account.real_name_verified
        if cmd.real_name_verified is None
        else cmd.real_name_verified,
        version=account.version + 1,
        updated_at=ctx.now,
    )
    uow.accounts.save(account, changed)
    audit(
        uow,
        ctx,
        "account.risk_profile",
        account.id,
        "risk profile set",
        f"tier={changed.tier} real_name_verified={changed.real_name_verified}",
    )
    return _view(uow, ctx, changed)


def _clear_order(uow: UnitOfWork, ctx: Context, account: Account, order_id: str) -> Account:
    existing = uow.holds.pending_for_order(account.id, order_id)
    if existing is None:
        return account
    if not existing.is_past_deadline(ctx.now):
        raise OrderHasOpenHold(
            f"order {order_id} already has pending hold {existing.id} on this account",
            hold_id=existing.id,
            order_id=order_id,
        )
    account, _ = expire_past_deadline(uow, account, now=ctx.now, new_id=ctx.new_id)
    return account


def capture(uow: UnitOfWork, ctx: Context, cmd: commands.Capture) -> Hold:
    require_role(ctx.actor, Role.PLATFORM, Role.MERCHANT, Role.OPERATOR)
    reason = cmd.reason
    if cmd.force or ctx.actor.role is Role.OPERATOR:
        reason = require_reason(cmd.reason, "a forced capture")
    account, hold = _hold_to_change(uow, ctx, cmd.hold_id)
    change = holds.capture(
        account,
        hold,
        amount=cmd.amount,
        final=cmd.final,
        force=cmd.force,
        stamp=ctx.stamp(reason),
        ids=ctx.event_ids(),
    )
    persist_hold_change(uow, account, change, now=ctx.now, new_id=ctx.new_id)
    if ctx.actor.role is Role.OPERATOR or change.hold.forced.is_positive():
        audit(
            uow,
            ctx,
            "hold.force_capture" if cmd.force else "hold.capture",
            hold.id,
            reason or "",
            f"amount={cmd.amount.fen}",
        )
    return change.hold


def release(uow: UnitOfWork, ctx: Context, cmd: commands.Release) -> Hold:
    require_role(ctx.actor, Role.PLATFORM, Role.MERCHANT, Role.OPERATOR)
    reason = cmd.reason
    if ctx.actor.role is Role.OPERATOR:
        reason = require_reason(cmd.reason, "an operator's release")
    account, hold = _hold_to_change(uow, ctx, cmd.hold_id)
    change = holds.release(account, hold, stamp=ctx.stamp(reason), event_id=ctx.new_id("hev"))
    persist_hold_change(uow, account, change, now=ctx.now, new_id=ctx.new_id)
    if ctx.actor.role is Role.OPERATOR:
        audit(uow, ctx, "hold.release", hold.id, reason or "")
    return change.hold


def refund(uow: UnitOfWork, ctx: Context, cmd: commands.Refund) -> Hold:
    require_role(ctx.actor, Role.PLATFORM, Role.MERCHANT)
    account, hold = _hold_to_change(uow, ctx, cmd.hold_id)
    change = refund_hold(
        account,
        hold,
        amount=cmd.amount,
        stamp=ctx.stamp(cmd.reason),
        event_id=ctx.new_id("hev"),
        entry_id=ctx.new_id("je"),
    )
    persist_hold_change(uow, account, change, now=ctx.now, new_id=ctx.new_id)
    return change.hold


def repay(uow: UnitOfWork, ctx: Context, cmd: commands.Repay) -> Repayment:
    require_role(ctx.actor, Role.PLATFORM, Role.CONSUMER)
    account = visible_account(ctx.actor, _account(uow, ctx, cmd.account_id), cmd.account_id)
    after, entry = repay_account(
        account, amount=cmd.amount, now=ctx.now, entry_id=ctx.new_id("je"), reference=cmd.reference
    )
    uow.accounts.save(account, after)
    uow.journal.append(entry)
    return Repayment(_view(uow, ctx, after), entry)


def _view(uow: UnitOfWork, ctx: Context, account: Account) -> AccountView:
    expired = uow.holds.expired_open_totals([account.id], ctx.now)
    return view_account(account, expired.get(account.id, ZERO))


def _account(uow: UnitOfWork, ctx: Context, account_id: str) -> Account | None:
    """The account to change: read freely, or locked on the careful attempt."""
    return uow.accounts.lock(account_id) if ctx.careful else uow.accounts.get(account_id)


def _hold_to_change(uow: UnitOfWork, ctx: Context, hold_id: str) -> tuple[Account, Hold]:
    """The hold to change and its account: one unlocked snapshot, or locked when careful."""
    if ctx.careful:
        account = uow.accounts.lock_holding(hold_id)
        hold = uow.holds.get(hold_id) if account is not None else None
    else:
        found = uow.holds.get_with_account(hold_id)
        hold, account = found if found is not None else (None, None)
    return visible_hold(ctx.actor, account, hold, hold_id)


Handler = Callable[[UnitOfWork, Context, Any], object]

HANDLERS: dict[type[commands.Command], Handler] = {
    commands.OpenAccount: open_credit_account,
    commands.ChangeAccountStatus: change_account_status,
    commands.SetRiskProfile: set_risk_profile,
    commands.Authorize: authorize,
    commands.Capture: capture,
    commands.Release: release,
    commands.Refund: refund,
    commands.Repay: repay,
}
"""The one place a command finds its handler."""
