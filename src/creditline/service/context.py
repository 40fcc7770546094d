"""What every handler gets besides its command: who asks, when, fresh ids, whether this
is the careful second attempt after a lost race, and the risk engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from creditline.domain.hold import EventIds, Stamp
from creditline.service.access import Actor
from creditline.service.ports import IdGenerator, UnitOfWork

if TYPE_CHECKING:
    from creditline.service.risk.engine import RiskEngine

log = logging.getLogger("creditline.context")


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler gets besides its command: who asks, when, and an id source."""

    actor: Actor
    now: datetime
    new_id: IdGenerator
    careful: bool = False
    """The second attempt after a conflict: lock before reading, check before writing."""
    risk: RiskEngine | None = None
    """Decides every payment; None runs the core engine alone (benchmarks' baseline)."""
    kept: list[Callable[[UnitOfWork], None]] = field(default_factory=list)
    """Writes that stand even when the command is refused (a declined payment's decision
    and observations): the bus runs them in the refusal's own transaction."""
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Writes outside the database (the Redis feature store), run once the outcome —
    success or refusal — is committed."""

    def event_ids(self) -> EventIds:
        return EventIds(self.new_id("hev"), self.new_id("hev"), self.new_id("je"))

    def stamp(self, reason: str | None) -> Stamp:
        return Stamp(self.now, actor=self.actor.label, reason=reason)

    def keep(self, write: Callable[[UnitOfWork], None]) -> None:
        self.kept.append(write)

    def finished(self) -> None:
        """The outcome is committed: run what waited for it, once. A failure here is
        logged, never raised — the caller's answer is already decided and stored.

        Both lists are emptied: their closures refer back to this context, and a cycle
        left for the garbage collector on every payment cost a collection every ~20
        payments (docs/PERFORMANCE.md)."""
        waiting = list(self.after_commit)
        self.after_commit.clear()
        self.kept.clear()
        for write in waiting:
            try:
                write()
            except Exception:
                log.exception("a write after commit failed; the committed outcome stands")
