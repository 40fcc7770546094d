"""`creditline risk backtest`: replay labelled traffic through one or two policies.

The replay keeps the features in memory exactly as the stores would (attempts per
account, device and IP in the velocity window; approved purchases by business day and
month in Asia/Shanghai; last place seen; known devices and cities; recent amounts; the
run of declines) and runs the real pipeline (`evaluate`) on each payment in time order.
A challenged payment passes if it is legitimate (the owner verifies) and is stopped if
it is fraud (a script cannot answer the code). As in authorization, the owner's verified
retry is an attempt of its own, and only declines — not unanswered challenges — count
in the run of declines. It reports, overall, per pattern and per rule: how much fraud is
stopped (decline or challenge; payments and money), the false-decline rate of
legitimate payments, how often legitimate users are challenged, and each rule's
precision and recall.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from creditline.domain.account import AccountStatus
from creditline.domain.money import ZERO, Money
from creditline.domain.risk.decision import RiskAction, RiskDecision
from creditline.domain.risk.inputs import (
    AccountFacts,
    Features,
    Location,
    PaymentRequest,
    Seen,
)
from creditline.domain.risk.pipeline import evaluate
from creditline.domain.risk.policy import Policy
from creditline.domain.risk.rules import RiskContext
from creditline.domain.spend import business_day_start
from creditline.risk_lab.simulate import Payment
from creditline.service.risk.features import RECENT_AMOUNTS

VELOCITY_RULES = frozenset({"velocity", "burst"})
VERIFY_S = 30
"""How long after a challenge the owner's verified retry arrives (reading and typing the
code): the retry is an attempt of its own, as in authorization."""


@dataclass
class MemoryFeatures:
    window_s: int
    burst_window_s: int
    attempts: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    purchases: dict[str, list[tuple[datetime, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    last_seen: dict[str, Seen] = field(default_factory=dict)
    devices: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cities: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    declines: Counter[str] = field(default_factory=Counter)
    pipeline_ns: list[int] = field(default_factory=list)
    """How long each `evaluate` took (the pipeline alone, features given)."""

    def _attempts(self, key: str, now: datetime, window_s: int | None = None) -> int:
        """Attempts from `window_s` (default: the velocity window) ago up to now, both
        ends included; a verified retry still to come is not counted yet."""
        seen = self.attempts[key]
        while seen and (now - seen[0]).total_seconds() > self.window_s:
            seen.popleft()
        since = now - timedelta(seconds=self.window_s if window_s is None else window_s)
        return bisect_right(seen, now) - bisect_left(seen, since)

    def features(self, p: Payment, now: datetime) -> Features:
        day_start = business_day_start(now)
        month_start = day_start.replace(day=1)
        bought = self.purchases[p.account]
        day = [a for t, a in bought if t >= day_start]
        month = [a for t, a in bought if t >= month_start]
        return Features(
            day_amount=Money(sum(day)),
            day_count=len(day),
            month_amount=Money(sum(month)),
            month_count=len(month),
            account_attempts=self._attempts(f"a:{p.account}", now),
            account_burst_attempts=self._attempts(f"a:{p.account}", now, self.burst_window_s),
            device_attempts=self._attempts(f"d:{p.device}", now),
            ip_attempts=self._attempts(f"i:{p.ip}", now),
            recent_declines=self.declines[p.account],
            last_seen=self.last_seen.get(p.account),
            known_devices=frozenset(self.devices[p.account]),
            known_cities=frozenset(self.cities[p.account]),
            recent_amounts=tuple(Money(a) for _, a in bought[-RECENT_AMOUNTS:][::-1]),
        )

    def update(self, p: Payment, now: datetime, location: Location, action: RiskAction) -> None:
        """What the stores would hold after this decision: its attempt (and, for a
        legitimate challenge, the verified retry's `VERIFY_S` later), a decline, or the
        purchase."""
        verified = action is RiskAction.CHALLENGE and p.label == "legit"
        for key in (f"a:{p.account}", f"d:{p.device}", f"i:{p.ip}"):
            insort(self.attempts[key], now)
            if verified:
                insort(self.attempts[key], now + timedelta(seconds=VERIFY_S))
        if action is RiskAction.DECLINE:
            self.declines[p.account] += 1
            return
        if action is RiskAction.CHALLENGE and not verified:
            return  # unanswered: an attempt, neither a decline nor a purchase
        self.declines[p.account] = 0
        self.purchases[p.account].append((now, p.amount))
        self.last_seen[p.account] = Seen(now, location)
        self.devices[p.account].add(p.device)
        self.cities[p.account].add(p.city)


def decide(policy: Policy, state: MemoryFeatures, p: Payment) -> RiskDecision:
    now = datetime.fromisoformat(p.at)
    location = Location(p.lat, p.lon, p.city)
    request = PaymentRequest(
        amount=Money(p.amount),
        merchant_id=p.merchant,
        at=now,
        merchant_category=p.merchant_category,
        item_categories=tuple(p.items),
        device_id=p.device,
        ip=p.ip,
        location=location,
    )
    account = AccountFacts(
        status=AccountStatus.ACTIVE,
        tier=p.tier,
        real_name_verified=p.real_name,
        opened_at=datetime.fromisoformat(p.opened_at),
        credit_limit=Money(p.limit),
        used=ZERO,
        locked=ZERO,
    )
    context = RiskContext(request, account, state.features(p, now), policy)
    started = time.perf_counter_ns()
    decision = evaluate(context)
    state.pipeline_ns.append(time.perf_counter_ns() - started)
    state.update(p, now, location, decision.action)
    return decision


@dataclass
class RuleScore:
    fraud: int = 0
    legit: int = 0

    @property
    def precision(self) -> float:
        hits = self.fraud + self.legit
        return self.fraud / hits if hits else 0.0


@dataclass
class PatternScore:
    """One pattern's payments: how many were declined or challenged, and their money."""

    label: str
    payments: int = 0
    declined: int = 0
    challenged: int = 0
    fen: int = 0
    stopped_fen: int = 0
    velocity_declined: int = 0
    velocity_challenged: int = 0
    """Of its declines and challenges, those a velocity or burst hit decided."""
    declined_by: Counter[str] = field(default_factory=Counter)
    """The deciding reason codes of its declines…"""
    challenged_by: Counter[str] = field(default_factory=Counter)
    """…and of its challenges."""

    @property
    def stopped(self) -> int:
        return self.declined + self.challenged

    @property
    def stopped_rate(self) -> float:
        return self.stopped / self.payments if self.payments else 0.0

    @property
    def stopped_money_rate(self) -> float:
        return self.stopped_fen / self.fen if self.fen else 0.0

    @property
    def declined_rate(self) -> float:
        return self.declined / self.payments if self.payments else 0.0

    @property
    def challenged_rate(self) -> float:
        return self.challenged / self.payments if self.payments else 0.0

    def share(self, count: int) -> float:
        return count / self.payments if self.payments else 0.0

    def count(self, p: Payment, decision: RiskDecision, *, velocity: bool) -> None:
        declined = decision.action is RiskAction.DECLINE
        challenged = decision.action is RiskAction.CHALLENGE
        self.payments += 1
        self.fen += p.amount
        if not (declined or challenged):
            return
        self.declined += declined
        self.challenged += challenged
        self.stopped_fen += p.amount
        self.velocity_declined += declined and velocity
        self.velocity_challenged += challenged and velocity
        codes = self.declined_by if declined else self.challenged_by
        codes.update({hit.code for hit in decision.deciding})


@dataclass
class Result:
    policy_version: str
    fraud: int = 0
    fraud_stopped: int = 0
    fraud_fen: int = 0
    fraud_stopped_fen: int = 0
    legit: int = 0
    legit_declined: int = 0
    legit_challenged: int = 0
    legit_velocity_declined: int = 0
    legit_velocity_challenged: int = 0
    """Legitimate payments refused by a velocity or burst hit among the deciding ones."""
    by_pattern: dict[str, PatternScore] = field(default_factory=dict)
    by_rule: dict[str, RuleScore] = field(default_factory=lambda: defaultdict(RuleScore))
    pipeline_ns: list[int] = field(default_factory=list)

    def pipeline_us(self, fraction: float) -> float:
        ordered = sorted(self.pipeline_ns)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1_000

    @property
    def recall(self) -> float:
        return self.fraud_stopped / self.fraud if self.fraud else 0.0

    @property
    def money_recall(self) -> float:
        return self.fraud_stopped_fen / self.fraud_fen if self.fraud_fen else 0.0

    @property
    def false_decline_rate(self) -> float:
        return self.legit_declined / self.legit if self.legit else 0.0

    @property
    def challenge_rate(self) -> float:
        return self.legit_challenged / self.legit if self.legit else 0.0

    @property
    def velocity_decline_rate(self) -> float:
        return self.legit_velocity_declined / self.legit if self.legit else 0.0

    @property
    def velocity_challenge_rate(self) -> float:
        return self.legit_velocity_challenged / self.legit if self.legit else 0.0

    def count(self, p: Payment, decision: RiskDecision) -> None:
        """Score one decided payment: overall, in its pattern, and per reason code."""
        declined = decision.action is RiskAction.DECLINE
        challenged = decision.action is RiskAction.CHALLENGE
        velocity = any(hit.rule in VELOCITY_RULES for hit in decision.deciding)
        fraud = p.label == "fraud"
        self.by_pattern.setdefault(p.pattern, PatternScore(p.label)).count(
            p, decision, velocity=velocity
        )
        if fraud:
            self.fraud += 1
            self.fraud_stopped += declined or challenged
            self.fraud_fen += p.amount
            self.fraud_stopped_fen += p.amount if declined or challenged else 0
        else:
            self.legit += 1
            self.legit_declined += declined
            self.legit_challenged += challenged
            self.legit_velocity_declined += declined and velocity
            self.legit_velocity_challenged += challenged and velocity
        for code in {hit.code for hit in decision.enforced}:
            score = self.by_rule[code]
            score.fraud += fraud
            score.legit += not fraud

    def score(self, code: str) -> RuleScore:
        return self.by_rule.get(code) or RuleScore()

    def rule_recall(self, code: str) -> float:
        return self.score(code).fraud / self.fraud if self.fraud else 0.0


def backtest(policy: Policy, traffic: list[Payment]) -> Result:
    state = MemoryFeatures(policy.velocity_window_s, policy.burst_window_s)
    result = Result(policy.version)
    for p in traffic:
        result.count(p, decide(policy, state, p))
    result.pipeline_ns = state.pipeline_ns
    return result
