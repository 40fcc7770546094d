"""`creditline simulate`: seeded, labelled payment traffic for backtesting risk policies.

Legitimate users live in a home city, shop on one or two devices from their own network,
a few times a day at amounts around their own median, now and then travelling by train
or plane (plausible speeds) and now and then buying gift cards in small amounts. On top
of that everyday shopping (pattern `none`) come the legitimate bursts of `bursts.py` —
multi-order baskets (many on Singles' Day), households on one home network, new phones,
split orders — and four fraud patterns:

- `cash_out`: a user turns the line into cash — gift cards, gold or top-ups for most of
  the limit, often on a young account;
- `takeover`: someone else takes the account over — a new device in a far city minutes
  after the owner's last payment, then large purchases;
- `velocity`: a script retries one account's payment many times a minute;
- `card_testing`: many tiny payments across many accounts from one device and network.

The same seed gives the same file, byte for byte.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from creditline.risk_lab import bursts
from creditline.risk_lab.traffic import (
    CASH_OUT,
    CITIES,
    EVERYDAY,
    LIMIT_BY_TIER,
    MEDIAN_BY_TIER,
    START,
    TIERS,
    Payment,
    User,
    festival_midnights,
    from_jsonl,
    to_jsonl,
)

__all__ = ["Payment", "Scenario", "from_jsonl", "simulate", "to_jsonl"]


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: int = 7
    users: int = 1_500
    days: int = 30
    cash_out_users: int = 30
    takeovers: int = 30
    velocity_scripts: int = 20
    card_testing_runs: int = 5
    festival_basket_share: float = 0.5
    """Users who pay a basket on a festival day (Singles' Day is in the default days)."""
    basket_daily_rate: float = 0.01
    """Chance that a user pays a basket on an ordinary day."""
    basket_gap_mean_s: float = bursts.BASKET_GAP_MEAN_S
    """Mean time between a basket's orders: how fast the platform sends them."""
    household_share: float = 0.2
    """Users living in a household of 2–4 on one home network."""
    new_phone_share: float = 0.03
    split_order_share: float = 0.02

    def scaled(self, *, seed: int, users: int, days: int) -> Scenario:
        """The same mix of fraud, and the same shares of legitimate bursts, for another
        number of users."""
        scale = users / self.users
        return dataclasses.replace(
            self,
            seed=seed,
            users=users,
            days=days,
            cash_out_users=max(1, round(self.cash_out_users * scale)),
            takeovers=max(1, round(self.takeovers * scale)),
            velocity_scripts=max(1, round(self.velocity_scripts * scale)),
            card_testing_runs=max(1, round(self.card_testing_runs * scale)),
        )


def _users(rng: random.Random, scenario: Scenario) -> list[User]:
    users = []
    for n in range(scenario.users):
        tier = rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0]
        age_days = rng.randint(1, 20) if tier == "new" else rng.randint(60, 1_500)
        devices = [f"dev-{n}-a"] + ([f"dev-{n}-b"] if rng.random() < 0.4 else [])
        users.append(
            User(
                id=f"acct_sim{n:06d}",
                tier=tier,
                opened_at=START - timedelta(days=age_days),
                city=rng.choice(list(CITIES)),
                devices=devices,
                ip=f"10.{n // 250}.{n % 250}.{rng.randint(2, 250)}",
                median=int(rng.lognormvariate(math.log(MEDIAN_BY_TIER[tier]), 0.5)),
            )
        )
    return users


def _legit(rng: random.Random, user: User, scenario: Scenario) -> Iterator[Payment]:
    city = user.city
    for day in range(scenario.days):
        if rng.random() < 0.03:  # a trip: a day or more somewhere else, reached plausibly
            city = rng.choice(list(CITIES))
        elif city != user.city and rng.random() < 0.3:
            city = user.city
        user.itinerary.append(city)
        for _ in range(rng.choices([0, 1, 2, 3], [0.45, 0.35, 0.15, 0.05])[0]):
            at = START + timedelta(days=day, hours=rng.uniform(8, 23))
            amount = int(user.median * rng.lognormvariate(0, 0.5))
            category = rng.choice(EVERYDAY)
            if rng.random() < 0.02:
                category, amount = rng.choice(CASH_OUT), min(amount, 10_000)
            yield user.payment(at, amount, category, device=rng.choice(user.devices), city=city)


