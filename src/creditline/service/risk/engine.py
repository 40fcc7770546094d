"""Risk control in authorization: decide, refuse with reasons, challenge, log.

`gate` runs before a hold is placed, inside the authorization's unit of work:

1. Read the payment's features (one round trip) and run the pipeline — `assess`, the
   same function the dry run (`explain`) calls, so the two agree for the same state.
2. Decline, or challenge without a valid answer: the decision, its observations and any
   new challenge are *kept* (`Context.keep`: written in the refusal's own transaction)
   and a `RiskDeclined` / `ChallengeRequired` with every hit is raised.
3. Otherwise the caller places the hold and then calls `record_passed` in the same
   transaction: the decision with the hold id, the purchase observation, and the
   answered challenge marked passed (single use: a guarded write).

Period limits (day/month amount and count) read the account's own counters, which the
hold's versioned write advances: two concurrent payments cannot pass a limit together.
Observations go to the database store in the same transaction, or to Redis after the
outcome is committed (`Context.after_commit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from creditline.domain.account import Account
from creditline.domain.errors import ChallengeInvalid, ChallengeRequired, RiskDeclined
from creditline.domain.money import Money
from creditline.domain.risk.challenge import (
    Challenge,
    ChallengeStatus,
    answer,
    check_answerable,
    open_challenge,
)
from creditline.domain.risk.decision import RiskAction, RiskDecision
from creditline.domain.risk.inputs import AccountFacts, Features, PaymentRequest
from creditline.domain.risk.pipeline import evaluate
from creditline.domain.risk.policy import Policy
from creditline.domain.risk.rules import RiskContext
from creditline.service.commands import Signals
from creditline.service.context import Context
from creditline.service.ports import UnitOfWork
from creditline.service.risk.detail import decision_detail
from creditline.service.risk.feature_store import FeatureStore, Observation
from creditline.service.risk.features import (
    Keys,
    decision_observations,
    feature_queries,
    load_features,
)
from creditline.service.risk.ports import DecisionRecord, Verifier


class RiskEngine:
    """The policy in force, where features live, and the step-up verifier."""

    def __init__(
        self,
        policies: Callable[[], Policy],
        verifier: Verifier,
        features: FeatureStore | None = None,
    ) -> None:
        self._policies = policies
        self.verifier = verifier
        self.shared_features = features
        """None: the database store, inside each unit of work (the default)."""

    def policy(self) -> Policy:
        return self._policies()

    def features_in(self, uow: UnitOfWork) -> FeatureStore:
        return self.shared_features if self.shared_features is not None else uow.features


@dataclass(frozen=True, slots=True)
class Assessment:
    keys: Keys
    request: PaymentRequest
    account: AccountFacts
    features: Features
    decision: RiskDecision
    latency_us: int
    """Feature reads and pipeline, in process."""

    @property
    def passes(self) -> bool:
        return self.decision.action in (RiskAction.APPROVE, RiskAction.FLAG)


@dataclass(frozen=True, slots=True)
class Passed:
    """A payment the rules let through: what to record once its hold is placed."""

    assessment: Assessment
    decision_id: str
    merchant_id: str
    order_id: str
    challenge: tuple[Challenge, Challenge] | None
    """The answered challenge, before and after (passed)."""


def payment_request(
    amount: Money, merchant_id: str, signals: Signals, ctx: Context
) -> PaymentRequest:
    return PaymentRequest(
        amount=amount,
        merchant_id=merchant_id,
        at=ctx.now,
        merchant_category=signals.merchant_category,
        item_categories=signals.item_categories,
        channel=signals.channel,
        device_id=signals.device_id,
        ip=signals.ip,
        location=signals.location,
    )


def account_facts(account: Account) -> AccountFacts:
    return AccountFacts(
        status=account.status,
        tier=account.tier,
        real_name_verified=account.real_name_verified,
        opened_at=account.created_at,
        credit_limit=account.credit_limit,
        used=account.used,
        locked=account.locked,
    )


def assess(
    engine: RiskEngine, uow: UnitOfWork, account: Account, request: PaymentRequest
) -> Assessment:
    """Features and the pipeline: no writes (the dry run is exactly this)."""
    policy = engine.policy()
    started = time.perf_counter_ns()
    keys = Keys(account.platform_id, account.id, request.device_id, request.ip)
    features = load_features(engine.features_in(uow), keys, request.at, policy, account.spend)
    facts = account_facts(account)
    decision = evaluate(RiskContext(request, facts, features, policy))
    latency_us = (time.perf_counter_ns() - started) // 1_000
    return Assessment(keys, request, facts, features, decision, latency_us)


def prefetch(
    engine: RiskEngine, uow: UnitOfWork, ctx: Context, account_id: str, signals: Signals
) -> None:
    """Before the account is read: its features can travel with it (one round trip). The
    account's platform is the payer's (another platform's account is refused anyway)."""
    keys = Keys(ctx.actor.platform_id or "", account_id, signals.device_id, signals.ip)
    engine.features_in(uow).prefetch(feature_queries(keys, ctx.now, engine.policy()))


def gate(
    engine: RiskEngine,
    uow: UnitOfWork,
    ctx: Context,
    account: Account,
    *,
    merchant_id: str,
    order_id: str,
    amount: Money,
    signals: Signals,
    challenge_id: str | None,
    token: str | None,
    fits: bool = True,
) -> Passed:
    """Decide this payment; refuse (keeping the log) or say what to record once placed.

    `fits`: whether the hold itself can be placed (credit, status). One that cannot is
    never challenged — the consumer would verify only to be refused — and its challenge
    answer, if any, is left unused: the caller refuses it for its real reason, and the
    decision is logged as it stands."""
    answered = None
    if challenge_id is not None and fits:
        answered = _answer(
            engine, uow, ctx, account, challenge_id, token, merchant_id, order_id, amount
        )
    request = payment_request(amount, merchant_id, signals, ctx)
    assessment = assess(engine, uow, account, request)
    decision_id = ctx.new_id("rdec")
    action = assessment.decision.action
    challenged = action is RiskAction.CHALLENGE and answered is None and fits
    if action is RiskAction.DECLINE or challenged:
        _refuse(engine, ctx, assessment, decision_id, merchant_id, order_id)
    passed = Passed(assessment, decision_id, merchant_id, order_id, answered)
    # If the hold itself is then refused (credit, status), the decision still stands.
    ctx.keep(lambda u: _log(engine, u, ctx, passed.assessment, decision_id, merchant_id, order_id))
    return passed


def record_passed(
    engine: RiskEngine, uow: UnitOfWork, ctx: Context, passed: Passed, hold_id: str
) -> None:
    a = passed.assessment
    challenge_id = None
    if passed.challenge is not None:
        before, after = passed.challenge
        uow.risk.save_challenge(before, after)
        challenge_id = after.id
    _log(
        engine,
        uow,
        ctx,
        a,
        passed.decision_id,
        passed.merchant_id,
        passed.order_id,
        hold_id=hold_id,
        challenge_id=challenge_id,
    )


def _answer(
    engine: RiskEngine,
    uow: UnitOfWork,
    ctx: Context,
    account: Account,
    challenge_id: str,
    token: str | None,
    merchant_id: str,
    order_id: str,
    amount: Money,
) -> tuple[Challenge, Challenge]:
    challenge = check_answerable(
        uow.risk.get_challenge(challenge_id),
        challenge_id=challenge_id,
        account_id=account.id,
        merchant_id=merchant_id,
        order_id=order_id,
        amount=amount,
        now=ctx.now,
    )
    valid = bool(token) and engine.verifier.check(challenge, token or "")
    after = answer(challenge, token_valid=valid, now=ctx.now)
    if not valid:
        ctx.keep(lambda u: u.risk.save_challenge(challenge, after))
        failed = after.status is ChallengeStatus.FAILED
        raise ChallengeInvalid(
            "the verification token is wrong"
            + (
                "; the challenge has failed: a new payment attempt gets a new one" if failed else ""
            ),
            reason="wrong_token",
            failures=after.failures,
            challenge_id=challenge_id,
        )
    return challenge, after


def _refuse(
    engine: RiskEngine,
    ctx: Context,
    a: Assessment,
    decision_id: str,
    merchant_id: str,
    order_id: str,
) -> None:
    challenge = None
    if a.decision.action is RiskAction.CHALLENGE:
        challenge = open_challenge(
            challenge_id=ctx.new_id("chal"),
            decision_id=decision_id,
            account_id=a.keys.account_id,
            merchant_id=merchant_id,
            order_id=order_id,
            amount=a.request.amount,
            now=ctx.now,
        )

    def keep(uow: UnitOfWork) -> None:
        challenge_id = None
        if challenge is not None:
            uow.risk.add_challenge(challenge)
            challenge_id = challenge.id
            ctx.after_commit.append(lambda: engine.verifier.start(challenge))
        _log(engine, uow, ctx, a, decision_id, merchant_id, order_id, challenge_id=challenge_id)

    ctx.keep(keep)
    summary = "; ".join(_hit_summary(a.decision))
    codes = ", ".join(hit.code for hit in a.decision.deciding)
    if challenge is not None:
        ask = (
            "verify the consumer, then send this payment again — same Idempotency-Key — "
            f"with challenge_id {challenge.id} and the verifier's verification_token"
        )
        raise ChallengeRequired(
            f"{ask}: {summary}",
            a.decision,
            decision_id=decision_id,
            challenge_id=challenge.id,
            brief=f"{ask}: {codes}",
        )
    raise RiskDeclined(
        f"declined by risk rules: {summary}",
        a.decision,
        decision_id=decision_id,
        challenge_id=None,
        brief=f"declined by risk rules: {codes}",
    )


def _hit_summary(decision: RiskDecision) -> list[str]:
    shown = []
    for hit in decision.deciding:
        numbers = ", ".join(
            f"{name}={value.fen if isinstance(value, Money) else value}"
            for name, value in hit.numbers.items()
        )
        shown.append(f"{hit.code} ({numbers})" if numbers else hit.code)
    return shown


def _log(
    engine: RiskEngine,
    uow: UnitOfWork,
    ctx: Context,
    a: Assessment,
    decision_id: str,
    merchant_id: str,
    order_id: str,
    *,
    hold_id: str | None = None,
    challenge_id: str | None = None,
) -> None:
    """Store the decision and feed its observations to the feature store."""
    uow.risk.add_decision(
        DecisionRecord(
            id=decision_id,
            account_id=a.keys.account_id,
            at=ctx.now,
            action=a.decision.action,
            codes=tuple(hit.code for hit in a.decision.hits),
            amount=a.request.amount,
            merchant_id=merchant_id,
            order_id=order_id,
            policy_version=a.decision.policy_version,
            latency_us=a.latency_us,
            hold_id=hold_id,
            challenge_id=challenge_id,
            detail=decision_detail(a.request, a.account, a.features, a.decision),
        )
    )
    items = decision_observations(a.keys, a.request, a.decision.action, placed=hold_id is not None)
    _observe(engine, uow, ctx, items)


def _observe(
    engine: RiskEngine, uow: UnitOfWork, ctx: Context, items: Sequence[tuple[str, Observation]]
) -> None:
    shared = engine.shared_features
    if shared is None:
        uow.features.record(items)
    else:
        ctx.after_commit.append(lambda: shared.record(items))
