"""Commands on holds: authorize (place), capture, release, refund.

Each runs inside one unit of work opened by `CommandBus`, never commits itself, and reads
the hold and its account in one unlocked snapshot — or locked, on the careful attempt
after a lost race (see `ports.py`).
"""

from __future__ import annotations

from creditline.domain import hold as holds
from creditline.domain.account import Account
from creditline.domain.errors import (
    AccountNotActive,
    Declined,
    InsufficientCredit,
    OrderHasOpenHold,
)
from creditline.domain.hold import Hold
from creditline.domain.refund import refund as refund_hold
from creditline.service import commands
from creditline.service.access import (
    Role,
    require_reason,
    require_role,
    visible_hold,
)
from creditline.service.accounts.handlers import account_to_change
from creditline.service.audit import audit
from creditline.service.context import Context
from creditline.service.holds.expiry import expire_past_deadline, persist_hold_change
from creditline.service.notifications.outbox import hold_created
from creditline.service.ports import UnitOfWork
from creditline.service.risk.engine import gate, prefetch, record_passed
from creditline.service.risk.queries import payment_parties


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
        prefetch(ctx.risk, uow, ctx, cmd.account_id, cmd.signals)
    merchant, account = payment_parties(
        uow, ctx, cmd.account_id, cmd.merchant_id, account_to_change
    )
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
        passed = gate(
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
        record_passed(ctx.risk, uow, ctx, passed, hold.id)
    hold_created(uow, hold, platform_id=account.platform_id, now=ctx.now, new_id=ctx.new_id)
    return hold


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


def _hold_to_change(uow: UnitOfWork, ctx: Context, hold_id: str) -> tuple[Account, Hold]:
    """The hold to change and its account: one unlocked snapshot, or locked when careful."""
    if ctx.careful:
        account = uow.accounts.lock_holding(hold_id)
        hold = uow.holds.get(hold_id) if account is not None else None
    else:
        found = uow.holds.get_with_account(hold_id)
        hold, account = found if found is not None else (None, None)
    return visible_hold(ctx.actor, account, hold, hold_id)
