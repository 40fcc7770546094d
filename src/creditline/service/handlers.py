"""The one place a command finds its handler: one handler per command, each in the room
of what it changes (`accounts/`, `holds/`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from creditline.service import commands
from creditline.service.accounts.handlers import (
    change_account_status,
    open_credit_account,
    repay,
    set_risk_profile,
)
from creditline.service.context import Context
from creditline.service.holds.handlers import authorize, capture, refund, release
from creditline.service.ports import UnitOfWork

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
