"""Named limits of the domain, units last (TigerStyle: every quantity has a bound).

These are defaults; a deployment changes them through settings, never by editing code
paths. Amount bounds keep every sum of fen far inside a signed 64-bit column.
"""

from __future__ import annotations

from creditline.domain.money import Money

SECONDS_PER_DAY = 86_400

HOLD_TTL_S_DEFAULT = 7 * SECONDS_PER_DAY
"""A hold's default lifetime: the SPEC's 7 days."""

HOLD_TTL_S_MIN = 60
"""Shorter holds would expire before a checkout finishes."""

HOLD_TTL_S_MAX = 30 * SECONDS_PER_DAY
"""No hold may lock credit longer than a card pre-authorisation (30 days)."""

AMOUNT_MAX = Money(100_000_000_00)
"""The largest single amount (¥100,000,000.00) a request may carry."""

CREDIT_LIMIT_MAX = Money(100_000_000_00)
"""The largest credit limit an account may have."""
