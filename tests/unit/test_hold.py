"""Holds: placing, partial and final captures, release, expiry, forced capture, refunds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline.domain.account import Account, open_account, with_balances
from creditline.domain.errors import (
    CaptureExceedsHold,
    HoldAlreadyCaptured,
    HoldAlreadyExpired,
    HoldAlreadyReleased,
    HoldExpired,
    InsufficientCredit,
    InvalidAmount,
    InvalidHoldTtl,
    RefundExceedsCaptured,
)
from creditline.domain.hold import (
    HOLD_TRANSITIONS,
    EventIds,
    Hold,
    HoldAction,
    HoldEventKind,
    HoldStatus,
    Stamp,
    capture,
    expire,
    place_hold,
    release,
    transition,
)
from creditline.domain.ledger import EntryKind, LedgerAccount, sum_postings
from creditline.domain.limits import HOLD_TTL_S_DEFAULT, HOLD_TTL_S_MAX
from creditline.domain.money import Money
from creditline.domain.refund import refund
from tests.conftest import START

IDS = EventIds("hev_1", "hev_2", "je_1")
DAY = timedelta(days=1)


def fresh(limit: int = 100_000) -> Account:
    return open_account(
        account_id="acct_1",
        platform_id="plat_1",
        external_ref="u1",
        credit_limit=Money(limit),
        now=START,
    )


def held(amount: int = 30_000, limit: int = 100_000) -> tuple[Account, Hold]:
    return place_hold(
        fresh(limit),
        hold_id="hold_1",
        merchant_id="mer_1",
        order_id="o1",
        amount=Money(amount),
        ttl_s=HOLD_TTL_S_DEFAULT,
        now=START,
    )


def test_place_hold_locks_credit_until_the_deadline() -> None:
    account, hold = held(30_000)
    assert account.locked == Money(30_000)
    assert account.available == Money(70_000)
    assert hold.status is HoldStatus.PENDING
    assert hold.expires_at == START + timedelta(days=7)
    assert hold.open_amount == Money(30_000)


def test_place_hold_refuses_bad_amounts_and_lifetimes() -> None:
    with pytest.raises(InvalidAmount):
        held(0)
    with pytest.raises(InsufficientCredit):
        held(100_001)
    with pytest.raises(InvalidHoldTtl) as refused:
        place_hold(
            fresh(),
            hold_id="h",
            merchant_id="m",
            order_id="o",
            amount=Money(1),
            ttl_s=HOLD_TTL_S_MAX + 1,
            now=START,
        )
    assert refused.value.params["ttl_s_max"] == HOLD_TTL_S_MAX


def test_partial_captures_then_final_capture_releases_the_rest() -> None:
    account, hold = held(30_000)
    first = capture(
        account, hold, amount=Money(10_000), final=False, force=False, stamp=Stamp(START), ids=IDS
    )
    assert first.hold.status is HoldStatus.PENDING
    assert first.account.used == Money(10_000)
    assert first.account.locked == Money(20_000)
    second = capture(
        first.account,
        first.hold,
        amount=Money(5_000),
        final=True,
        force=False,
        stamp=Stamp(START),
        ids=EventIds("hev_3", "hev_4", "je_2"),
    )
    assert second.hold.status is HoldStatus.CAPTURED
    assert second.hold.captured == Money(15_000)
    assert second.hold.released == Money(15_000)
    assert second.account.used == Money(15_000)
    assert second.account.locked == Money(0)
    assert [e.kind for e in second.events] == [HoldEventKind.CAPTURED, HoldEventKind.RELEASED]
    assert second.entry is not None
    assert second.entry.kind is EntryKind.CAPTURE


def test_capturing_the_whole_open_amount_is_final() -> None:
    account, hold = held(30_000)
    change = capture(
        account, hold, amount=Money(30_000), final=False, force=False, stamp=Stamp(START), ids=IDS
    )
    assert change.hold.status is HoldStatus.CAPTURED
    assert len(change.events) == 1


def test_capture_more_than_held_is_refused() -> None:
    account, hold = held(30_000)
    with pytest.raises(CaptureExceedsHold) as refused:
        capture(
            account,
            hold,
            amount=Money(30_001),
            final=False,
            force=False,
            stamp=Stamp(START),
            ids=IDS,
        )
    assert refused.value.params == {"amount": 30_001, "open_amount": 30_000}


def test_release_gives_everything_back() -> None:
    account, hold = held(30_000)
    change = release(account, hold, stamp=Stamp(START, reason="cancelled"), event_id="hev_1")
    assert change.hold.status is HoldStatus.RELEASED
    assert change.account.available == Money(100_000)
    assert change.entry is None


@pytest.mark.parametrize(
    ("finish", "error"),
    [
        ("capture", HoldAlreadyCaptured),
        ("release", HoldAlreadyReleased),
        ("expire", HoldAlreadyExpired),
    ],
)
def test_acting_on_a_finished_hold_names_its_state(finish: str, error: type[Exception]) -> None:
    account, hold = held(30_000)
    later = START + 8 * DAY
    if finish == "capture":
        done = capture(
            account,
            hold,
            amount=Money(30_000),
            final=True,
            force=False,
            stamp=Stamp(START),
            ids=IDS,
        )
    elif finish == "release":
        done = release(account, hold, stamp=Stamp(START), event_id="hev_1")
    else:
        done = expire(account, hold, now=later, event_id="hev_1")
    with pytest.raises(error):
        release(done.account, done.hold, stamp=Stamp(START), event_id="hev_9")
    if finish != "expire":
        with pytest.raises(error):
            capture(
                done.account,
                done.hold,
                amount=Money(1),
                final=False,
                force=False,
                stamp=Stamp(START),
                ids=IDS,
            )


def test_every_move_outside_the_table_is_refused() -> None:
    for status in HoldStatus:
        for action in HoldAction:
            if (status, action) in HOLD_TRANSITIONS:
                assert transition(status, action) is HOLD_TRANSITIONS[(status, action)]
            elif status is HoldStatus.PENDING:
                continue  # every action is allowed from pending
            else:
                with pytest.raises(Exception, match="already"):
                    transition(status, action)


def test_a_hold_past_its_deadline_is_expired_for_every_decision() -> None:
    account, hold = held(30_000)
    late = START + 7 * DAY
    assert hold.effective_status(late - timedelta(microseconds=1)) is HoldStatus.PENDING
    assert hold.effective_status(late) is HoldStatus.EXPIRED
    with pytest.raises(HoldExpired):
        capture(
            account, hold, amount=Money(1), final=False, force=False, stamp=Stamp(late), ids=IDS
        )
    with pytest.raises(HoldAlreadyExpired):
        release(account, hold, stamp=Stamp(late), event_id="hev_1")


def test_forced_capture_after_expiry_may_exceed_the_limit_and_is_flagged() -> None:
    account, hold = held(30_000, limit=100_000)
    expired = expire(account, hold, now=START + 8 * DAY, event_id="hev_0")
    # Meanwhile the consumer spent the freed credit elsewhere.
    spent, _ = place_hold(
        expired.account,
        hold_id="hold_2",
        merchant_id="mer_1",
        order_id="o2",
        amount=Money(100_000),
        ttl_s=3_600,
        now=START + 8 * DAY,
    )
    forced = capture(
        spent,
        expired.hold,
        amount=Money(30_000),
        final=False,
        force=True,
        stamp=Stamp(START + 9 * DAY, reason="shipped late"),
        ids=IDS,
    )
    assert forced.hold.status is HoldStatus.CAPTURED
    assert forced.hold.forced == Money(30_000)
    assert forced.account.headroom == Money(-30_000)
    assert forced.account.last_forced_capture_at == START + 9 * DAY
    assert forced.entry is not None
    assert forced.entry.forced
    assert forced.entry.kind is EntryKind.FORCE_CAPTURE


def test_forced_capture_of_an_unswept_hold_expires_it_first() -> None:
    account, hold = held(30_000)
    forced = capture(
        account,
        hold,
        amount=Money(10_000),
        final=False,
        force=True,
        stamp=Stamp(START + 8 * DAY, reason="late"),
        ids=IDS,
    )
    assert [e.kind for e in forced.events] == [HoldEventKind.EXPIRED, HoldEventKind.FORCE_CAPTURED]
    assert forced.account.locked == Money(0)
    assert forced.account.used == Money(10_000)
    assert forced.hold.released == Money(30_000)
    with pytest.raises(HoldAlreadyCaptured):
        capture(
            forced.account,
            forced.hold,
            amount=Money(1),
            final=False,
            force=True,
            stamp=Stamp(START + 8 * DAY),
            ids=IDS,
        )


def test_force_flag_on_a_live_hold_is_an_ordinary_capture() -> None:
    account, hold = held(30_000)
    change = capture(
        account, hold, amount=Money(1_000), final=False, force=True, stamp=Stamp(START), ids=IDS
    )
    assert change.hold.forced == Money(0)
    assert change.account.last_forced_capture_at is None


def test_refund_reduces_used_then_owes_the_consumer() -> None:
    account, hold = held(30_000)
    captured = capture(
        account, hold, amount=Money(30_000), final=True, force=False, stamp=Stamp(START), ids=IDS
    )
    # The consumer repaid ¥200 already, so only ¥100 is still owed.
    repaid_account = with_balances(captured.account, now=START, used=Money(10_000))
    change = refund(
        repaid_account,
        captured.hold,
        amount=Money(25_000),
        stamp=Stamp(START),
        event_id="hev_5",
        entry_id="je_5",
    )
    assert change.account.used == Money(0)
    assert change.account.credit_balance == Money(15_000)
    assert change.entry is not None
    by_account = {p.ledger_account: p.amount for p in change.entry.postings}
    assert by_account[LedgerAccount.RECEIVABLE] == Money(-10_000)
    assert by_account[LedgerAccount.CONSUMER_CREDIT] == Money(-15_000)
    assert sum_postings(change.entry.postings).is_zero()
    with pytest.raises(RefundExceedsCaptured) as refused:
        refund(
            change.account,
            change.hold,
            amount=Money(5_001),
            stamp=Stamp(START),
            event_id="hev_6",
            entry_id="je_6",
        )
    assert refused.value.params["refundable"] == 5_000
