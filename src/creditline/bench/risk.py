"""`creditline bench risk`: one risk decision's latency, beside the pipeline alone.

Rows, same run: the pipeline alone (features already in memory) — the baseline; then,
for each feature store, the decision exactly as authorization makes it (`service.risk.
assess`: one round trip for up to five keys, the period sums from the account, the
pipeline), and separately the decision's writes (in the hold's transaction for the
database store, after commit for Redis — neither is on the decision's path). The stores
are seeded first with `history` purchases and attempts on each of `accounts` accounts,
so reads are warm and windows non-empty.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from creditline.adapters.features import RedisFeatureStore
from creditline.adapters.risk_policy import load_policy
from creditline.adapters.verifier import LocalVerifier
from creditline.bootstrap import Runtime
from creditline.domain.account import Account, open_account
from creditline.domain.money import Money
from creditline.domain.risk.decision import RiskAction
from creditline.domain.risk.inputs import Features, Location, PaymentRequest
from creditline.domain.risk.pipeline import evaluate
from creditline.domain.risk.rules import RiskContext
from creditline.domain.spend import PeriodSpend
from creditline.service.ports import UnitOfWork
from creditline.service.risk.engine import RiskEngine, account_facts, assess
from creditline.service.risk.feature_store import FeatureStore, Observation
from creditline.service.risk.features import Keys, decision_observations

CITY = Location(31.2304, 121.4737, "Shanghai")
SEED_BATCH = 2_000


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


def _keys(tag: str, n: int) -> Keys:
    return Keys("plat_bench", f"acct_{tag}{n}", f"dev-{tag}{n}", f"10.{n % 250}.0.1")


def _seed(store: FeatureStore, tag: str, accounts: int, history: int, now: datetime) -> None:
    rng = random.Random(1)
    batch: list[tuple[str, Observation]] = []
    for n in range(accounts):
        keys = _keys(tag, n)
        for h in range(history):
            at = now - timedelta(hours=rng.uniform(0.1, 24 * 25), seconds=h)
            place = f"{keys.device_id}|Shanghai|31.2,121.4"
            batch.append((keys.purchases, Observation(at, rng.randint(1_000, 50_000), place)))
            batch.append((keys.attempts, Observation(at)))
            if len(batch) >= SEED_BATCH:
                store.record(batch)
                batch = []
    store.record(batch)


def _account(keys: Keys, now: datetime) -> Account:
    opened = open_account(
        account_id=keys.account_id,
        platform_id="plat_bench",
        external_ref=keys.account_id,
        credit_limit=Money(1_000_000),
        now=now - timedelta(days=400),
    )
    return replace(opened, spend=PeriodSpend().plus(Money(20_000), now))


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


Step = Callable[[Keys, Account, PaymentRequest], None]


def _measure(step: Step, tag: str, accounts: int, decisions: int) -> list[float]:
    rng = random.Random(2)
    samples = []
    for _ in range(decisions):
        keys = _keys(tag, rng.randrange(accounts))
        now = datetime.now(UTC)
        account, request = _account(keys, now), _request(keys, now, rng)
        started = time.perf_counter_ns()
        step(keys, account, request)
        samples.append((time.perf_counter_ns() - started) / 1_000)
    return samples


def run_risk(
    rt: Runtime, *, accounts: int, history: int, decisions: int, redis: bool
) -> list[RiskRow]:
    policy = load_policy()
    now = datetime.now(UTC)
    tag = secrets.token_hex(3)
    warm = Features(
        recent_amounts=tuple(Money(10_000 + n) for n in range(20)), known_devices=frozenset({"d"})
    )

    def pipeline_only(_keys: Keys, account: Account, request: PaymentRequest) -> None:
        evaluate(RiskContext(request, account_facts(account), warm, policy))

    baseline = _percentiles(_measure(pipeline_only, tag, accounts, decisions))
    rows = [RiskRow("pipeline alone (features in memory)", *baseline, 1.0)]
    verifier = LocalVerifier("bench")
    stores: list[tuple[str, RiskEngine]] = [
        ("database store", RiskEngine(lambda: policy, verifier))
    ]
    redis_store = (
        RedisFeatureStore.from_url(rt.settings.redis_url, prefix=f"bench:{tag}:") if redis else None
    )
    if redis_store is not None:
        stores.append(("Redis store", RiskEngine(lambda: policy, verifier, redis_store)))
    try:
        for name, engine in stores:
            with rt.uow_factory(write=True) as uow:
                _seed(engine.features_in(uow), tag, accounts, history, now)
                uow.commit()
            with rt.uow_factory(write=False) as uow:
                decide = _decide(engine, uow)
                reads = _percentiles(_measure(decide, tag, accounts, decisions))
            rows.append(
                RiskRow(f"{name}: decision (1 read + pipeline)", *reads, reads[1] / baseline[1])
            )
            writes = _percentiles(_measure(_writes(rt, engine), tag, accounts, decisions))
            label = "own commit" if engine.shared_features is None else "after commit"
            rows.append(RiskRow(f"{name}: writes ({label})", *writes, writes[1] / baseline[1]))
    finally:
        if redis_store is not None:
            redis_store.prune(now + timedelta(days=1))
            redis_store.close()
    return rows


def _decide(engine: RiskEngine, uow: UnitOfWork) -> Step:
    def decide(_keys: Keys, account: Account, request: PaymentRequest) -> None:
        assess(engine, uow, account, request)

    return decide


def _writes(rt: Runtime, engine: RiskEngine) -> Step:
    """The observations of an approved payment, as authorization writes them."""

    def write(keys: Keys, _account: Account, request: PaymentRequest) -> None:
        items = decision_observations(keys, request, RiskAction.APPROVE, placed=True)
        if engine.shared_features is not None:
            engine.shared_features.record(items)
            return
        with rt.uow_factory(write=True) as uow:
            uow.features.record(items)
            uow.commit()

    return write
