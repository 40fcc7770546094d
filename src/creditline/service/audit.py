"""The audit log: who did what to which object, when and why (operators' actions)."""

from __future__ import annotations

from creditline.service.context import Context
from creditline.service.ports import AuditRecord, UnitOfWork, UnitOfWorkFactory


def audit(
    uow: UnitOfWork, ctx: Context, action: str, target_id: str, reason: str, details: str = ""
) -> None:
    """Record an action inside the transaction that performs it."""
    uow.audit.add(
        AuditRecord(
            id=ctx.new_id("aud"),
            at=ctx.now,
            actor_key_id=ctx.actor.key_id,
            actor_role=ctx.actor.role.value,
            actor_name=ctx.actor.name,
            action=action,
            target_id=target_id,
            reason=reason,
            details=details,
        )
    )


def record_action(
    uow_factory: UnitOfWorkFactory,
    ctx: Context,
    action: str,
    target_id: str,
    reason: str,
    details: str = "",
) -> None:
    """Record an action that ran in transactions of its own."""
    with uow_factory(write=True) as uow:
        audit(uow, ctx, action, target_id, reason, details)
        uow.commit()
