"""The tables, as SQLAlchemy Core metadata (the migration in migrations/ creates them).

Amounts are BIGINT fen. Timestamps are UTC (`UtcDateTime`). Ids are prefixed text.
Every table that holds money rows carries `account_id`, so the schema shards by account.

Database-side guarantees (besides the CHECKs here), installed by the migration:
- a journal entry is sealed by inserting its header after its postings; a trigger on the
  header refuses it unless its postings sum to zero and its amount equals its debits;
- postings cannot be added to a sealed entry, and entries, postings and hold events
  cannot be updated or deleted;
- at most one pending hold per (account, order) — a partial unique index;
- one answer per (scope, idempotency key) — the primary key.
"""

from __future__ import annotations

from creditline.adapters.db.schema.base import UtcDateTime, metadata
from creditline.adapters.db.schema.core import (
    ACCOUNT_STATUSES,
    HOLD_STATUSES,
    api_key,
    audit_log,
    credit_account,
    hold,
    hold_event,
    idempotency_record,
    journal_entry,
    merchant,
    platform,
    posting,
)
from creditline.adapters.db.schema.dev import dev_clock
from creditline.adapters.db.schema.orders import dead_letter, order_event, outbox
from creditline.adapters.db.schema.risk import risk_challenge, risk_decision, risk_observation

__all__ = [
    "ACCOUNT_STATUSES",
    "HOLD_STATUSES",
    "UtcDateTime",
    "api_key",
    "audit_log",
    "credit_account",
    "dead_letter",
    "dev_clock",
    "hold",
    "hold_event",
    "idempotency_record",
    "journal_entry",
    "merchant",
    "metadata",
    "order_event",
    "outbox",
    "platform",
    "posting",
    "risk_challenge",
    "risk_decision",
    "risk_observation",
]
