"""The decision log and challenges: inserts batched with the authorization's other
writes; a challenge is answered by a guarded update (its status and failures as read)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, select

from creditline.adapters.db.driver import Driver, Sql, columns
from creditline.adapters.db.schema import risk_challenge, risk_decision
from creditline.domain.money import Money
from creditline.domain.risk.challenge import Challenge, ChallengeStatus
from creditline.domain.risk.decision import RiskAction
from creditline.service.pages import Page
from creditline.service.risk.ports import DecisionRecord

_GET_CHALLENGE = Sql(f"SELECT {columns(risk_challenge)} FROM risk_challenge WHERE id = {{p}}")
_SAVE_CHALLENGE = Sql(
    "UPDATE risk_challenge SET status = {p}, failures = {p}, passed_at = {p} "
    "WHERE id = {p} AND status = {p} AND failures = {p}"
)


def _challenge(row: Mapping[str, Any]) -> Challenge:
    return Challenge(
        id=row["id"],
        account_id=row["account_id"],
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        amount=Money(row["amount"]),
        decision_id=row["decision_id"],
        status=ChallengeStatus(row["status"]),
        failures=row["failures"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        passed_at=row["passed_at"],
    )


def _decision(row: Mapping[Any, Any]) -> DecisionRecord:
    return DecisionRecord(
        id=row["id"],
        account_id=row["account_id"],
        at=row["at"],
        action=RiskAction(row["action"]),
        codes=tuple(json.loads(row["codes"])),
        amount=Money(row["amount"]),
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        policy_version=row["policy_version"],
        latency_us=row["latency_us"],
        hold_id=row["hold_id"],
        challenge_id=row["challenge_id"],
        detail=json.loads(row["detail"]),
    )


def decisions_page(account_id: str, before: str | None, limit: int) -> Select[Any]:
    """An account's decisions newest first, `before` an id: a range of its index."""
    c = risk_decision.c
    query = select(risk_decision).where(c.account_id == account_id)
    if before is not None:
        query = query.where(c.id < before)
    return query.order_by(c.id.desc()).limit(limit)


class SqlRiskStore:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._conn = connection
        self._db = driver

    def add_decision(self, record: DecisionRecord) -> None:
        row = {
            "id": record.id,
            "account_id": record.account_id,
            "at": record.at,
            "action": record.action.value,
            "codes": json.dumps(list(record.codes)),
            "amount": record.amount.fen,
            "merchant_id": record.merchant_id,
            "order_id": record.order_id,
            "policy_version": record.policy_version,
            "latency_us": record.latency_us,
            "hold_id": record.hold_id,
            "challenge_id": record.challenge_id,
            "detail": json.dumps(record.detail, ensure_ascii=False, separators=(",", ":")),
        }
        self._db.defer_insert(risk_decision, [row])

    def decisions(self, account_id: str, before: str | None, limit: int) -> Page[DecisionRecord]:
        self._db.flush()
        query = decisions_page(account_id, before, limit + 1)
        rows = self._conn.execute(query).mappings().all()
        items = [_decision(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)

    def add_challenge(self, challenge: Challenge) -> None:
        row = {
            "id": challenge.id,
            "account_id": challenge.account_id,
            "merchant_id": challenge.merchant_id,
            "order_id": challenge.order_id,
            "amount": challenge.amount.fen,
            "decision_id": challenge.decision_id,
            "status": challenge.status.value,
            "failures": challenge.failures,
            "created_at": challenge.created_at,
            "expires_at": challenge.expires_at,
            "passed_at": challenge.passed_at,
        }
        self._db.defer_insert(risk_challenge, [row])

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        row = self._db.one(_GET_CHALLENGE, (challenge_id,))
        return None if row is None else _challenge(self._db.decode(risk_challenge, row))

    def save_challenge(self, before: Challenge, after: Challenge) -> None:
        db = self._db
        db.defer(
            _SAVE_CHALLENGE,
            (
                after.status.value,
                after.failures,
                db.to_db(after.passed_at),
                before.id,
                before.status.value,
                before.failures,
            ),
            rows=1,
            stale=True,
        )
