"""`creditline bench risk`: one risk decision's latency, beside the pipeline alone.

Rows, same run: the pipeline alone (features already in memory) — the baseline; then a
full decision against each feature store: six feature reads, the pipeline, and the
decision's writes. The stores are seeded first with `history` purchases and attempts on
each of `accounts` accounts, so reads are warm and windows non-empty.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from creditline.adapters.features import RedisFeatureStore, SqlFeatureStore
from creditline.adapters.risk_policy import load_policy
from creditline.bootstrap import Runtime
from creditline.domain.account import AccountStatus
from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskDecision
from creditline.domain.risk.inputs import AccountFacts, Features, Location, PaymentRequest
from creditline.domain.risk.pipeline import evaluate
from creditline.domain.risk.policy import Policy
from creditline.domain.risk.rules import RiskContext
from creditline.service.features import FeatureStore, Observation
from creditline.service.risk_features import Keys, load_features, record_decision

CITY = Location(31.2304, 121.4737, "Shanghai")


@dataclass(frozen=True, slots=True)
class RiskRow:
    name: str
    p50_us: float
    p99_us: float
    max_us: float
    ratio: float


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)], ordered[-1]


def _seed(store: FeatureStore, tag: str, accounts: int, history: int, now: datetime) -> None:
    rng = random.Random(1)
    for n in range(accounts):
        keys = Keys(f"acct_{tag}{n}", f"dev-{tag}{n}", f"10.{n % 250}.0.1")
        for h in range(history):
            at = now - timedelta(hours=rng.uniform(0.1, 24 * 25), seconds=h)
            store.record(
                keys.purchases,
                Observation(
                    at, rng.randint(1_000, 50_000), f"{keys.device_id}|Shanghai|31.2,121.4"
                ),
            )
            store.record(keys.attempts, Observation(at))


def _request(keys: Keys, now: datetime, rng: random.Random) -> PaymentRequest:
    return PaymentRequest(
        amount=Money(rng.randint(1_000, 50_000)),
        merchant_id="mer_bench",
        at=now,
        item_categories=("books",),
        device_id=keys.device_id,
        ip=keys.ip,
        location=CITY,
    )


def _facts(now: datetime) -> AccountFacts:
    return AccountFacts(
        status=AccountStatus.ACTIVE,
        tier="standard",
        real_name_verified=True,
        opened_at=now - timedelta(days=400),
        credit_limit=Money(1_000_000),
        used=Money(0),
        locked=Money(0),
    )


def _measure(
    decide: Callable[[Keys, PaymentRequest], object],
    tag: str,
    accounts: int,
    decisions: int,
    after: Callable[[Keys, PaymentRequest, object], None] | None = None,
) -> list[float]:
    """Time `decide` for random accounts; `after` (the decision's writes) runs untimed."""
    rng = random.Random(2)
    samples = []
    for _ in range(decisions):
        n = rng.randrange(accounts)
        keys = Keys(f"acct_{tag}{n}", f"dev-{tag}{n}", f"10.{n % 250}.0.1")
        request = _request(keys, datetime.now(UTC), rng)
        started = time.perf_counter_ns()
        decision = decide(keys, request)
        samples.append((time.perf_counter_ns() - started) / 1_000)
        if after is not None:
            after(keys, request, decision)
    return samples


def _decide(store: FeatureStore, policy: Policy) -> Callable[[Keys, PaymentRequest], object]:
    def decide(keys: Keys, request: PaymentRequest) -> object:
        features = load_features(store, keys, request.at, policy)
        return evaluate(RiskContext(request, _facts(request.at), features, policy))

    return decide


def _write(store: FeatureStore) -> Callable[[Keys, PaymentRequest, object], None]:
    def write(keys: Keys, request: PaymentRequest, decision: object) -> None:
        assert isinstance(decision, RiskDecision)
        record_decision(store, keys, request, decision)

    return write


def _both(
    decide: Callable[[Keys, PaymentRequest], object],
    write: Callable[[Keys, PaymentRequest, object], None],
) -> Callable[[Keys, PaymentRequest], object]:
    def both(keys: Keys, request: PaymentRequest) -> object:
        decision = decide(keys, request)
        write(keys, request, decision)
        return decision

    return both


def run_risk(
    rt: Runtime, *, accounts: int, history: int, decisions: int, redis: bool
) -> list[RiskRow]:
    policy = load_policy()
    now = datetime.now(UTC)
    tag = secrets.token_hex(3)
    warm = Features(
        recent_amounts=tuple(Money(10_000 + n) for n in range(20)), known_devices=frozenset({"d"})
    )

    def pipeline_only(keys: Keys, request: PaymentRequest) -> None:
        evaluate(RiskContext(request, _facts(request.at), warm, policy))

    rows = []
    baseline = _percentiles(_measure(pipeline_only, tag, accounts, decisions))
    rows.append(RiskRow("pipeline alone (features in memory)", *baseline, 1.0))
    stores: list[tuple[str, FeatureStore]] = [("database store", SqlFeatureStore(rt.engine))]
    redis_store = (
        RedisFeatureStore.from_url(rt.settings.redis_url, prefix=f"bench:{tag}:") if redis else None
    )
    if redis_store is not None:
        stores.append(("Redis store", redis_store))
    try:
        for name, store in stores:
            _seed(store, tag, accounts, history, now)
            decide, write = _decide(store, policy), _write(store)
            reads = _percentiles(_measure(decide, tag, accounts, decisions, after=write))
            rows.append(RiskRow(f"{name}: 6 reads + decide", *reads, reads[1] / baseline[1]))
            both = _percentiles(_measure(_both(decide, write), tag, accounts, decisions))
            rows.append(RiskRow(f"{name}: + the decision's writes", *both, both[1] / baseline[1]))
    finally:
        if redis_store is not None:
            redis_store.prune(now + timedelta(days=1))
            redis_store.close()
    return rows
