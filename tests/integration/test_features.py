"""One suite for both feature stores: the database (SQLite, PostgreSQL) and Redis.

Same observations in, same answers out — windows, last N, ties, pruning — so a
deployment can switch stores without changing a decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine

from creditline.adapters.features import RedisFeatureStore, SqlFeatureStore
from creditline.service.risk.feature_store import (
    RECENT_MAX,
    FeatureStore,
    Observation,
    Query,
    Window,
    summarize,
)
from tests.conftest import START, truncate_all


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[FeatureStore]:
    if request.param == "redis":
        redis_store = RedisFeatureStore.from_url(
            request.getfixturevalue("redis_url"), prefix=f"test:{uuid.uuid4().hex}:"
        )
        yield redis_store
        redis_store.prune(START + timedelta(days=3650))
        redis_store.close()
        return
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_url")
        truncate_all(url)
    engine = create_engine(url)
    yield SqlFeatureStore(engine)
    engine.dispose()


def since(store: FeatureStore, key: str, start: datetime) -> list[Observation]:
    return store.read([Query(key, since=start)])[0]


def latest(store: FeatureStore, key: str, count: int) -> list[Observation]:
    return store.read([Query(key, limit=min(count, RECENT_MAX))])[0]


def at(minutes: float) -> Observation:
    return Observation(START + timedelta(minutes=minutes))


def test_windows_count_sum_and_distinct(store: FeatureStore) -> None:
    for minute, amount, tag in [(0, 100, "dev-a"), (5, 250, "dev-b"), (9, 50, "dev-a")]:
        store.record(
            [("acct:1:purchase", Observation(START + timedelta(minutes=minute), amount, tag))]
        )
    store.record([("acct:2:purchase", Observation(START, 999, "dev-z"))])
    window = summarize(since(store, "acct:1:purchase", START + timedelta(minutes=5)))
    assert window == Window(2, 300, 2, START + timedelta(minutes=9))
    everything = summarize(since(store, "acct:1:purchase", START - timedelta(days=1)))
    assert (everything.count, everything.total, everything.distinct) == (3, 400, 2)
    assert summarize(since(store, "acct:9:purchase", START)) == Window(0, 0, 0, None)


def test_latest_is_newest_first_and_bounded(store: FeatureStore) -> None:
    for minute in range(8):
        store.record([("acct:1:purchase", Observation(START + timedelta(minutes=minute), minute))])
    assert [o.amount for o in latest(store, "acct:1:purchase", 3)] == [7, 6, 5]
    assert len(latest(store, "acct:1:purchase", 1_000)) == 8
    assert latest(store, "nobody", 5) == []


def test_equal_observations_are_all_kept(store: FeatureStore) -> None:
    for _ in range(3):
        store.record([("ip:10.0.0.1:attempt", at(1))])
    assert summarize(since(store, "ip:10.0.0.1:attempt", START)).count == 3


def test_window_start_is_inclusive_and_times_round_trip(store: FeatureStore) -> None:
    exact = START + timedelta(seconds=30, microseconds=123_456)
    store.record([("acct:1:attempt", Observation(exact, 0, "x"))])
    [found] = since(store, "acct:1:attempt", exact)
    assert found == Observation(exact, 0, "x")
    assert since(store, "acct:1:attempt", exact + timedelta(microseconds=1)) == []


def test_pruning_forgets_old_observations_only(store: FeatureStore) -> None:
    store.record([("acct:1:attempt", at(0))])
    store.record([("acct:1:attempt", at(60))])
    assert store.prune(START + timedelta(minutes=30)) == 1
    assert latest(store, "acct:1:attempt", 10) == [at(60)]


def test_features_from_decisions_agree_across_stores(store: FeatureStore) -> None:
    """Decisions recorded, then a payment's features read back: same on every store."""
    from creditline.adapters.risk_policy import load_policy  # noqa: PLC0415
    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.risk.decision import RiskAction  # noqa: PLC0415
    from creditline.domain.risk.inputs import Location, PaymentRequest, Seen  # noqa: PLC0415
    from creditline.domain.spend import PeriodSpend  # noqa: PLC0415
    from creditline.service.risk.features import Keys, decision_observations, load_features  # noqa: PLC0415

    policy = load_policy()
    keys = Keys("plat_1", "acct_1", "dev-1", "10.0.0.1")
    shanghai = Location(31.2304, 121.4737, "Shanghai")

    def paid(minutes: float, fen: int, action: RiskAction, device: str = "dev-1") -> None:
        request = PaymentRequest(
            amount=Money(fen),
            merchant_id="mer_one",
            at=START + timedelta(minutes=minutes),
            device_id=device,
            ip="10.0.0.1",
            location=shanghai,
        )
        placed = action in (RiskAction.APPROVE, RiskAction.FLAG)
        keys = Keys("plat_1", "acct_1", device, "10.0.0.1")
        store.record(decision_observations(keys, request, action, placed=placed))

    paid(-60 * 24 * 40, 99_999, RiskAction.APPROVE)  # last month: not in this month's sums
    paid(0, 10_000, RiskAction.APPROVE)
    paid(10, 20_000, RiskAction.FLAG, device="dev-2")
    paid(11, 500_000, RiskAction.DECLINE)
    paid(11.5, 600_000, RiskAction.DECLINE)
    paid(11.9, 5_000, RiskAction.CHALLENGE)
    now = START + timedelta(minutes=12)
    spend = PeriodSpend().plus(Money(10_000), START).plus(Money(20_000), START)
    f = load_features(store, keys, now, policy, spend)
    # START is 10:00 in Shanghai on 2026-11-22: the period sums are the account's own.
    assert (f.day_amount, f.day_count) == (Money(30_000), 2)
    assert (f.month_amount, f.month_count) == (Money(30_000), 2)
    assert (f.account_attempts, f.device_attempts, f.ip_attempts) == (3, 3, 3)
    assert f.account_burst_attempts == 1  # the challenge, 6 s ago
    assert f.recent_declines == 2
    assert f.last_seen == Seen(START + timedelta(minutes=10), shanghai)
    assert f.known_devices == frozenset({"dev-1", "dev-2"})
    assert f.known_cities == frozenset({"Shanghai"})
    assert f.recent_amounts == (Money(20_000), Money(10_000), Money(99_999))


