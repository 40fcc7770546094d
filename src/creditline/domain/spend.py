"""What an account has spent today and this month, kept on the account row itself.

Daily and monthly amount and count limits must hold even when two payments race: the
counters live on the account and change in the same versioned write as the hold, so of
two concurrent payments the second one re-reads the first one's spending (it loses the
version check and is decided again) and cannot pass the limit with it.

Periods are Asia/Shanghai business days and calendar months. A counter from an earlier
period reads as zero (`as_of`); it is rolled over when the next payment is counted.
Approved payments count when authorized; a release or refund does not give the amount
back (as card schemes count authorizations) — see docs/RISK.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from creditline.domain.money import ZERO, Money

BUSINESS_TZ = timezone(timedelta(hours=8))
"""Asia/Shanghai (no daylight saving)."""


def business_day(at: datetime) -> date:
    return at.astimezone(BUSINESS_TZ).date()


def business_day_start(at: datetime) -> datetime:
    """Midnight in Asia/Shanghai of the business day `at` falls in."""
    return at.astimezone(BUSINESS_TZ).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class PeriodSpend:
    day: date | None = None
    """The business day the day counters belong to."""
    day_amount: Money = ZERO
    day_count: int = 0
    month: date | None = None
    """The first day of the month the month counters belong to."""
    month_amount: Money = ZERO
    month_count: int = 0

    def __post_init__(self) -> None:
        assert min(self.day_amount.fen, self.day_count) >= 0, self
        assert min(self.month_amount.fen, self.month_count) >= 0, self

    def as_of(self, at: datetime) -> PeriodSpend:
        """The counters as they stand at `at`: a past day or month reads as zero."""
        today = business_day(at)
        month = today.replace(day=1)
        same_day = self.day == today
        same_month = self.month == month
        if same_day and same_month:
            return self
        return PeriodSpend(
            day=today,
            day_amount=self.day_amount if same_day else ZERO,
            day_count=self.day_count if same_day else 0,
            month=month,
            month_amount=self.month_amount if same_month else ZERO,
            month_count=self.month_count if same_month else 0,
        )

    def plus(self, amount: Money, at: datetime) -> PeriodSpend:
        """Counted one more approved payment of `amount` at `at`."""
        now = self.as_of(at)
        return PeriodSpend(
            day=now.day,
            day_amount=now.day_amount + amount,
            day_count=now.day_count + 1,
            month=now.month,
            month_amount=now.month_amount + amount,
            month_count=now.month_count + 1,
        )
