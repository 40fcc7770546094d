"""What every handler gets besides its command: who asks, when, fresh ids, and whether
this is the careful second attempt after a lost race."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.hold import EventIds, Stamp
from creditline.service.access import Actor
from creditline.service.ports import IdGenerator


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler gets besides its command: who asks, when, and an id source."""

    actor: Actor
    now: datetime
    new_id: IdGenerator
    careful: bool = False
    """The second attempt after a conflict: lock before reading, check before writing."""

    def event_ids(self) -> EventIds:
        return EventIds(self.new_id("hev"), self.new_id("hev"), self.new_id("je"))

    def stamp(self, reason: str | None) -> Stamp:
        return Stamp(self.now, actor=self.actor.label, reason=reason)
