"""Bodies of the risk API: payment signals, explanations, the decision log, profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from creditline.domain.risk.decision import RuleHit
from creditline.domain.risk.explain import explain
from creditline.domain.risk.inputs import Location
from creditline.entrypoints.api.body import TIER, Fen, In, Label
from creditline.service.commands import Signals
from creditline.service.risk.detail import features_json, numbers_json
from creditline.service.risk.ports import DecisionRecord
from creditline.service.risk.queries import Explanation

CATEGORIES_MAX = 20


class LocationIn(In):
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    city: Label | None = None


class SignalsIn(In):
    """What the platform knows about the payment, for the risk rules (all optional)."""

    merchant_category: Label | None = Field(None, description="e.g. electronics, gift_card")
    item_categories: Annotated[list[Label], Field(max_length=CATEGORIES_MAX)] = Field(
        default_factory=list, description="Categories of the order's items"
    )
    channel: Label | None = Field(None, description="app, web, mini_program…")
    device_id: Label | None = None
    ip: Annotated[str, Field(min_length=2, max_length=45)] | None = None
    location: LocationIn | None = None

    def signals(self) -> Signals:
        where = self.location
        return Signals(
            merchant_category=self.merchant_category,
            item_categories=tuple(self.item_categories),
            channel=self.channel,
            device_id=self.device_id,
            ip=self.ip,
            location=None
            if where is None
            else Location(where.latitude, where.longitude, where.city),
        )


class ReasonOut(BaseModel):
    code: str
    rule: str
    action: str
    shadow: bool = Field(description="Shadow rules are logged, never enforced")
    message: str = Field(description="For the consumer, in the chosen language")
    remedy: str
    numbers: dict[str, Any] | None = Field(
        description="The numbers behind it (amounts in fen); null for merchant keys"
    )


def reason(hit: RuleHit, language: str, *, detail: bool = True) -> ReasonOut:
    text = explain(hit, language)
    return ReasonOut.model_construct(
        code=hit.code,
        rule=hit.rule,
        action=hit.action.value,
        shadow=hit.shadow,
        message=text.message,
        remedy=text.remedy,
        numbers=numbers_json(hit.numbers) if detail else None,
    )


class ExplainIn(SignalsIn):
    amount: Fen
    merchant_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ExplainOut(BaseModel):
    """The dry run's answer. A merchant key gets the verdict and the consumer's reasons
    (code, action, message, remedy); the account's platform and operators also get the
    numbers, the available credit and the features the rules saw."""

    would_pass: bool = Field(description="Approved by the rules and within available credit")
    outcome: str = Field(
        description="What an authorization would answer now: approved, risk_declined, "
        "challenge_required, insufficient_credit or account_not_active"
    )
    action: str = Field(description="The rules' action: approve, flag, challenge or decline")
    available: int | None = Field(
        description="Available credit now, in fen (null for merchant keys)"
    )
    language: str
    reasons: list[ReasonOut] = Field(
        description="Every hit (merchants: the enforced ones); enforced ones decide"
    )
    policy_version: str
    latency_us: int
    features: dict[str, Any] | None = Field(
        description="What the rules saw of the account (null for merchant keys)"
    )

    @classmethod
    def of(cls, found: Explanation, language: str) -> ExplainOut:
        a = found.assessment
        detail = found.detail
        hits = a.decision.hits if detail else a.decision.enforced
        return cls.model_construct(
            would_pass=found.would_pass,
            outcome=found.outcome,
            action=a.decision.action.value,
            available=found.available.fen if detail else None,
            language=language,
            reasons=[reason(hit, language, detail=detail) for hit in hits],
            policy_version=a.decision.policy_version,
            latency_us=a.latency_us,
            features=features_json(a.features) if detail else None,
        )


class DecisionOut(BaseModel):
    id: str
    at: datetime
    action: str
    codes: list[str]
    amount: int
    merchant_id: str
    order_id: str
    policy_version: str
    latency_us: int
    hold_id: str | None
    challenge_id: str | None
    detail: dict[str, Any] = Field(description="Inputs, features and every hit with numbers")

    @classmethod
    def of(cls, record: DecisionRecord) -> DecisionOut:
        return cls.model_construct(
            id=record.id,
            at=record.at,
            action=record.action.value,
            codes=list(record.codes),
            amount=record.amount.fen,
            merchant_id=record.merchant_id,
            order_id=record.order_id,
            policy_version=record.policy_version,
            latency_us=record.latency_us,
            hold_id=record.hold_id,
            challenge_id=record.challenge_id,
            detail=dict(record.detail),
        )


class DecisionPage(BaseModel):
    items: list[DecisionOut]
    next_cursor: str | None


class RiskProfileIn(In):
    tier: TIER | None = Field(None, description="A tier of the risk policy")
    real_name_verified: bool | None = None