def test_a_key_under_attack_costs_a_payment_a_few_rows(store: FeatureStore) -> None:
    """An IP with 200 attempts in the window: the decision reads one past the threshold
    (not 200 rows), the count says so, and the velocity rule still declines."""
    from creditline.adapters.risk_policy import load_policy  # noqa: PLC0415
    from creditline.domain.risk.decision import RiskAction  # noqa: PLC0415
    from creditline.domain.risk.pipeline import evaluate  # noqa: PLC0415
    from creditline.domain.spend import PeriodSpend  # noqa: PLC0415
    from creditline.service.risk.features import Keys, feature_queries, load_features  # noqa: PLC0415
    from tests.unit.test_risk import ctx  # noqa: PLC0415 (the rules' test context)

    policy = load_policy()
    keys = Keys("plat_1", "acct_1", "dev-1", "10.6.6.6")
    now = START + timedelta(minutes=10)
    ip_key = str(keys.ip_attempts)
    store.record([(ip_key, Observation(now - timedelta(seconds=n / 10))) for n in range(200)])
    queries = feature_queries(keys, now, policy)
    assert store.read(queries)[-1] == [
        Observation(now - timedelta(seconds=n / 10)) for n in range(policy.ip_attempts_max + 1)
    ]
    f = load_features(store, keys, now, policy, PeriodSpend())
    assert f.ip_attempts == policy.ip_attempts_max + 1
    assert (f.account_attempts, f.device_attempts) == (0, 0)
    decision = evaluate(ctx(100, request={"at": now, "ip": "10.6.6.6"}, features=f))
    assert decision.action is RiskAction.DECLINE
    assert "velocity_ip" in {hit.code for hit in decision.hits}