def _cash_out(rng: random.Random, user: User, scenario: Scenario) -> Iterator[Payment]:
    at = START + timedelta(days=rng.uniform(1, scenario.days - 1))
    limit = LIMIT_BY_TIER[user.tier]
    for _ in range(rng.randint(1, 3)):
        at += timedelta(minutes=rng.uniform(5, 240))
        category = rng.choice(CASH_OUT)
        amount = int(limit * rng.uniform(0.35, 0.9))
        yield user.payment(at, amount, category, label="fraud", pattern="cash_out")


def _takeover(rng: random.Random, user: User, scenario: Scenario) -> Iterator[Payment]:
    at = START + timedelta(days=rng.uniform(2, scenario.days - 1), hours=rng.uniform(0, 12))
    yield user.payment(at, user.median, rng.choice(EVERYDAY))  # the owner, at home
    far = max(CITIES, key=lambda c: _km(CITIES[c], CITIES[user.city]) + rng.random())
    for _ in range(rng.randint(2, 4)):
        at += timedelta(minutes=rng.uniform(3, 25))
        yield user.payment(
            at,
            int(user.median * rng.uniform(5, 20)),
            rng.choice(("electronics", *CASH_OUT)),
            device=f"dev-thief-{user.id}",
            ip=f"172.16.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            city=far,
            label="fraud",
            pattern="takeover",
        )


def _velocity(rng: random.Random, user: User, scenario: Scenario) -> Iterator[Payment]:
    at = START + timedelta(days=rng.uniform(1, scenario.days - 1))
    for _ in range(rng.randint(15, 40)):
        at += timedelta(seconds=rng.uniform(0.5, 3))
        yield user.payment(
            at,
            int(user.median * rng.uniform(0.5, 2)),
            rng.choice(EVERYDAY),
            label="fraud",
            pattern="velocity",
        )


def _card_testing(
    rng: random.Random, users: list[User], run: int, scenario: Scenario
) -> Iterator[Payment]:
    at = START + timedelta(days=rng.uniform(1, scenario.days - 1))
    device, ip = f"dev-bot-{run}", f"203.0.113.{run + 1}"
    for victim in rng.sample(users, min(len(users), rng.randint(120, 200))):
        at += timedelta(seconds=rng.uniform(0.2, 1.5))
        yield victim.payment(
            at,
            rng.randint(100, 500),
            "top_up",
            items=["top_up"],
            device=device,
            ip=ip,
            label="fraud",
            pattern="card_testing",
        )


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 12_742 * math.asin(min(1.0, math.sqrt(h)))


def simulate(scenario: Scenario) -> list[Payment]:
    rng = random.Random(scenario.seed)  # noqa: S311 - a seeded simulation, not secrets
    users = _users(rng, scenario)
    households = bursts.form_households(
        bursts.stream(scenario.seed, "household"), users, scenario.household_share
    )
    traffic: list[Payment] = []
    for user in users:
        traffic += _legit(rng, user, scenario)
    for user in rng.sample(users, scenario.cash_out_users):
        traffic += _cash_out(rng, user, scenario)
    for user in rng.sample(users, scenario.takeovers):
        traffic += _takeover(rng, user, scenario)
    for user in rng.sample(users, scenario.velocity_scripts):
        traffic += _velocity(rng, user, scenario)
    for run in range(scenario.card_testing_runs):
        traffic += _card_testing(rng, users, run, scenario)
    traffic += _bursts(scenario, users, households)
    traffic.sort(key=lambda p: (p.at, p.account))
    return traffic


def _bursts(scenario: Scenario, users: list[User], households: list[list[User]]) -> list[Payment]:
    """The legitimate bursts, each pattern from its own random stream."""
    seed, days = scenario.seed, scenario.days
    festivals = festival_midnights(START, days)
    return [
        *bursts.baskets(
            bursts.stream(seed, "basket"),
            users,
            START,
            days,
            festivals,
            festival_share=scenario.festival_basket_share,
            daily_rate=scenario.basket_daily_rate,
            gap_mean_s=scenario.basket_gap_mean_s,
        ),
        *bursts.household_evenings(
            bursts.stream(seed, "household_evening"), households, START, days, festivals
        ),
        *bursts.new_phones(
            bursts.stream(seed, "new_phone"), users, START, days, scenario.new_phone_share
        ),
        *bursts.split_orders(
            bursts.stream(seed, "split_order"), users, START, days, scenario.split_order_share
        ),
    ]
