"""Legitimate bursts: the ordinary shopping a velocity rule must not mistake for a script.

- `basket`: one cart paid as several orders — platforms split a cart into one order (one
  authorization) per shop and authorize them back to back, 2–8 within a few seconds,
  from one device, network and city, at varied shops, categories and amounts. Half the
  users do it on a festival day (Singles' Day, many in the minutes after midnight), and
  anyone now and then on an ordinary day;
- `household`: a family on one home network — every member's payments come from the
  home IP, some use a shared tablet, and now and then (and on a festival) several of
  them pay within a couple of minutes of each other;
- `new_phone`: a new device id in the home city on the home network — the same person;
- `over_limit` then `split_order`: a payment over the tier's per-payment limit, declined
  (its remedy says to split the order), then seconds later 2–3 payments that fit.

Each pattern draws from its own random stream (seeded from the scenario's seed and the
pattern's name), so adding or changing one leaves the others' traffic as it was.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from creditline.risk_lab.traffic import (
    EVERYDAY,
    LIMIT_BY_TIER,
    PER_PAYMENT_BY_TIER,
    Payment,
    User,
)

BASKET_ORDERS = (2, 8)
"""Orders in one basket (one per shop)."""
BASKET_GAP_MEAN_S = 0.4
"""Mean time between two orders of a basket (the platform authorizes them in a row)."""
BASKET_GAP_MAX_FACTOR = 5
"""No gap is longer than this many means (2 s by default)."""
HOUSEHOLD_SIZE = (2, 4)
SPLIT_PARTS = (2, 3)
SHOPS = 2_000


def stream(seed: int, pattern: str) -> random.Random:
    return random.Random(f"{seed}:{pattern}")  # noqa: S311 - a seeded simulation, not secrets


def _shop(rng: random.Random) -> str:
    return f"mer_shop{rng.randrange(SHOPS):04d}"


def basket(
    rng: random.Random,
    user: User,
    at: datetime,
    *,
    orders: tuple[int, int] = BASKET_ORDERS,
    gap_mean_s: float = BASKET_GAP_MEAN_S,
    device: str | None = None,
    **extra: object,
) -> Iterator[Payment]:
    """2–8 orders within a few seconds, one per shop, from one device, network and city
    (wherever the user is that day)."""
    device = device or rng.choice(user.devices)
    extra.setdefault("city", user.city_at(at))
    for n in range(rng.randint(*orders)):
        if n:
            gap = min(BASKET_GAP_MAX_FACTOR * gap_mean_s, rng.expovariate(1 / gap_mean_s))
            at += timedelta(seconds=gap)
        category = rng.choice(EVERYDAY)
        amount = int(user.median * rng.lognormvariate(0, 0.6))
        fields = {"pattern": "basket", "device": device, "merchant": _shop(rng), **extra}
        yield user.payment(at, amount, category, **fields)


def baskets(
    rng: random.Random,
    users: list[User],
    start: datetime,
    days: int,
    festivals: list[datetime],
    *,
    festival_share: float,
    daily_rate: float,
    gap_mean_s: float = BASKET_GAP_MEAN_S,
) -> Iterator[Payment]:
    for user in users:
        for midnight in festivals:
            if rng.random() < festival_share:
                # A third in the rush after midnight, the rest through the day.
                late = rng.uniform(0, 600) if rng.random() < 1 / 3 else rng.uniform(600, 86_400)
                yield from basket(
                    rng, user, midnight + timedelta(seconds=late), gap_mean_s=gap_mean_s
                )
        for day in range(days):
            if rng.random() < daily_rate:
                at = start + timedelta(days=day, hours=rng.uniform(8, 23))
                yield from basket(rng, user, at, gap_mean_s=gap_mean_s)


def form_households(rng: random.Random, users: list[User], share: float) -> list[list[User]]:
    """Group a share of the users into households: one city, one home IP, and for some
    members a shared device. Mutates the users (their everyday traffic then comes from
    home too); returns the households."""
    pool = rng.sample(users, round(len(users) * share))
    households: list[list[User]] = []
    while len(pool) >= HOUSEHOLD_SIZE[0]:
        size = min(len(pool), rng.randint(*HOUSEHOLD_SIZE))
        members, pool = pool[:size], pool[size:]
        n = len(households)
        shared = f"dev-home-{n}"
        for member in members:
            member.city = members[0].city
            member.ip = f"100.64.{n // 250}.{n % 250 + 1}"
            if rng.random() < 0.5:
                member.shared_devices.append(shared)
                member.devices.append(shared)
        households.append(members)
    return households


def household_evenings(
    rng: random.Random,
    households: list[list[User]],
    start: datetime,
    days: int,
    festivals: list[datetime],
) -> Iterator[Payment]:
    """Some evenings (and each festival) several members pay within minutes of each
    other from home: one or two orders each, or a small basket, some on the shared device."""
    for members in households:
        moments = [
            start + timedelta(days=rng.randrange(days), hours=rng.uniform(11, 15))
            for _ in range(rng.randint(1, 3))
        ] + [m + timedelta(seconds=rng.uniform(0, 3_600)) for m in festivals]
        for moment in moments:
            for member in members:
                at = moment + timedelta(seconds=rng.uniform(0, 120))
                if rng.random() < 0.3 or not member.at_home(at):
                    continue
                device = rng.choice(member.shared_devices or member.devices)
                yield from basket(
                    rng, member, at, orders=(1, 4), device=device, pattern="household"
                )


def new_phones(
    rng: random.Random, users: list[User], start: datetime, days: int, share: float
) -> Iterator[Payment]:
    """A new device id at home (same city, same network): 1–4 payments that day."""
    for user in rng.sample(users, round(len(users) * share)):
        at = start + timedelta(days=rng.randrange(days), hours=rng.uniform(8, 20))
        if not user.at_home(at):
            continue
        device = f"{user.devices[0]}-new"
        for _ in range(rng.randint(1, 4)):
            amount = int(user.median * rng.lognormvariate(0, 0.5))
            yield user.payment(at, amount, rng.choice(EVERYDAY), device=device, pattern="new_phone")
            at += timedelta(seconds=rng.uniform(5, 7_200))


def split_orders(
    rng: random.Random, users: list[User], start: datetime, days: int, share: float
) -> Iterator[Payment]:
    """Over the per-payment limit (declined, 'split the order'), then seconds later the
    same goods in 2–3 payments that each fit, all at the same shop and well within the
    credit limit."""
    for user in rng.sample(users, round(len(users) * share)):
        at = start + timedelta(days=rng.randrange(days), hours=rng.uniform(8, 23))
        per_payment = PER_PAYMENT_BY_TIER[user.tier]
        high = min(1.9 * per_payment, 0.9 * LIMIT_BY_TIER[user.tier])
        total = int(rng.uniform(1.05 * per_payment, high))
        parts = max(SPLIT_PARTS[0], min(SPLIT_PARTS[1], math.ceil(total / per_payment)))
        parts = rng.randint(parts, SPLIT_PARTS[1])
        category, shop = rng.choice(("electronics", "home", "apparel")), _shop(rng)
        city = user.city_at(at)
        yield user.payment(at, total, category, merchant=shop, city=city, pattern="over_limit")
        for _ in range(parts):
            at += timedelta(seconds=rng.uniform(3, 20))
            yield user.payment(
                at, total // parts, category, merchant=shop, city=city, pattern="split_order"
            )