def test_one_round_trip_answers_many_queries_each_in_order(store: FeatureStore) -> None:
    for minute in range(5):
        store.record(
            [("a", at(minute)), ("b", Observation(START + timedelta(minutes=minute), minute))]
        )
    window, last_two, nothing = store.read(
        [Query("a", since=START + timedelta(minutes=3)), Query("b", limit=2), Query("zz")]
    )
    assert window == [at(4), at(3)]
    assert [o.amount for o in last_two] == [4, 3]
    assert nothing == []
    assert store.read([]) == []


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_prefetched_feature_reads_travel_with_the_accounts_and_agree(
    request: pytest.FixtureRequest, dialect: str
) -> None:
    """Inside a unit of work the feature read rides on the account read (PostgreSQL: one
    statement, the observations as a JSON column, kept even when no account is found) and
    answers exactly as a direct read — in any session time zone; a write in between
    discards it, and a locking read carries nothing."""
    from creditline.adapters.db.uow import SqlUnitOfWorkFactory  # noqa: PLC0415

    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    if dialect == "postgres":
        truncate_all(url)
    engine = create_engine(url)
    factory = SqlUnitOfWorkFactory(engine, cache_ttl_s=1)
    queries = [Query("a", since=START), Query("b", limit=2)]
    try:
        with factory(write=True) as uow:
            uow.features.record([("a", at(1)), ("b", at(2)), ("b", at(3)), ("b", at(4))])
            uow.commit()
        with factory(write=True) as uow:
            driver = getattr(uow, "_driver")  # noqa: B009 (the driver's stash)
            if dialect == "postgres":  # JSON renders times in the session's zone
                driver._raw.execute("SET LOCAL TimeZone = 'Asia/Shanghai'")
            direct = uow.features.read(queries)
            uow.features.prefetch(queries)
            assert uow.accounts.get("acct_nobody") is None  # carries the prefetched read
            assert len(driver._fetched) == (1 if dialect == "postgres" else 0)
            assert uow.features.read(queries) == direct == [[at(1)], [at(4), at(3)]]
            uow.features.prefetch(queries)
            uow.accounts.get("acct_nobody")
            uow.features.record([("a", at(5))])  # a write: the prefetched answer is stale
            assert uow.features.read(queries)[0] == [at(5), at(1)]
            uow.features.prefetch(queries)
            assert uow.accounts.lock("acct_nobody") is None  # FOR NO KEY UPDATE: not carried
            assert driver._fetched == {}
            assert uow.features.read(queries)[0] == [at(5), at(1)]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_database_store_prunes_in_batches_until_none_are_old(
    request: pytest.FixtureRequest, dialect: str
) -> None:
    """Each batch is its own short transaction; the loop stops at the first short batch,
    having taken every old observation (across keys) and none of the newer ones."""
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    if dialect == "postgres":
        truncate_all(url)
    engine = create_engine(url)
    store = SqlFeatureStore(engine)
    try:
        store.record([(f"k{n % 3}", at(n)) for n in range(7)])  # minutes 0..6: old
        store.record([("k0", at(30)), ("k1", at(31))])
        assert store.prune(START + timedelta(minutes=10), batch_rows=2) == 7
        assert store.read([Query("k0"), Query("k1"), Query("k2")]) == [[at(30)], [at(31)], []]
        assert store.prune(START + timedelta(minutes=10), batch_rows=2) == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("overrides", "prunes"),
    [
        ({}, True),
        ({"risk_features": "redis"}, False),  # Redis expires its own keys
        ({"risk_prune_interval_s": 0.0}, False),
        ({"risk_enabled": False}, False),
    ],
)
def test_serve_prunes_the_database_store_in_the_background(
    sqlite_url: str, overrides: dict[str, object], prunes: bool
) -> None:
    from creditline.bootstrap import bootstrap  # noqa: PLC0415
    from creditline.config import Settings  # noqa: PLC0415
    from creditline.entrypoints.api.app import _background_threads  # noqa: PLC0415

    runtime = bootstrap(Settings(database_url=sqlite_url, **overrides))  # type: ignore[arg-type]
    try:
        names = [thread.name for thread in _background_threads(runtime)]
        assert ("risk_prune" in names) is prunes, names
    finally:
        runtime.close()


AWKWARD = [
    "android|SM-G9910|14",
    'dev,"quoted",[x]',
    "深圳市|南山区",
    "ends-with-pipe|",
    "\u202eright-to-left",
    "emoji-📱-🔥",
    "back\\slash",
    "x" * 64,
    '"' * 64,
]


@pytest.mark.parametrize("device", AWKWARD)
def test_any_device_and_city_read_back_exactly(store: FeatureStore, device: str) -> None:
    """Client strings are stored structurally: a `|`, a comma, quotes or any Unicode in a
    device id or a city come back as sent, and the next decision can be made."""
    from creditline.adapters.risk_policy import load_policy  # noqa: PLC0415
    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.risk.decision import RiskAction  # noqa: PLC0415
    from creditline.domain.risk.inputs import Location, PaymentRequest, Seen  # noqa: PLC0415
    from creditline.domain.spend import PeriodSpend  # noqa: PLC0415
    from creditline.service.risk.features import Keys, decision_observations, load_features  # noqa: PLC0415

    keys = Keys("plat_1", "acct_1", device, f"{device[:20]}:ip")
    where = Location(22.54, 114.06, device[::-1][:64])
    request = PaymentRequest(
        Money(1_000), "mer_one", START, device_id=device, ip=keys.ip, location=where
    )
    store.record(decision_observations(keys, request, RiskAction.APPROVE, placed=True))
    later = START + timedelta(minutes=1)
    f = load_features(store, keys, later, load_policy(), PeriodSpend())
    assert f.known_devices == frozenset({device})
    assert f.known_cities == frozenset({where.city})
    assert f.last_seen == Seen(START, where)
    assert (f.account_attempts, f.device_attempts, f.ip_attempts) == (1, 1, 1)


def test_a_tag_from_another_version_counts_as_nowhere(store: FeatureStore) -> None:
    from creditline.adapters.risk_policy import load_policy  # noqa: PLC0415
    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.spend import PeriodSpend  # noqa: PLC0415
    from creditline.service.risk.features import Keys, load_features  # noqa: PLC0415

    keys = Keys("plat_1", "acct_1", None, None)
    for n, tag in enumerate(
        ["android|SM-G9910|14|31.2,121.4", "dev|Shanghai|31.2,121.4", "[1,2]", "[", "null"]
    ):
        store.record([(keys.purchases, Observation(START + timedelta(seconds=n), 500, tag))])
    f = load_features(store, keys, START + timedelta(minutes=1), load_policy(), PeriodSpend())
    assert f.recent_amounts == (Money(500),) * 5
    assert (f.last_seen, f.known_devices, f.known_cities) == (None, frozenset(), frozenset())


def test_one_platforms_traffic_never_counts_for_another(store: FeatureStore) -> None:
    """Device and IP keys are scoped by platform: a device hammered on one platform is
    new, with no attempts, on another."""
    from creditline.adapters.risk_policy import load_policy  # noqa: PLC0415
    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.domain.risk.decision import RiskAction  # noqa: PLC0415
    from creditline.domain.risk.inputs import PaymentRequest  # noqa: PLC0415
    from creditline.domain.spend import PeriodSpend  # noqa: PLC0415
    from creditline.service.risk.features import Keys, decision_observations, load_features  # noqa: PLC0415

    policy = load_policy()
    for n in range(30):
        keys = Keys("plat_a", f"acct_a{n}", "shared-device", "10.9.9.9")
        request = PaymentRequest(
            Money(100), "mer_a", START, device_id="shared-device", ip="10.9.9.9"
        )
        store.record(decision_observations(keys, request, RiskAction.DECLINE, placed=False))
    theirs = Keys("plat_a", "acct_a99", "shared-device", "10.9.9.9")
    ours = Keys("plat_b", "acct_b1", "shared-device", "10.9.9.9")
    now = START + timedelta(seconds=5)
    found = load_features(store, theirs, now, policy, PeriodSpend())
    assert found.device_attempts > policy.device_attempts_max
    mine = load_features(store, ours, now, policy, PeriodSpend())
    assert (mine.device_attempts, mine.ip_attempts, mine.account_attempts) == (0, 0, 0)


def test_old_tags_that_look_like_json_never_shift_the_others(store: FeatureStore) -> None:
    from creditline.adapters.risk_policy import load_policy  # noqa: PLC0415
    from creditline.domain.spend import PeriodSpend  # noqa: PLC0415
    from creditline.service.risk.features import Keys, load_features  # noqa: PLC0415

    keys = Keys("plat_1", "acct_1", None, None)
    tags = ['["dev-a","Shanghai",31.2,121.5]', "[1],[2|x|1,2", '["dev-b","Beijing",39.9,116.4]']
    for n, tag in enumerate(tags):
        store.record([(keys.purchases, Observation(START + timedelta(seconds=n), 100, tag))])
    f = load_features(store, keys, START + timedelta(minutes=1), load_policy(), PeriodSpend())
    assert f.known_devices == frozenset({"dev-a", "dev-b"})
    assert f.known_cities == frozenset({"Shanghai", "Beijing"})
    assert f.last_seen is not None
    assert f.last_seen.location.city == "Beijing"
